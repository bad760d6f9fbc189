"""What both compute platforms share: their arguments and what they hand back per service."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
from pydantic import SecretStr

from infra.components.app_env import AppEnvVar
from infra.components.identities import ServiceIdentities
from infra.naming import Naming
from infra.settings.model import ServiceSettings, StackSettings


@dataclass(frozen=True)
class LogDestination:
    """The Log Analytics workspace the platform sends container logs to."""

    workspace_id: pulumi.Input[str]  # ARM id
    customer_id: pulumi.Input[str]  # workspace (customer) id
    shared_key: pulumi.Input[str] | None = None  # only where the platform needs it (container groups)


@dataclass(frozen=True)
class ComputeArgs:
    settings: StackSettings
    naming: Naming
    resource_group_name: pulumi.Input[str]
    tags: dict[str, str]
    identities: ServiceIdentities
    secret_values: dict[str, SecretStr]
    logs: LogDestination
    # Variables other components give every service (cache endpoint, telemetry connection).
    shared_env: list[AppEnvVar] = field(default_factory=list)
    # Variables for one service only (e.g. the web app's browser telemetry connection).
    service_extra_env: dict[str, list[AppEnvVar]] = field(default_factory=dict)
    # Resources the apps must wait for (e.g. role grants their identities need at start).
    depends_on: list[pulumi.Resource] = field(default_factory=list)
    # Subnet for the environment or the groups (stacks with a network).
    apps_subnet_id: pulumi.Input[str] | None = None
    # Config secret key -> Key Vault secret URI (stacks with a Key Vault; Container Apps only).
    key_vault_urls: dict[str, pulumi.Input[str]] | None = None


@dataclass
class ServiceDeployment:
    """One deployed service, as the stack outputs describe it (see checks/outputs.py)."""

    name: str
    settings: ServiceSettings
    kind: str  # containerapp | containergroup
    resource_ids: pulumi.Output[list[str]]
    fqdn: pulumi.Output[str | None]
    url: pulumi.Output[str | None]
    scale: dict[str, Any] | None

    def contract(self) -> dict[str, Any]:
        resources = self.settings.resources
        return {
            "kind": self.kind,
            "resourceIds": self.resource_ids,
            "containerName": self.name,
            # Its telemetry's AppRoleName (OTEL_SERVICE_NAME): the checks' log queries filter on it.
            "roleName": self.settings.role_name,
            "fqdn": self.fqdn,
            "url": self.url,
            "healthPath": self.settings.health_path,
            "port": self.settings.port,
            "ingress": self.settings.ingress,
            "requests": {"cpu": resources.requests.cpu, "memoryGb": resources.requests.memory_gb},
            "limits": {"cpu": resources.limits.cpu, "memoryGb": resources.limits.memory_gb},
            "scale": self.scale,
        }


def pull_identity_id(settings: StackSettings, own_identity_id: pulumi.Input[str]) -> pulumi.Input[str] | None:
    """The identity the platform pulls images with: the app's own (granted AcrPull by this
    stack), the pre-granted one the settings name, or None for an anonymous registry."""
    registry = settings.compute.registry
    if registry is None or registry.anonymous:
        return None
    return registry.identity if registry.identity is not None else own_identity_id


def identity_env(args: ComputeArgs, service: str) -> list[AppEnvVar]:
    """Variables that make Azure SDKs in the container use the service's user-assigned identity.

    AZURE_CLIENT_ID selects it for `DefaultAzureCredential` (cache, Key Vault) and for the
    credential the app's telemetry code builds. The authentication string names it to the
    Application Insights agents and SDKs that read it; the Node.js SDKs, in code, do not: the
    app passes a credential itself, since the component's local authentication is off
    (docs/telemetry.md).
    """
    client_id = args.identities.by_service[service].client_id
    return [
        AppEnvVar("AZURE_CLIENT_ID", client_id),
        AppEnvVar(
            "APPLICATIONINSIGHTS_AUTHENTICATION_STRING", pulumi.Output.concat("Authorization=AAD;ClientId=", client_id)
        ),
    ]
