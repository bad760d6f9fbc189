"""Pulumi mocks that answer like Azure: ARM-shaped ids and the outputs the program chains on.

Under Pulumi's mock engine nothing reaches Azure; every resource gets an id of the shape ARM
would give it (zero subscription, so nobody mistakes it for a real one) and the computed
outputs the program reads later (FQDNs, principal ids, host names, workspace ids). A mock
that forgets an output makes dependent inputs vanish silently, so every output the program
uses is listed here, and tests assert the inputs that depend on them.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.runtime.rpc import is_rpc_secret, unwrap_rpc_secret, wrap_rpc_secret

MOCK_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
MOCK_TENANT = "11111111-1111-1111-1111-111111111111"
MOCK_ENV_DOMAIN = "mock-env.{location}.azurecontainerapps.io"
_UUID_NAMESPACE = uuid.UUID("6b0f8c4e-3d2a-4c47-9a56-0c1f4f0f1a7e")


def mock_uuid(*parts: str) -> str:
    return str(uuid.uuid5(_UUID_NAMESPACE, "/".join(parts)))


@dataclass(frozen=True)
class ArmType:
    provider_type: str  # e.g. Microsoft.App/containerApps
    name_input: str  # the input that holds the Azure name


# Pulumi type token -> ARM type and the input holding the resource's name.
ARM_TYPES: dict[str, ArmType] = {
    "azure-native:app:ManagedEnvironment": ArmType("Microsoft.App/managedEnvironments", "environmentName"),
    "azure-native:app:ContainerApp": ArmType("Microsoft.App/containerApps", "containerAppName"),
    "azure-native:containerinstance:ContainerGroup": ArmType(
        "Microsoft.ContainerInstance/containerGroups", "containerGroupName"
    ),
    "azure-native:redisenterprise:RedisEnterprise": ArmType("Microsoft.Cache/redisEnterprise", "clusterName"),
    "azure-native:redis:Redis": ArmType("Microsoft.Cache/redis", "name"),
    "azure-native:operationalinsights:Workspace": ArmType("Microsoft.OperationalInsights/workspaces", "workspaceName"),
    "azure-native:applicationinsights:Component": ArmType("Microsoft.Insights/components", "resourceName"),
    "azure-native:applicationinsights:Workbook": ArmType("Microsoft.Insights/workbooks", "resourceName"),
    "azure-native:monitor:ActionGroup": ArmType("Microsoft.Insights/actionGroups", "actionGroupName"),
    "azure-native:monitor:MetricAlert": ArmType("Microsoft.Insights/metricAlerts", "ruleName"),
    "azure-native:monitor:ScheduledQueryRule": ArmType("Microsoft.Insights/scheduledQueryRules", "ruleName"),
    "azure-native:managedidentity:UserAssignedIdentity": ArmType(
        "Microsoft.ManagedIdentity/userAssignedIdentities", "resourceName"
    ),
    "azure-native:network:VirtualNetwork": ArmType("Microsoft.Network/virtualNetworks", "virtualNetworkName"),
    "azure-native:loadtestservice:LoadTest": ArmType("Microsoft.LoadTestService/loadTests", "loadTestName"),
    "azure-native:network:NetworkSecurityGroup": ArmType(
        "Microsoft.Network/networkSecurityGroups", "networkSecurityGroupName"
    ),
    "azure-native:network:PrivateEndpoint": ArmType("Microsoft.Network/privateEndpoints", "privateEndpointName"),
    "azure-native:privatedns:PrivateZone": ArmType("Microsoft.Network/privateDnsZones", "privateZoneName"),
    "azure-native:keyvault:Vault": ArmType("Microsoft.KeyVault/vaults", "vaultName"),
}


def _rg_prefix(inputs: dict[str, Any]) -> str:
    return f"/subscriptions/{MOCK_SUBSCRIPTION}/resourceGroups/{inputs.get('resourceGroupName', 'rg-mock')}"


def _child_id(parent_id_key: str, segment: str, name_key: str) -> Callable[[dict[str, Any]], str]:
    def build(inputs: dict[str, Any]) -> str:
        return f"{inputs.get(parent_id_key, '')}/{segment}/{inputs.get(name_key, 'default')}"

    return build


def _redis_child(segment: str, name_key: str) -> Callable[[dict[str, Any]], str]:
    def build(inputs: dict[str, Any]) -> str:
        cluster = inputs.get("clusterName") or inputs.get("cacheName")
        kind = "redisEnterprise" if "clusterName" in inputs else "redis"
        base = f"{_rg_prefix(inputs)}/providers/Microsoft.Cache/{kind}/{cluster}"
        if kind == "redisEnterprise" and segment != "databases":
            base += f"/databases/{inputs.get('databaseName', 'default')}"
        return f"{base}/{segment}/{inputs.get(name_key, 'default')}"

    return build


# Types whose id is not `{rg}/providers/{type}/{name}`.
SPECIAL_IDS: dict[str, Callable[[dict[str, Any]], str]] = {
    "azure-native:resources:ResourceGroup": lambda i: _rg_prefix(i),
    "azure-native:redisenterprise:Database": _redis_child("databases", "databaseName"),
    "azure-native:redisenterprise:AccessPolicyAssignment": _redis_child(
        "accessPolicyAssignments", "accessPolicyAssignmentName"
    ),
    "azure-native:redis:AccessPolicyAssignment": _redis_child("accessPolicyAssignments", "accessPolicyAssignmentName"),
    "azure-native:monitor:DiagnosticSetting": _child_id(
        "resourceUri", "providers/Microsoft.Insights/diagnosticSettings", "name"
    ),
    "azure-native:authorization:RoleAssignment": _child_id(
        "scope", "providers/Microsoft.Authorization/roleAssignments", "roleAssignmentName"
    ),
    "azure-native:network:Subnet": lambda i: (
        f"{_rg_prefix(i)}/providers/Microsoft.Network/virtualNetworks/{i.get('virtualNetworkName')}"
        f"/subnets/{i.get('subnetName')}"
    ),
    "azure-native:privatedns:VirtualNetworkLink": lambda i: (
        f"{_rg_prefix(i)}/providers/Microsoft.Network/privateDnsZones/{i.get('privateZoneName')}"
        f"/virtualNetworkLinks/{i.get('virtualNetworkLinkName')}"
    ),
    "azure-native:network:PrivateDnsZoneGroup": lambda i: (
        f"{_rg_prefix(i)}/providers/Microsoft.Network/privateEndpoints/{i.get('privateEndpointName')}"
        f"/privateDnsZoneGroups/{i.get('privateDnsZoneGroupName')}"
    ),
    "azure-native:keyvault:Secret": lambda i: (
        f"{_rg_prefix(i)}/providers/Microsoft.KeyVault/vaults/{i.get('vaultName')}/secrets/{i.get('secretName')}"
    ),
}


def arm_id(type_token: str, logical_name: str, inputs: dict[str, Any]) -> str:
    if type_token in SPECIAL_IDS:
        return SPECIAL_IDS[type_token](inputs)
    arm = ARM_TYPES.get(type_token)
    if arm is None:
        return f"{_rg_prefix(inputs)}/providers/Mock.Unknown/{type_token.split(':')[-1]}/{logical_name}"
    return f"{_rg_prefix(inputs)}/providers/{arm.provider_type}/{inputs.get(arm.name_input, logical_name)}"


# Reuse scopes under which Azure adds a hash label to a container group's FQDN, and what the
# hash is derived from (learn.microsoft.com/azure/container-instances/how-to-reuse-dns-names).
_REUSE_SCOPE_PARTS = {
    "TenantReuse": ("tenant",),
    "SubscriptionReuse": ("tenant", "subscription"),
    "ResourceGroupReuse": ("tenant", "subscription", "resourceGroup"),
}
# As in ACR's TenantReuse login servers (`<name>-e7ggejfuhzhgedc8.azurecr.io`); UNCONFIRMED for ACI.
DNS_HASH_LENGTH = 16


def container_group_fqdn(inputs: dict[str, Any], ip_address: dict[str, Any], location: str) -> str:
    """`<label>.<hash>.<region>.azurecontainer.io` under a reuse scope, else `<label>.<region>.azurecontainer.io`.

    With `autoGeneratedDomainNameLabelScope` TenantReuse (or Subscription/ResourceGroupReuse),
    Azure inserts a deterministic hash of the label and the scope (tenant, subscription,
    resource group) between the label and the region, so the name is not the bare label: the
    hash comes from Azure DNS's deterministic name library, the same shape Service Fabric managed
    clusters document (`{name}.{hash}.{region}...`). Offline the hash is a stand-in of the
    same shape, stable for the same label and scope.
    """
    label = ip_address["dnsNameLabel"]
    parts = _REUSE_SCOPE_PARTS.get(str(ip_address.get("autoGeneratedDomainNameLabelScope")))
    if parts is None:
        return f"{label}.{location}.azurecontainer.io"
    scope = {"tenant": MOCK_TENANT, "subscription": MOCK_SUBSCRIPTION, "resourceGroup": inputs.get("resourceGroupName")}
    digest = hashlib.sha256("|".join([label, *(str(scope[p]) for p in parts)]).encode()).digest()
    token = base64.b32encode(digest).decode().lower()[:DNS_HASH_LENGTH]
    return f"{label}.{token}.{location}.azurecontainer.io"


def _identity(inputs: dict[str, Any], resource_id: str) -> dict[str, Any]:
    identity = dict(inputs.get("identity") or {})
    assigned = identity.get("userAssignedIdentities")
    if isinstance(assigned, list):
        # Requests list the ids; responses map each id to its principal and client ids.
        identity["userAssignedIdentities"] = {
            identity_id: {
                "principalId": mock_uuid("principal", identity_id),
                "clientId": mock_uuid("client", identity_id),
            }
            for identity_id in assigned
        }
    if "SystemAssigned" in str(identity.get("type", "")):
        identity["principalId"] = mock_uuid("principal", resource_id)
        identity["tenantId"] = MOCK_TENANT
    return identity


def _computed(type_token: str, inputs: dict[str, Any], resource_id: str) -> dict[str, Any]:
    """Outputs Azure computes for `type_token`, as far as the program reads them."""
    location = inputs.get("location", "westeurope")
    name = resource_id.rsplit("/", 1)[-1]
    state: dict[str, Any] = {"name": name}
    if "identity" in inputs:
        state["identity"] = _identity(inputs, resource_id)
    if type_token == "azure-native:app:ManagedEnvironment":
        state["defaultDomain"] = MOCK_ENV_DOMAIN.format(location=location)
        state["staticIp"] = "20.0.0.1"
    elif type_token == "azure-native:app:ContainerApp":
        domain = MOCK_ENV_DOMAIN.format(location=location)
        # The configuration holds the app's secrets, so it arrives wrapped as one secret.
        raw_configuration = inputs.get("configuration") or {}
        configuration = dict(unwrap_rpc_secret(raw_configuration))
        ingress = dict(configuration.get("ingress") or {})
        if ingress:
            internal = "" if ingress.get("external") else "internal."
            ingress["fqdn"] = f"{name}.{internal}{domain}"
            configuration["ingress"] = ingress
            state["configuration"] = (
                wrap_rpc_secret(configuration) if is_rpc_secret(raw_configuration) else configuration
            )
            state["latestRevisionFqdn"] = f"{name}--0000001.{internal}{domain}"
        state["latestRevisionName"] = f"{name}--0000001"
    elif type_token == "azure-native:containerinstance:ContainerGroup":
        ip_address = dict(inputs.get("ipAddress") or {})
        if ip_address:
            ip_address["ip"] = "20.0.0.2" if ip_address.get("type") == "Public" else "10.0.0.4"
            if ip_address.get("dnsNameLabel"):
                ip_address["fqdn"] = container_group_fqdn(inputs, ip_address, location)
            state["ipAddress"] = ip_address
    elif type_token == "azure-native:redisenterprise:RedisEnterprise":
        state["hostName"] = f"{name}.{location}.redis.azure.net"
    elif type_token == "azure-native:redis:Redis":
        state.update({"hostName": f"{name}.redis.cache.windows.net", "port": 6379, "sslPort": 6380})
    elif type_token == "azure-native:operationalinsights:Workspace":
        state["customerId"] = mock_uuid("workspace", resource_id)
    elif type_token == "azure-native:applicationinsights:Component":
        key = mock_uuid("ikey", resource_id)
        state.update(
            {
                "appId": mock_uuid("app", resource_id),
                "instrumentationKey": key,
                "connectionString": wrap_rpc_secret(
                    f"InstrumentationKey={key};IngestionEndpoint=https://{location}-0.in.applicationinsights.azure.com/"
                ),
            }
        )
    elif type_token == "azure-native:managedidentity:UserAssignedIdentity":
        state.update(
            {
                "principalId": mock_uuid("principal", resource_id),
                "clientId": mock_uuid("client", resource_id),
                "tenantId": MOCK_TENANT,
            }
        )
    elif type_token == "azure-native:loadtestservice:LoadTest":
        state["dataPlaneURI"] = f"{mock_uuid('dataplane', resource_id)}.{location}.cnt-prod.loadtesting.azure.com"
    elif type_token == "azure-native:keyvault:Vault":
        properties = dict(inputs.get("properties") or {})
        properties["vaultUri"] = f"https://{name}.vault.azure.net/"
        state["properties"] = properties
    elif type_token == "azure-native:keyvault:Secret":
        # The properties hold the secret value, so they arrive wrapped as one secret.
        raw_properties = inputs.get("properties") or {}
        properties = dict(unwrap_rpc_secret(raw_properties))
        vault = inputs.get("vaultName")
        properties["secretUri"] = f"https://{vault}.vault.azure.net/secrets/{name}"
        properties["secretUriWithVersion"] = f"https://{vault}.vault.azure.net/secrets/{name}/0000"
        state["properties"] = wrap_rpc_secret(properties) if is_rpc_secret(raw_properties) else properties
    elif type_token == "azure-native:network:PrivateEndpoint":
        state["customDnsConfigs"] = []
    return state


class AzureMocks(pulumi.runtime.Mocks):
    """Answers resource registrations and provider calls the way Azure would, offline."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        if not args.custom:
            return None, {}
        resource_id = arm_id(args.typ, args.name, args.inputs)
        state = dict(args.inputs)
        state.update(_computed(args.typ, args.inputs, resource_id))
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        token = args.token
        if token == "azure-native:authorization:getClientConfig":
            return {
                "clientId": mock_uuid("client", "deployer"),
                "objectId": mock_uuid("object", "deployer"),
                "subscriptionId": MOCK_SUBSCRIPTION,
                "tenantId": MOCK_TENANT,
            }
        if token == "azure-native:operationalinsights:getSharedKeys":
            return {"primarySharedKey": "mock-primary-shared-key", "secondarySharedKey": "mock-secondary-shared-key"}
        if token == "azure-native:redis:listRedisKeys":
            return {"primaryKey": "mock-redis-primary-key", "secondaryKey": "mock-redis-secondary-key"}
        if token == "azure-native:redisenterprise:listDatabaseKeys":
            return {"primaryKey": "mock-amr-primary-key", "secondaryKey": "mock-amr-secondary-key"}
        return {}
