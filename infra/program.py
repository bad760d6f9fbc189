"""The stack: validated settings in, Azure resources declared, the output contract out.

Data flows one way: settings -> components (one per Azure concern) -> outputs. Outputs are the
contract later tools read (checks, load tests, CI); their shape is documented in the README
("Stack outputs") and checked by tests against `checks.outputs`.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config
from pulumi_azure_native import resources

from checks.targets import TargetTable, load_targets
from infra.components.app_env import AppEnvVar
from infra.components.compute_shared import ComputeArgs, LogDestination
from infra.components.container_apps import ContainerAppsCompute
from infra.components.container_groups import ContainerGroupsCompute
from infra.components.identities import ROLE_ACR_PULL, ROLE_MONITORING_METRICS_PUBLISHER, ServiceIdentities
from infra.components.monitoring import Monitoring, MonitoringArgs
from infra.settings import NAMESPACE, LoadedSettings, RawConfig, load_settings
from infra.tags import PROJECT, standard_tags

OUTPUTS_CONTRACT_VERSION = 1
SERVICES = ["backend", "web"]


def read_engine_config() -> RawConfig:
    """The config the Pulumi engine passed this program, and which keys are secrets."""
    values: dict[str, str] = dict(runtime_config.get_config_env())
    values.update(runtime_config.CONFIG.get())
    namespaced = {k: v for k, v in values.items() if k.startswith(f"{NAMESPACE}:")}
    secret_keys = {k for k in namespaced if runtime_config.is_config_secret(k)}
    secret_keys |= set(runtime_config.get_config_secret_keys_env()) & set(namespaced)
    return RawConfig({k: str(v) for k, v in namespaced.items()}, frozenset(secret_keys))


def build(loaded: LoadedSettings, targets: TargetTable) -> dict[str, Any]:
    """Declare every resource of the stack; return the stack outputs."""
    settings = loaded.settings
    naming = loaded.naming
    tags = standard_tags(settings, loaded.stack)
    group = resources.ResourceGroup(
        "resource-group",
        resource_group_name=naming.name("resource_group"),
        location=settings.location,
        tags=tags,
    )
    monitoring = Monitoring(
        "monitoring", MonitoringArgs(settings=settings, naming=naming, resource_group_name=group.name, tags=tags)
    )
    identities = ServiceIdentities(
        "identities",
        services=SERVICES,
        naming=naming,
        resource_group_name=group.name,
        location=settings.location,
        tags=tags,
        stack=loaded.stack,
    )
    grants: list[pulumi.Resource] = [
        identities.grant(
            f"telemetry-publisher-{service}", service, ROLE_MONITORING_METRICS_PUBLISHER, monitoring.app_insights.id
        )
        for service in SERVICES
    ]
    registry = settings.compute.registry
    if registry is not None and registry.resource_id is not None:
        grants += [
            identities.grant(f"acr-pull-{service}", service, ROLE_ACR_PULL, registry.resource_id)
            for service in SERVICES
        ]

    shared_env = [
        AppEnvVar(
            "APPLICATIONINSIGHTS_CONNECTION_STRING",
            pulumi.Output.secret(monitoring.app_insights.connection_string),
            secret=True,
            secret_name="appinsights-connection-string",
        ),
    ]
    compute_args = ComputeArgs(
        settings=settings,
        naming=naming,
        resource_group_name=group.name,
        tags=tags,
        identities=identities,
        secret_values=loaded.secrets,
        logs=LogDestination(
            workspace_id=monitoring.workspace.id,
            customer_id=monitoring.workspace_customer_id,
            shared_key=monitoring.shared_key() if monitoring.local_auth_needed else None,
        ),
        shared_env=shared_env,
        depends_on=grants,
    )
    compute = (
        ContainerAppsCompute("compute", compute_args)
        if settings.uses_container_apps
        else ContainerGroupsCompute("compute", compute_args)
    )
    return {
        "contractVersion": OUTPUTS_CONTRACT_VERSION,
        "project": PROJECT,
        "stack": loaded.stack,
        "environment": settings.environment,
        "location": settings.location,
        "platform": settings.compute.platform,
        "resourceGroup": {"name": group.name, "id": group.id},
        "services": {name: deployment.contract() for name, deployment in compute.services.items()},
        "monitoring": {
            "logAnalyticsWorkspaceId": monitoring.workspace.id,
            "logAnalyticsCustomerId": monitoring.workspace_customer_id,
            "appInsightsId": monitoring.app_insights.id,
            "appInsightsAppId": monitoring.app_insights.app_id,
        },
    }


def main() -> None:
    loaded = load_settings(read_engine_config(), pulumi.get_stack())
    for notice in loaded.notices:
        pulumi.log.warn(notice)
    for key, value in build(loaded, load_targets()).items():
        pulumi.export(key, value)
