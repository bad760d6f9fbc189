"""Prod network and secrets under the mock engine: VNet, private cache, Key Vault references."""

from __future__ import annotations

import pytest
from pulumi.runtime import rpc

from infra.components.identities import ROLE_KEY_VAULT_SECRETS_USER
from infra.plan.engine.runner import PlanResult
from infra.settings import SettingsError, load_settings
from tests.conftest import DELETE, opened, plan, raw_config

VNET = "azure-native:network:VirtualNetwork"
PEP = "azure-native:network:PrivateEndpoint"
ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
ZONE = "azure-native:privatedns:PrivateZone"
LINK = "azure-native:privatedns:VirtualNetworkLink"
VAULT = "azure-native:keyvault:Vault"
VAULT_SECRET = "azure-native:keyvault:Secret"
ENVIRONMENT = "azure-native:app:ManagedEnvironment"
APP = "azure-native:app:ContainerApp"
ROLE = "azure-native:authorization:RoleAssignment"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
CLUSTER = "azure-native:redisenterprise:RedisEnterprise"
GROUP = "azure-native:containerinstance:ContainerGroup"
NETWORK = {"addressSpace": "10.50.0.0/16", "appsSubnet": "10.50.0.0/23", "privateEndpointsSubnet": "10.50.2.0/28"}


@pytest.fixture(scope="module")
def prod() -> PlanResult:
    return plan("prod")


def test_prod_subnets_and_their_delegation(prod: PlanResult) -> None:
    vnet = prod.one(VNET)
    token = prod.loaded.naming.token
    assert vnet.inputs["addressSpace"] == {"addressPrefixes": ["10.42.0.0/16"]}
    apps, endpoints = vnet.inputs["subnets"]
    assert apps == {
        "name": f"snet-finagent-apps-prod-{token}",
        "addressPrefix": "10.42.0.0/23",
        "delegations": [{"name": "apps", "serviceName": "Microsoft.App/environments"}],
        "privateEndpointNetworkPolicies": "Disabled",
        "privateLinkServiceNetworkPolicies": "Enabled",
    }
    assert endpoints == {
        "name": f"snet-finagent-pep-prod-{token}",
        "addressPrefix": "10.42.2.0/27",
        "privateEndpointNetworkPolicies": "Disabled",
        "privateLinkServiceNetworkPolicies": "Enabled",
    }
    environment = prod.one(ENVIRONMENT)
    assert environment.inputs["vnetConfiguration"] == {
        "infrastructureSubnetId": f"{vnet.resource_id}/subnets/snet-finagent-apps-prod-{token}",
        "internal": False,
    }
    assert environment.inputs["zoneRedundant"] is True


def test_prod_cache_is_private_behind_an_endpoint_with_its_dns(prod: PlanResult) -> None:
    cluster, vnet = prod.one(CLUSTER), prod.one(VNET)
    assert cluster.inputs["publicNetworkAccess"] == "Disabled"
    endpoint = prod.one(PEP, "network-pep-cache")
    token = prod.loaded.naming.token
    assert endpoint.inputs["subnet"]["id"] == f"{vnet.resource_id}/subnets/snet-finagent-pep-prod-{token}"
    assert endpoint.inputs["privateLinkServiceConnections"] == [
        {
            "name": f"pep-finagent-cache-prod-{token}",
            "privateLinkServiceId": cluster.resource_id,
            "groupIds": ["redisEnterprise"],
        }
    ]
    zone = prod.one(ZONE, "network-zone-privatelink-redis-azure-net")
    assert (zone.inputs["privateZoneName"], zone.inputs["location"]) == ("privatelink.redis.azure.net", "global")
    group = prod.one(ZONE_GROUP, "network-pep-cache-dns")
    assert group.inputs["privateEndpointName"] == f"pep-finagent-cache-prod-{token}"
    assert group.inputs["privateDnsZoneConfigs"] == [{"name": "cache", "privateDnsZoneId": zone.resource_id}]
    link = prod.one(LINK, "network-zone-link-privatelink-redis-azure-net")
    assert link.inputs["privateZoneName"] == "privatelink.redis.azure.net"
    assert link.inputs["virtualNetwork"] == {"id": vnet.resource_id}
    assert link.inputs["registrationEnabled"] is False


def test_classic_private_cache_uses_its_own_zone_and_group_id() -> None:
    result = plan("staging", {"redis": {"tier": "classic", "sku": "Standard_C1", "publicNetworkAccess": False}})
    zones = {z.inputs["privateZoneName"] for z in result.of_type(ZONE)}
    assert zones == {"privatelink.redis.cache.windows.net", "privatelink.vaultcore.azure.net"}
    [connection] = result.one(PEP, "network-pep-cache").inputs["privateLinkServiceConnections"]
    assert connection["groupIds"] == ["redisCache"]
    assert result.one("azure-native:redis:Redis").inputs["publicNetworkAccess"] == "Disabled"


def test_backend_internal_web_public_https(prod: PlanResult) -> None:
    apps = {a.name: opened(a.inputs["configuration"])["ingress"] for a in prod.of_type(APP)}
    assert apps["compute-backend"]["external"] is False
    assert apps["compute-web"]["external"] is True
    assert apps["compute-web"]["allowInsecure"] is False


def test_public_key_vault_when_asked_has_no_endpoint() -> None:
    result = plan("prod", {"keyVault.publicNetworkAccess": True})
    assert [p.name for p in result.of_type(PEP)] == ["network-pep-cache"]
    assert opened(result.one(VAULT).inputs["properties"])["publicNetworkAccess"] == "Enabled"


def test_prod_key_vault_rbac_soft_delete_purge_protection(prod: PlanResult) -> None:
    vault = prod.one(VAULT)
    properties = opened(vault.inputs["properties"])
    assert properties["enableRbacAuthorization"] is True
    assert properties["enableSoftDelete"] is True
    assert properties["softDeleteRetentionInDays"] == 90
    assert properties["enablePurgeProtection"] is True
    assert properties["sku"] == {"family": "A", "name": "standard"}
    assert properties["tenantId"] == "11111111-1111-1111-1111-111111111111"
    assert vault.protect


def test_staging_vault_is_not_purge_protected_unless_asked() -> None:
    staging = plan("staging")
    assert "enablePurgeProtection" not in opened(staging.one(VAULT).inputs["properties"])
    asked = plan("staging", {"keyVault.purgeProtection": True})
    assert opened(asked.one(VAULT).inputs["properties"])["enablePurgeProtection"] is True


def test_app_secrets_live_in_the_vault_as_secrets(prod: PlanResult) -> None:
    secrets = {s.inputs["secretName"]: s for s in prod.of_type(VAULT_SECRET)}
    assert set(secrets) == {
        "supabase-url",
        "supabase-service-key",
        "plaid-client-id",
        "plaid-secret",
        "market-data-api-key",
        "ai-api-key",
    }
    vault_name = prod.one(VAULT).inputs["vaultName"]
    for secret in secrets.values():
        assert secret.inputs["vaultName"] == vault_name
        assert rpc.is_rpc_secret(secret.inputs["properties"])


def test_apps_read_key_vault_references_with_their_identity(prod: PlanResult) -> None:
    identities = {r.name: r.resource_id for r in prod.of_type(IDENTITY)}
    vault_name = prod.one(VAULT).inputs["vaultName"]
    backend = prod.one(APP, "compute-backend")
    secrets = {s["name"]: s for s in opened(backend.inputs["configuration"])["secrets"]}
    assert secrets["plaid-secret"] == {
        "name": "plaid-secret",
        "keyVaultUrl": f"https://{vault_name}.vault.azure.net/secrets/plaid-secret",
        "identity": identities["identities-backend"],
    }
    for name in ("supabase-url", "supabase-service-key", "plaid-client-id", "market-data-api-key", "ai-api-key"):
        assert "value" not in secrets[name] and secrets[name]["identity"] == identities["identities-backend"]
    [container] = opened(backend.inputs["template"])["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["PLAID_SECRET"] == {"name": "PLAID_SECRET", "secretRef": "plaid-secret"}


def test_each_identity_gets_key_vault_secrets_user_on_the_vault(prod: PlanResult) -> None:
    vault = prod.one(VAULT)
    identities = {r.name: r.state["principalId"] for r in prod.of_type(IDENTITY)}
    readers = [r for r in prod.of_type(ROLE) if r.inputs["roleDefinitionId"].endswith(ROLE_KEY_VAULT_SECRETS_USER)]
    assert sorted(r.inputs["principalId"] for r in readers) == sorted(identities.values())
    assert {r.inputs["scope"] for r in readers} == {vault.resource_id}
    assert {r.inputs["principalType"] for r in readers} == {"ServicePrincipal"}
    # the apps start only after their identities may read the vault
    backend = prod.one(APP, "compute-backend")
    assert set(r.urn for r in readers) <= set(backend.depends_on)


def test_private_key_vault_gets_its_endpoint_and_zone() -> None:
    result = plan("prod")
    zones = {z.inputs["privateZoneName"] for z in result.of_type(ZONE)}
    assert zones == {"privatelink.redis.azure.net", "privatelink.vaultcore.azure.net"}
    vault = result.one(VAULT)
    assert opened(vault.inputs["properties"])["publicNetworkAccess"] == "Disabled"
    kv_endpoint = result.one(PEP, "network-pep-kv")
    [connection] = kv_endpoint.inputs["privateLinkServiceConnections"]
    assert (connection["privateLinkServiceId"], connection["groupIds"]) == (vault.resource_id, ["vault"])


def test_dev_stays_public_and_cheap() -> None:
    dev = plan("dev")
    types = {r.type for r in dev.resources}
    assert not types & {VNET, PEP, ZONE, VAULT}
    assert dev.one(CLUSTER).inputs["publicNetworkAccess"] == "Enabled"
    assert dev.one(CLUSTER).inputs["minimumTlsVersion"] == "1.2"
    assert dev.outputs["network"] is None and dev.outputs["keyVault"] is None


def test_staging_follows_prod() -> None:
    staging = plan("staging")
    assert staging.one(CLUSTER).inputs["publicNetworkAccess"] == "Disabled"
    assert {p.name for p in staging.of_type(PEP)} == {"network-pep-cache", "network-pep-kv"}
    assert len(staging.of_type(VAULT)) == 1
    assert opened(staging.one(APP, "compute-backend").inputs["configuration"])["ingress"]["external"] is False


def test_container_groups_in_a_subnet_get_a_private_ip_and_reach_a_private_cache() -> None:
    result = plan(
        "dev",
        {"network": NETWORK, "compute.containerInstances.network": "subnet", "redis.publicNetworkAccess": False},
    )
    vnet = result.one(VNET)
    [apps, _] = vnet.inputs["subnets"]
    assert apps["delegations"] == [{"name": "apps", "serviceName": "Microsoft.ContainerInstance/containerGroups"}]
    group = result.one(GROUP)
    assert opened(group.inputs["ipAddress"])["type"] == "Private"
    assert group.inputs["subnetIds"] == [{"id": f"{vnet.resource_id}/subnets/{apps['name']}"}]
    assert result.one(CLUSTER).inputs["publicNetworkAccess"] == "Disabled"
    assert len(result.of_type(PEP)) == 1


def test_outputs_name_the_network_and_vault(prod: PlanResult) -> None:
    assert prod.outputs["network"]["virtualNetworkId"] == prod.one(VNET).resource_id
    assert prod.outputs["keyVault"]["uri"].startswith("https://kv-finagent-prod-")


INVALID = [
    (
        "overlapping-subnets",
        "staging",
        {"network.privateEndpointsSubnet": "10.41.1.0/28"},
        "fin-agent:network.privateEndpointsSubnet",
        "overlaps network.appsSubnet",
    ),
    (
        "apps-subnet-too-small",
        "staging",
        {"network.appsSubnet": "10.41.0.0/28"},
        "fin-agent:network.appsSubnet",
        "needs at least a /27",
    ),
    (
        "endpoints-subnet-too-small",
        "staging",
        {"network.privateEndpointsSubnet": "10.41.2.0/29"},
        "fin-agent:network.privateEndpointsSubnet",
        "at least a /28",
    ),
    (
        "subnet-outside-address-space",
        "staging",
        {"network.appsSubnet": "10.99.0.0/23"},
        "fin-agent:network.appsSubnet",
        "outside the address space",
    ),
    (
        "not-a-cidr",
        "staging",
        {"network.addressSpace": "10.41.0.1/16"},
        "fin-agent:network.addressSpace",
        "not a valid IPv4 network",
    ),
    (
        "private-cache-without-network",
        "staging",
        {"network": DELETE},
        "fin-agent:redis.publicNetworkAccess",
        "add fin-agent:network",
    ),
    (
        "zone-redundancy-without-network",
        "prod",
        {"network": DELETE, "redis.publicNetworkAccess": True},
        "fin-agent:compute.containerApps.zoneRedundant",
        "infrastructure subnet",
    ),
    (
        "private-vault-without-network",
        "staging",
        {"network": DELETE, "redis.publicNetworkAccess": True, "keyVault.publicNetworkAccess": False},
        "fin-agent:keyVault.publicNetworkAccess",
        "add fin-agent:network",
    ),
    (
        "groups-in-subnet-without-network",
        "dev",
        {"compute.containerInstances.network": "subnet"},
        "fin-agent:compute.containerInstances.network",
        "add fin-agent:network",
    ),
    (
        "key-vault-references-on-container-groups",
        "dev",
        {"keyVault": {}},
        "fin-agent:keyVault",
        "Key Vault references need Container Apps",
    ),
    (
        "public-groups-with-private-cache",
        "dev",
        {"network": NETWORK, "redis.publicNetworkAccess": False},
        "fin-agent:redis.publicNetworkAccess",
        "cannot reach a private cache",
    ),
    (
        "vault-retention-out-of-range",
        "staging",
        {"keyVault.softDeleteRetentionDays": 365},
        "fin-agent:keyVault.softDeleteRetentionDays",
        "less than or equal to 90",
    ),
]


@pytest.mark.parametrize(("case", "stack", "overrides", "key", "text"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_network_settings_are_refused_clearly(
    case: str, stack: str, overrides: dict, key: str, text: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(raw_config(stack, overrides), stack, allow_missing_secrets=True)
    matching = [str(p) for p in caught.value.problems if p.key == key]
    assert matching, f"{case}: no problem for {key} in {caught.value}"
    assert any(text in m for m in matching), f"{case}: {matching}"
