"""The stack: validated settings in, Azure resources declared, the output contract out.

Data flows one way: settings -> components (one per Azure concern) -> outputs. Outputs are the
contract later tools read (checks, load tests, CI); their shape is documented in
docs/observability.md ("Stack outputs") and checked by tests against `checks.outputs`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config
from pulumi_azure_native import resources

from checks.targets import TargetTable, load_targets
from checks.telemetry import TelemetryContract
from infra.components.alerts import Alerts, AlertsArgs
from infra.components.app_env import AppEnvVar
from infra.components.cache import Cache, CacheArgs
from infra.components.compute_shared import ComputeArgs, LogDestination
from infra.components.container_apps import ContainerAppsCompute
from infra.components.container_groups import ContainerGroupsCompute
from infra.components.diagnostics import send_to_workspace
from infra.components.identities import (
    ROLE_ACR_PULL,
    ROLE_KEY_VAULT_SECRETS_USER,
    ROLE_MONITORING_METRICS_PUBLISHER,
    ServiceIdentities,
)
from infra.components.key_vault import KeyVault, KeyVaultArgs
from infra.components.load_testing import LoadTesting, LoadTestingArgs
from infra.components.monitoring import Monitoring, MonitoringArgs
from infra.components.network import PRIVATE_LINK, Network, NetworkArgs, PrivatePath
from infra.components.workbook import Workbook, WorkbookArgs
from infra.settings import LoadedSettings, RawConfig, StackSettings, load_settings
from infra.tags import PROJECT, standard_tags
from infra.watch import WatchScope, watch_plan

OUTPUTS_CONTRACT_VERSION = 1
SERVICES = ["backend", "web"]


def read_engine_config() -> RawConfig:
    """The config the Pulumi engine passed this program, and which keys are secrets.

    Keys of every namespace are kept: the loader refuses one in a mistyped namespace
    (`fin-agnet:`), which the program would otherwise ignore silently.
    """
    values: dict[str, str] = dict(runtime_config.get_config_env())
    values.update(runtime_config.CONFIG.get())
    secret_keys = {k for k in values if runtime_config.is_config_secret(k)}
    secret_keys |= set(runtime_config.get_config_secret_keys_env()) & set(values)
    return RawConfig({k: str(v) for k, v in values.items()}, frozenset(secret_keys))


@dataclass(frozen=True)
class Foundation:
    """What every other part of the stack is declared in or reads from."""

    group: resources.ResourceGroup
    monitoring: Monitoring
    identities: ServiceIdentities
    cache: Cache
    network: Network | None
    key_vault: KeyVault | None


def build(loaded: LoadedSettings, targets: TargetTable) -> dict[str, Any]:
    """Declare every resource of the stack; return the stack outputs."""
    tags = standard_tags(loaded.settings, loaded.stack)
    base = _foundation(loaded, tags)
    compute = _compute(loaded, tags, base)
    _diagnostics(base.monitoring, compute, base.cache)
    alerts = _alerts(loaded, targets, tags, base, compute)
    outputs = _outputs(loaded, base, compute, alerts)
    outputs["workbook"] = _workbook(loaded, targets, tags, base, outputs).stack_output()
    load_testing = _load_testing(loaded, base.group.name, tags, base.network)
    if load_testing is not None:
        outputs["loadTesting"] = load_testing
    return outputs


def _foundation(loaded: LoadedSettings, tags: dict[str, str]) -> Foundation:
    """The resource group, monitoring, identities, cache, and the optional network and vault."""
    settings = loaded.settings
    naming = loaded.naming
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
    cache = Cache(
        "cache",
        CacheArgs(
            redis=settings.redis,
            environment=settings.environment,
            resource_group_name=group.name,
            location=settings.location,
            naming=naming,
            tags=tags,
        ),
    )
    network = (
        Network(
            "network",
            NetworkArgs(
                settings=settings.network,
                platform=settings.compute.platform,
                naming=naming,
                resource_group_name=group.name,
                location=settings.location,
                tags=tags,
                load_test_subnet=_load_test_subnet(settings),
            ),
        )
        if settings.network is not None
        else None
    )
    key_vault = (
        KeyVault(
            "key-vault",
            KeyVaultArgs(
                settings=settings.key_vault,
                prod=settings.is_prod,
                naming=naming,
                resource_group_name=group.name,
                location=settings.location,
                tags=tags,
                secrets={
                    key: loaded.secrets[key]
                    for _, service in settings.services.items()
                    for key in service.secrets.values()
                },
            ),
        )
        if settings.key_vault is not None
        else None
    )
    return Foundation(group, monitoring, identities, cache, network, key_vault)


def _compute(
    loaded: LoadedSettings, tags: dict[str, str], base: Foundation
) -> ContainerAppsCompute | ContainerGroupsCompute:
    """The apps, started only after every grant and private path they need exists."""
    settings = loaded.settings
    naming = loaded.naming
    group, monitoring, identities, cache = base.group, base.monitoring, base.identities, base.cache
    network, key_vault = base.network, base.key_vault
    private_paths = _private_endpoints(settings, network, cache, key_vault) if network is not None else []
    grants = _grants(settings, identities, monitoring, cache, key_vault)
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
        shared_env=_shared_env(monitoring, cache),
        service_extra_env={
            "web": [
                AppEnvVar(
                    "APPLICATIONINSIGHTS_BROWSER_CONNECTION_STRING",
                    pulumi.Output.secret(monitoring.browser_insights.connection_string),
                    secret=True,
                    secret_name="appinsights-browser-connection-string",
                )
            ]
        },
        # Every grant an identity needs at start, and every private path the apps read through.
        depends_on=[*grants, *(resource for path in private_paths for resource in path.resources)],
        apps_subnet_id=network.apps_subnet_id if network is not None else None,
        key_vault_urls=key_vault.secret_urls if key_vault is not None else None,
    )
    compute = (
        ContainerAppsCompute("compute", compute_args)
        if settings.uses_container_apps
        else ContainerGroupsCompute("compute", compute_args)
    )
    return compute


def _alerts(
    loaded: LoadedSettings,
    targets: TargetTable,
    tags: dict[str, str],
    base: Foundation,
    compute: ContainerAppsCompute | ContainerGroupsCompute,
) -> Alerts:
    """Metric and log alerts from the target table (its `watch` entries)."""
    settings = loaded.settings
    naming = loaded.naming
    group, monitoring, cache = base.group, base.monitoring, base.cache
    alerts = Alerts(
        "alerts",
        AlertsArgs(
            monitoring=settings.monitoring,
            naming=naming,
            resource_group_name=group.name,
            tags=tags,
            specs=watch_plan(
                targets,
                settings.compute.platform,
                settings.redis.tier,
                _watch_scopes(settings, compute, monitoring, cache),
                telemetry=telemetry_contract(settings),
            ),
            log_scope_id=monitoring.workspace.id,
            location=settings.location,
            secret_values=loaded.secrets,
        ),
    )
    return alerts


def _outputs(
    loaded: LoadedSettings, base: Foundation, compute: ContainerAppsCompute | ContainerGroupsCompute, alerts: Alerts
) -> dict[str, Any]:
    """The output contract (docs/observability.md, "Stack outputs"), read by `checks.outputs`."""
    settings = loaded.settings
    group, monitoring, cache = base.group, base.monitoring, base.cache
    network, key_vault = base.network, base.key_vault
    outputs: dict[str, Any] = {
        "contractVersion": OUTPUTS_CONTRACT_VERSION,
        "project": PROJECT,
        "stack": loaded.stack,
        "environment": settings.environment,
        "location": settings.location,
        "platform": settings.compute.platform,
        "resourceGroup": {"name": group.name, "id": group.id},
        "services": {name: deployment.contract() for name, deployment in compute.services.items()},
        "cache": cache.stack_output(),
        # Read by `fin-infra deploy` to run, resume or finish a canary rollout (docs/rollout.md).
        "rollout": {
            "strategy": settings.rollout_strategy,
            "phase": settings.rollout_state.phase if settings.rollout_state else "stable",
            "canaryWeight": settings.rollout_state.canary_weight if settings.rollout_state else 0,
            "services": dict(getattr(compute, "rollout", {})),
        },
        "monitoring": {
            "logAnalyticsWorkspaceId": monitoring.workspace.id,
            "logAnalyticsCustomerId": monitoring.workspace_customer_id,
            "appInsightsId": monitoring.app_insights.id,
            "appInsightsAppId": monitoring.app_insights.app_id,
            "browserInsightsId": monitoring.browser_insights.id,
            "browserInsightsAppId": monitoring.browser_insights.app_id,
            "actionGroupId": alerts.action_group.id if alerts.action_group else None,
            # db-query-time's filter on AppDependencies.DependencyType, for the checks' query.
            "databaseDependencyTypes": list(settings.monitoring.database_dependency_types),
        },
        "network": (
            {
                "virtualNetworkId": network.virtual_network.id,
                "appsSubnetId": network.apps_subnet_id,
                "privateEndpointsSubnetId": network.private_endpoints_subnet_id,
            }
            if network is not None
            else None
        ),
        "keyVault": {"id": key_vault.vault.id, "uri": key_vault.uri} if key_vault is not None else None,
    }
    return outputs


def _workbook(
    loaded: LoadedSettings, targets: TargetTable, tags: dict[str, str], base: Foundation, outputs: dict[str, Any]
) -> Workbook:
    """The stack's workbook: the checks' own queries, charted from the outputs just declared."""
    settings = loaded.settings
    group, monitoring = base.group, base.monitoring
    workbook = Workbook(
        "workbook",
        WorkbookArgs(
            project=PROJECT,
            stack=loaded.stack,
            table=targets,
            outputs=dict(outputs),
            source_id=monitoring.app_insights.id,
            resource_group_name=group.name,
            location=settings.location,
            tags=tags,
            report_url=settings.monitoring.report_url,
        ),
    )
    return workbook


def _load_test_subnet(settings: StackSettings) -> Any:
    """The injection subnet of an enabled Azure Load Testing (issue 19), else None."""
    load_testing = settings.load_testing
    return load_testing.subnet if load_testing is not None and load_testing.enabled else None


def _load_testing(loaded: LoadedSettings, group_name: Any, tags: dict[str, str], network: Network | None) -> Any:
    """The Azure Load Testing resource, its runner identity and grants, when enabled (issue 19)."""
    settings = loaded.settings.load_testing
    if settings is None or not settings.enabled:
        return None
    component = LoadTesting(
        "load-testing",
        LoadTestingArgs(
            settings=settings,
            naming=loaded.naming,
            resource_group_name=group_name,
            location=loaded.settings.location,
            tags=tags,
            stack=loaded.stack,
            subnet_id=network.load_test_subnet_id if network is not None else None,
        ),
    )
    return component.stack_output()


def telemetry_contract(settings: StackSettings) -> TelemetryContract:
    """What the alerts judging one service's telemetry filter on (docs/telemetry.md)."""
    return TelemetryContract(
        role_names={name: service.role_name for name, service in settings.services.items()},
        dependency_types=tuple(settings.monitoring.database_dependency_types),
    )


def _private_endpoints(
    settings: StackSettings, network: Network, cache: Cache, key_vault: KeyVault | None
) -> list[PrivatePath]:
    """Private endpoints (and their DNS) for what the settings keep off the internet."""
    paths = []
    if not settings.redis.public_network_access:
        group_id, zone = PRIVATE_LINK["managed-redis" if cache.tier == "managed" else "classic-redis"]
        paths.append(network.private_endpoint("cache", target_id=cache.resource_id, group_id=group_id, zone_name=zone))
    if key_vault is not None and settings.key_vault is not None and not settings.key_vault.public_network_access:
        group_id, zone = PRIVATE_LINK["key-vault"]
        paths.append(network.private_endpoint("kv", target_id=key_vault.vault.id, group_id=group_id, zone_name=zone))
    return paths


def _grants(
    settings: StackSettings,
    identities: ServiceIdentities,
    monitoring: Monitoring,
    cache: Cache,
    key_vault: KeyVault | None,
) -> list[pulumi.Resource]:
    """Data-plane access each service's identity needs before its containers start."""
    grants: list[pulumi.Resource] = [
        identities.grant(
            f"telemetry-publisher-{service}", service, ROLE_MONITORING_METRICS_PUBLISHER, monitoring.app_insights.id
        )
        for service in SERVICES
    ]
    if cache.connection.auth_mode == "entra":
        grants += [
            cache.grant_data_access(service, identities.by_service[service].principal_id) for service in SERVICES
        ]
    if key_vault is not None:
        grants += [
            identities.grant(f"secrets-user-{service}", service, ROLE_KEY_VAULT_SECRETS_USER, key_vault.vault.id)
            for service in SERVICES
        ]
    registry = settings.compute.registry
    if registry is not None and registry.resource_id is not None:
        grants += [
            identities.grant(f"acr-pull-{service}", service, ROLE_ACR_PULL, registry.resource_id)
            for service in SERVICES
        ]
    return grants


def _shared_env(monitoring: Monitoring, cache: Cache) -> list[AppEnvVar]:
    """What every service is told about its surroundings: telemetry and the cache."""
    variables = [
        AppEnvVar(
            "APPLICATIONINSIGHTS_CONNECTION_STRING",
            pulumi.Output.secret(monitoring.app_insights.connection_string),
            secret=True,
            secret_name="appinsights-connection-string",
        ),
    ]
    cache_env = cache.container_environment()
    variables += [AppEnvVar(name, value) for name, value in cache_env.plain.items()]
    variables += [
        AppEnvVar(name, value, secret=True, secret_name="redis-password") for name, value in cache_env.secret.items()
    ]
    return variables


def _diagnostics(monitoring: Monitoring, compute: ContainerAppsCompute | ContainerGroupsCompute, cache: Cache) -> None:
    """Platform logs and metrics of the environment or groups, and of the cache, to the workspace."""
    workspace_id = monitoring.workspace.id
    if isinstance(compute, ContainerAppsCompute):
        send_to_workspace(
            "diagnostics-environment",
            resource_id=compute.environment.id,
            workspace_id=workspace_id,
            logs=True,
            parent=compute,
        )
    else:
        for index, container_group in enumerate(compute.groups, start=1):
            send_to_workspace(
                f"diagnostics-group-{index:02d}",
                resource_id=container_group.id,
                workspace_id=workspace_id,
                logs=False,
                parent=compute,
            )
    send_to_workspace(
        "diagnostics-cache",
        resource_id=cache.resource_id,
        workspace_id=workspace_id,
        logs=cache.tier == "classic",
        parent=cache,
    )
    if cache.database_id is not None:
        send_to_workspace(
            "diagnostics-cache-database",
            resource_id=cache.database_id,
            workspace_id=workspace_id,
            logs=True,
            metrics=False,
            parent=cache,
        )


def _watch_scopes(
    settings: StackSettings,
    compute: ContainerAppsCompute | ContainerGroupsCompute,
    monitoring: Monitoring,
    cache: Cache,
) -> dict[str, list[WatchScope]]:
    """What the target table's `scope` names mean on this stack."""
    scopes: dict[str, list[WatchScope]] = {
        "app-insights": [WatchScope("app-insights", monitoring.app_insights.id)],
        "browser-insights": [WatchScope("browser-insights", monitoring.browser_insights.id)],
        "cache": [WatchScope("cache", cache.resource_id)],
    }
    if isinstance(compute, ContainerAppsCompute):
        per_service = []
        for name, service in settings.services.items():
            scope = WatchScope(
                name,
                compute.apps[name].id,
                cpu_limit=service.resources.limits.cpu,
                memory_limit_gb=service.resources.limits.memory_gb,
            )
            scopes[f"service:{name}"] = [scope]
            per_service.append(scope)
        scopes["services"] = per_service
    else:
        scopes["container-groups"] = [
            WatchScope(
                f"{index:02d}-{name}",
                container_group.id,
                cpu_limit=service.resources.limits.cpu,
                memory_limit_gb=service.resources.limits.memory_gb,
                dimension=("containerName", name),
            )
            for index, container_group in enumerate(compute.groups, start=1)
            for name, service in settings.services.items()
        ]
    return scopes


def main() -> None:
    loaded = load_settings(read_engine_config(), pulumi.get_stack())
    for notice in loaded.notices:
        pulumi.log.warn(notice)
    for key, value in build(loaded, load_targets()).items():
        pulumi.export(key, value)
