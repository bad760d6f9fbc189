"""A user-assigned managed identity per service, created before the apps that use it.

User-assigned (not system-assigned) so that data-plane access (the cache, Application
Insights ingestion, Key Vault, image pulls) can be granted before the first revision starts,
and so the grant survives an app's replacement.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, managedidentity

from infra.naming import Naming
from infra.settings.model import ServiceName

# Built-in role definition ids (learn.microsoft.com/azure/role-based-access-control/built-in-roles).
ROLE_ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
ROLE_MONITORING_METRICS_PUBLISHER = "3913510d-42f4-4e42-8a64-420c390055eb"
ROLE_KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"

_ROLE_NAMESPACE = uuid.UUID("9a4c3e55-0b52-4f44-b8d5-7f0e1f0d2c11")


@dataclass(frozen=True)
class ServiceIdentity:
    resource: managedidentity.UserAssignedIdentity

    @property
    def id(self) -> pulumi.Output[str]:
        return self.resource.id

    @property
    def principal_id(self) -> pulumi.Output[str]:
        return self.resource.principal_id

    @property
    def client_id(self) -> pulumi.Output[str]:
        return self.resource.client_id


class ServiceIdentities(pulumi.ComponentResource):
    """One identity per service, and role grants to them."""

    def __init__(
        self,
        name: str,
        *,
        services: list[ServiceName],
        naming: Naming,
        resource_group_name: pulumi.Input[str],
        location: str,
        tags: dict[str, str],
        stack: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("fin-agent:identity:ServiceIdentities", name, None, opts)
        self._stack = stack
        self.by_service: dict[str, ServiceIdentity] = {}
        for service in services:
            identity = managedidentity.UserAssignedIdentity(
                f"{name}-{service}",
                resource_name_=naming.name("managed_identity", service),
                resource_group_name=resource_group_name,
                location=location,
                tags=tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.by_service[service] = ServiceIdentity(identity)
        self._subscription_id = authorization.get_client_config_output(
            opts=pulumi.InvokeOutputOptions(parent=self)
        ).subscription_id
        self.register_outputs({s: i.principal_id for s, i in self.by_service.items()})

    def grant(
        self, name: str, service: str, role_definition: str, scope: pulumi.Input[str]
    ) -> authorization.RoleAssignment:
        """Give `service`'s identity a built-in role on `scope` (a stable assignment name)."""
        identity = self.by_service[service]
        role_definition_id = self._subscription_id.apply(
            lambda sub: f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{role_definition}"
        )
        return authorization.RoleAssignment(
            name,
            role_assignment_name=str(uuid.uuid5(_ROLE_NAMESPACE, f"{self._stack}/{name}")),
            principal_id=identity.principal_id,
            principal_type="ServicePrincipal",
            role_definition_id=role_definition_id,
            scope=scope,
            opts=pulumi.ResourceOptions(parent=self),
        )
