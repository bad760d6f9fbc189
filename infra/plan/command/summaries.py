"""One line per planned resource with the settings that matter (sizes, scale rules, policies).

Each summarizer reads the resource's inputs as the engine received them (camelCase). A type
without a summarizer shows its Azure name only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pulumi.runtime import rpc

from infra.components.identities import ROLE_ACR_PULL, ROLE_KEY_VAULT_SECRETS_USER, ROLE_MONITORING_METRICS_PUBLISHER
from infra.components.load_testing import ROLE_LOAD_TEST_CONTRIBUTOR, ROLE_NETWORK_CONTRIBUTOR
from infra.plan.engine.runner import PlannedResource

Summarizer = Callable[[dict[str, Any]], str]
SUMMARIZERS: dict[str, Summarizer] = {}


def summarizes(type_token: str) -> Callable[[Summarizer], Summarizer]:
    def register(function: Summarizer) -> Summarizer:
        SUMMARIZERS[type_token] = function
        return function

    return register


@summarizes("azure-native:resources:ResourceGroup")
def _resource_group(inputs: dict[str, Any]) -> str:
    return f"location {inputs.get('location')}"


def summarize(resource: PlannedResource) -> str:
    function = SUMMARIZERS.get(resource.type)
    return function(resource.inputs) if function else ""


def _open(value: Any) -> Any:
    """Read through the engine's secret wrapper; summaries only pick fields that hold no secret."""
    value = rpc.unwrap_rpc_secret(value)
    if isinstance(value, dict):
        return {k: _open(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_open(v) for v in value]
    return value


def _num(value: Any) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


OPERATOR_SYMBOLS = {
    "GreaterThan": ">",
    "GreaterThanOrEqual": ">=",
    "LessThan": "<",
    "LessThanOrEqual": "<=",
    "Equals": "=",
}

ROLE_NAMES = {
    ROLE_ACR_PULL: "AcrPull",
    ROLE_MONITORING_METRICS_PUBLISHER: "Monitoring Metrics Publisher",
    ROLE_KEY_VAULT_SECRETS_USER: "Key Vault Secrets User",
    ROLE_LOAD_TEST_CONTRIBUTOR: "Load Test Contributor",
    ROLE_NETWORK_CONTRIBUTOR: "Network Contributor",
}


@summarizes("azure-native:loadtestservice:LoadTest")
def _load_test(inputs: dict[str, Any]) -> str:
    identity = (_open(inputs.get("identity")) or {}).get("type", "no")
    return f"Azure Load Testing for `fin-infra loadtest --engine azure`; {identity} identity"


@summarizes("azure-native:app:ManagedEnvironment")
def _environment(inputs: dict[str, Any]) -> str:
    profiles = ", ".join(
        p.get("workloadProfileType", "?")
        + (f" {p['minimumCount']}-{p['maximumCount']} nodes" if "minimumCount" in p else "")
        for p in _open(inputs.get("workloadProfiles") or [])
    )
    logs = (_open(inputs.get("appLogsConfiguration")) or {}).get("destination", "none")
    zone = "zone-redundant" if inputs.get("zoneRedundant") else "single-zone"
    vnet = _open(inputs.get("vnetConfiguration")) or {}
    network = (
        f"; in subnet {str(vnet['infrastructureSubnetId']).rsplit('/', 1)[-1]}" if vnet else "; Azure-managed network"
    )
    return f"profiles: {profiles}; {zone}; logs via {logs}{network}"


@summarizes("azure-native:app:ContainerApp")
def _container_app(inputs: dict[str, Any]) -> str:
    template = _open(inputs.get("template") or {})
    configuration = _open(inputs.get("configuration") or {})
    parts = []
    for container in template.get("containers", []):
        resources = container.get("resources", {})
        probes = "/".join(p.get("type", "?").lower() for p in container.get("probes", []))
        parts.append(f"{_num(resources.get('cpu'))} vCPU / {resources.get('memory')}; probes {probes}")
    scale = template.get("scale", {})
    rules = []
    for rule in scale.get("rules", []):
        if "custom" in rule:
            rules.append(f"{rule['custom'].get('type')} > {rule['custom'].get('metadata', {}).get('value')}%")
        if "http" in rule:
            rules.append(f"http {rule['http'].get('metadata', {}).get('concurrentRequests')} concurrent")
    parts.append(
        f"replicas {_num(scale.get('minReplicas'))}-{_num(scale.get('maxReplicas'))} on {', '.join(rules)}; "
        f"cooldown {_num(scale.get('cooldownPeriod'))} s, polling {_num(scale.get('pollingInterval'))} s"
    )
    ingress = configuration.get("ingress") or {}
    exposure = "external" if ingress.get("external") else "internal"
    parts.append(f"ingress {exposure}, {'HTTP allowed' if ingress.get('allowInsecure') else 'HTTPS only'}")
    secrets = configuration.get("secrets") or []
    if secrets:
        in_vault = sum(1 for s in secrets if s.get("keyVaultUrl"))
        parts.append(f"{len(secrets)} secrets by reference" + (f" ({in_vault} from Key Vault)" if in_vault else ""))
    return "; ".join(parts)


@summarizes("azure-native:containerinstance:ContainerGroup")
def _container_group(inputs: dict[str, Any]) -> str:
    parts = []
    for container in _open(inputs.get("containers") or []):
        resources = container.get("resources", {})
        request, limit = resources.get("requests", {}), resources.get("limits", {})
        parts.append(
            f"{container.get('name')} {_num(request.get('cpu'))} vCPU/{_num(request.get('memoryInGB'))} GB"
            f" -> limit {_num(limit.get('cpu'))}/{_num(limit.get('memoryInGB'))} GB"
        )
    ip_address = _open(inputs.get("ipAddress") or {})
    ports = ",".join(_num(p.get("port")) for p in ip_address.get("ports", []))
    parts.append(f"{ip_address.get('type', 'no').lower()} IP {ip_address.get('dnsNameLabel', '')} ports {ports}")
    parts.append("fixed count (no autoscale)")
    return "; ".join(parts)


@summarizes("azure-native:managedidentity:UserAssignedIdentity")
def _identity(inputs: dict[str, Any]) -> str:
    return "user-assigned identity"


@summarizes("azure-native:authorization:RoleAssignment")
def _role_assignment(inputs: dict[str, Any]) -> str:
    role = str(inputs.get("roleDefinitionId", "")).rsplit("/", 1)[-1]
    scope = str(inputs.get("scope", "")).rsplit("/", 1)[-1]
    return f"{ROLE_NAMES.get(role, role)} on {scope}"


@summarizes("azure-native:operationalinsights:Workspace")
def _workspace(inputs: dict[str, Any]) -> str:
    features = _open(inputs.get("features") or {})
    capping = _open(inputs.get("workspaceCapping") or {})
    cap = f"; daily cap {_num(capping['dailyQuotaGb'])} GB" if "dailyQuotaGb" in capping else ""
    auth = "local auth off" if features.get("disableLocalAuth") else "local auth on (container-group logs need the key)"
    return f"retention {_num(inputs.get('retentionInDays'))} days; {auth}{cap}"


@summarizes("azure-native:applicationinsights:Component")
def _app_insights(inputs: dict[str, Any]) -> str:
    auth = "local auth off" if inputs.get("disableLocalAuth") else "local auth on"
    return f"workspace-based; {auth}; sampling {_num(inputs.get('samplingPercentage', 100))} %"


@summarizes("azure-native:applicationinsights:Workbook")
def _workbook(inputs: dict[str, Any]) -> str:
    try:
        items = json.loads(str(inputs.get("serializedData") or "{}")).get("items", [])
    except json.JSONDecodeError:
        items = []
    sections = sum(1 for item in items if item.get("type") == 12)
    source = str(inputs.get("sourceId") or "?").rsplit("/", 1)[-1]
    return f"{inputs.get('kind')} workbook '{inputs.get('displayName')}': {sections} target sections; under {source}"


def _entra_or_keys(access_keys_on: bool) -> str:
    return "auth access key + Entra ID" if access_keys_on else "auth Entra ID only (access keys off)"


@summarizes("azure-native:redisenterprise:RedisEnterprise")
def _managed_redis_cluster(inputs: dict[str, Any]) -> str:
    sku = (inputs.get("sku") or {}).get("name")
    return (
        f"Azure Managed Redis {sku}, HA {inputs.get('highAvailability')}, TLS >= {inputs.get('minimumTlsVersion')}, "
        f"public access {inputs.get('publicNetworkAccess')}"
    )


@summarizes("azure-native:redisenterprise:Database")
def _managed_redis_database(inputs: dict[str, Any]) -> str:
    port = inputs.get("port")
    return (
        f"database {inputs.get('databaseName')}, eviction {inputs.get('evictionPolicy')}, "
        f"{inputs.get('clientProtocol')} (TLS) on port {int(port) if port is not None else '?'}, "
        f"{inputs.get('clusteringPolicy')}, {_entra_or_keys(inputs.get('accessKeysAuthentication') == 'Enabled')}"
    )


@summarizes("azure-native:redis:Redis")
def _classic_redis(inputs: dict[str, Any]) -> str:
    sku = inputs.get("sku") or {}
    capacity = sku.get("capacity")
    configuration = inputs.get("redisConfiguration") or {}
    parts = [
        f"Azure Cache for Redis {sku.get('name')} {sku.get('family')}{int(capacity) if capacity is not None else '?'}",
        f"Redis {inputs.get('redisVersion')}",
        f"maxmemory-policy {configuration.get('maxmemoryPolicy')}",
    ]
    for key, label in (
        ("maxmemoryReserved", "maxmemory-reserved"),
        ("maxfragmentationmemoryReserved", "maxfragmentationmemory-reserved"),
    ):
        if configuration.get(key) is not None:
            parts.append(f"{label} {configuration[key]} MB")
    parts += [
        f"TLS >= {inputs.get('minimumTlsVersion')}",
        "non-TLS port " + ("on" if inputs.get("enableNonSslPort") else "off"),
        f"public access {inputs.get('publicNetworkAccess')}",
        _entra_or_keys(not inputs.get("disableAccessKeyAuthentication")),
    ]
    return ", ".join(parts)


@summarizes("azure-native:redisenterprise:AccessPolicyAssignment")
def _managed_redis_access(inputs: dict[str, Any]) -> str:
    user = inputs.get("user") or {}
    return f"Entra ID data access, policy '{inputs.get('accessPolicyName')}', object {user.get('objectId')}"


@summarizes("azure-native:redis:AccessPolicyAssignment")
def _classic_redis_access(inputs: dict[str, Any]) -> str:
    return (
        f"Entra ID data access, policy '{inputs.get('accessPolicyName')}', object {inputs.get('objectId')} "
        f"({inputs.get('objectIdAlias')})"
    )


def _alert_parts(inputs: dict[str, Any]) -> tuple[dict[str, Any], Any, str]:
    """An alert's first criterion (empty when there is none), its operator symbol and who it notifies."""
    all_of = _open(inputs.get("criteria") or {}).get("allOf") or [{}]
    criterion = all_of[0]
    symbol = OPERATOR_SYMBOLS.get(criterion.get("operator", ""), criterion.get("operator"))
    notify = "notifies action group" if inputs.get("actions") else "notifies nobody"
    return criterion, symbol, notify


@summarizes("azure-native:monitor:MetricAlert")
def _metric_alert(inputs: dict[str, Any]) -> str:
    criteria, symbol, notify = _alert_parts(inputs)
    dimensions = "".join(
        f" [{d.get('name')}={','.join(d.get('values', []))}]" for d in criteria.get("dimensions") or []
    )
    return (
        f"sev {_num(inputs.get('severity'))}: {criteria.get('timeAggregation')} {criteria.get('metricName')}"
        f"{dimensions} {symbol} {_num(criteria.get('threshold'))} over {inputs.get('windowSize')} "
        f"every {inputs.get('evaluationFrequency')}; {notify}"
    )


@summarizes("azure-native:monitor:ScheduledQueryRule")
def _log_alert(inputs: dict[str, Any]) -> str:
    condition, symbol, notify = _alert_parts(inputs)
    table = str(condition.get("query", "")).split("|", 1)[0].strip()
    return (
        f"sev {_num(inputs.get('severity'))}: log query on {table}, {condition.get('timeAggregation')} of value "
        f"{symbol} {_num(condition.get('threshold'))} over {inputs.get('windowSize')} "
        f"every {inputs.get('evaluationFrequency')}; {notify}"
    )


@summarizes("azure-native:monitor:ActionGroup")
def _action_group(inputs: dict[str, Any]) -> str:
    emails = [e.get("emailAddress") for e in _open(inputs.get("emailReceivers") or [])]
    hooks = [h.get("name") for h in _open(inputs.get("webhookReceivers") or [])]
    parts = []
    if emails:
        parts.append("email " + ", ".join(emails))
    if hooks:
        parts.append("webhook " + ", ".join(hooks) + " (URL secret)")
    return "; ".join(parts)


@summarizes("azure-native:monitor:DiagnosticSetting")
def _diagnostic_setting(inputs: dict[str, Any]) -> str:
    logs = [entry.get("categoryGroup") or entry.get("category") for entry in _open(inputs.get("logs") or [])]
    metrics = [entry.get("category") for entry in _open(inputs.get("metrics") or [])]
    source = str(inputs.get("resourceUri", "")).rsplit("/", 1)[-1]
    sent = ", ".join([*(f"logs {c}" for c in logs), *(f"metrics {c}" for c in metrics)])
    return f"{source}: {sent} to the workspace"


@summarizes("azure-native:network:VirtualNetwork")
def _virtual_network(inputs: dict[str, Any]) -> str:
    space = ", ".join((_open(inputs.get("addressSpace")) or {}).get("addressPrefixes", []))
    subnets = []
    for subnet in _open(inputs.get("subnets") or []):
        delegations = [d.get("serviceName") for d in subnet.get("delegations") or []]
        label = f"{subnet.get('addressPrefix')}" + (f" delegated to {', '.join(delegations)}" if delegations else "")
        subnets.append(label)
    return f"{space}; subnets {'; '.join(subnets)}"


@summarizes("azure-native:network:PrivateEndpoint")
def _private_endpoint(inputs: dict[str, Any]) -> str:
    connections = _open(inputs.get("privateLinkServiceConnections") or [])
    targets = [
        f"{str(c.get('privateLinkServiceId', '')).rsplit('/', 1)[-1]} ({', '.join(c.get('groupIds', []))})"
        for c in connections
    ]
    return "private endpoint for " + ", ".join(targets)


@summarizes("azure-native:network:PrivateDnsZoneGroup")
def _dns_zone_group(inputs: dict[str, Any]) -> str:
    zones = [
        str(c.get("privateDnsZoneId", "")).rsplit("/", 1)[-1] for c in _open(inputs.get("privateDnsZoneConfigs") or [])
    ]
    return f"{inputs.get('privateEndpointName')} registered in {', '.join(zones)}"


@summarizes("azure-native:privatedns:PrivateZone")
def _private_zone(inputs: dict[str, Any]) -> str:
    return "private DNS zone"


@summarizes("azure-native:privatedns:VirtualNetworkLink")
def _zone_link(inputs: dict[str, Any]) -> str:
    network = str((_open(inputs.get("virtualNetwork")) or {}).get("id", "")).rsplit("/", 1)[-1]
    return f"{inputs.get('privateZoneName')} linked to {network}"


@summarizes("azure-native:keyvault:Vault")
def _vault(inputs: dict[str, Any]) -> str:
    properties = _open(inputs.get("properties") or {})
    parts = [
        "RBAC" if properties.get("enableRbacAuthorization") else "access policies",
        f"soft delete {_num(properties.get('softDeleteRetentionInDays'))} days",
        "purge protection" if properties.get("enablePurgeProtection") else "no purge protection",
        f"public access {properties.get('publicNetworkAccess')}",
    ]
    return "; ".join(parts)


@summarizes("azure-native:keyvault:Secret")
def _vault_secret(inputs: dict[str, Any]) -> str:
    return f"secret in {inputs.get('vaultName')} (value from Pulumi config, never shown)"
