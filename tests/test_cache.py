"""The cache under Pulumi's mock engine: what Azure receives on each tier, and what the apps get.

Managed Redis (default): database `default`, `AllKeysLRU`, encrypted protocol, TLS 1.2,
explicit public access, HA, Entra ID only. Azure Cache for Redis: `allkeys-lru`, reserved
memory only on Standard/Premium, non-TLS port off. The guide's unsettable server settings are
never sent; bad values are refused naming the key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pulumi
import pytest
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from checks.outputs import CacheOut
from infra.components.cache import Cache, CacheArgs
from infra.plan.command.summaries import summarize
from infra.plan.engine.mocks import AzureMocks
from infra.plan.engine.runner import PlannedResource, RecordingMonitor, run_entrypoint
from infra.settings import SettingsError, load_settings
from infra.settings.rules.cache import EVICTION_POLICIES
from infra.tags import PROJECT, standard_tags
from tests.conftest import STACKS, plan, raw_config

CLUSTER = "azure-native:redisenterprise:RedisEnterprise"
DATABASE = "azure-native:redisenterprise:Database"
MANAGED_GRANT = "azure-native:redisenterprise:AccessPolicyAssignment"
CLASSIC = "azure-native:redis:Redis"
CLASSIC_GRANT = "azure-native:redis:AccessPolicyAssignment"
COMPONENT = "fin-agent:cache:Cache"
FAKE_PRINCIPAL = "2b8f6a2e-1c3d-4e5f-8a9b-0c1d2e3f4a5b"
CLASSIC_STANDARD = {"redis.tier": "classic", "redis.sku": "Standard_C1"}
SECRET = {"secure": "v1:encrypted"}
SECRET_KEYS = ("supabaseUrl", "supabaseServiceKey", "plaidClientId", "plaidSecret", "marketDataApiKey", "aiApiKey")


def refused(stack: str, overrides: dict[str, Any]) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        load_settings(raw_config(stack, overrides), stack, allow_missing_secrets=True)
    return [str(problem) for problem in caught.value.problems]


def keys_everywhere(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from keys_everywhere(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from keys_everywhere(item)


# --- Azure Managed Redis (the default tier) ------------------------------------------------


def test_managed_database_is_named_default_and_evicts_allkeys_lru_over_tls() -> None:
    result = plan("dev")
    cluster, database = result.one(CLUSTER), result.one(DATABASE)
    assert database.inputs == {
        "clusterName": cluster.inputs["clusterName"],
        "resourceGroupName": "rg-finagent-dev-" + result.loaded.naming.token,
        "databaseName": "default",
        "port": 10000,
        "clientProtocol": "Encrypted",
        "evictionPolicy": "AllKeysLRU",
        "clusteringPolicy": "EnterpriseCluster",
        "accessKeysAuthentication": "Disabled",
    }


def test_managed_cluster_states_public_access_tls_and_high_availability() -> None:
    cluster = plan("dev", {"redis.highAvailability": True}).one(CLUSTER)
    assert cluster.inputs["clusterName"] == f"amr-finagent-dev-{cluster.inputs['clusterName'][-6:]}"
    assert cluster.inputs["sku"] == {"name": "Balanced_B0"}
    assert cluster.inputs["publicNetworkAccess"] == "Enabled"
    assert cluster.inputs["minimumTlsVersion"] == "1.2"
    assert cluster.inputs["highAvailability"] == "Enabled"
    assert cluster.inputs["location"] == "westeurope"
    assert cluster.inputs["tags"]["managed-by"] == "pulumi"

    private = plan("prod", {"redis.publicNetworkAccess": False, "redis.highAvailability": True}).one(CLUSTER)
    assert private.inputs["publicNetworkAccess"] == "Disabled"
    single = plan("dev", {"redis.highAvailability": False}).one(CLUSTER)
    assert single.inputs["highAvailability"] == "Disabled"


def test_prod_cache_is_highly_available_and_protected() -> None:
    result = plan("prod")
    cluster, database = result.one(CLUSTER), result.one(DATABASE)
    assert cluster.inputs["sku"] == {"name": "Balanced_B3"}
    assert cluster.inputs["highAvailability"] == "Enabled"
    assert cluster.protect and database.protect


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_non_prod_caches_are_not_protected(stack: str) -> None:
    result = plan(stack)
    assert not result.one(CLUSTER).protect
    assert not result.one(DATABASE).protect


def test_protection_follows_the_setting_when_given() -> None:
    assert plan("dev", {"redis.protect": True}).one(CLUSTER).protect
    unprotected = plan("prod", {"redis.protect": False})
    assert not unprotected.one(CLUSTER).protect
    assert not unprotected.one(DATABASE).protect


@pytest.mark.parametrize(("redis_name", "azure_name"), sorted(EVICTION_POLICIES.items()))
def test_every_redis_policy_is_sent_in_azures_spelling(redis_name: str, azure_name: str) -> None:
    for spelling in (redis_name, azure_name):
        result = plan("dev", {"redis.evictionPolicy": spelling})
        assert result.one(DATABASE).inputs["evictionPolicy"] == azure_name
        assert result.outputs["cache"]["evictionPolicy"] == redis_name


def test_clustering_policy_and_access_keys_follow_settings() -> None:
    database = plan("dev", {"redis.clusteringPolicy": "OSSCluster", "redis.accessKeysAuthentication": True}).one(
        DATABASE
    )
    assert database.inputs["clusteringPolicy"] == "OSSCluster"
    assert database.inputs["accessKeysAuthentication"] == "Enabled"


def test_cache_resources_are_children_of_the_cache_component() -> None:
    result = plan("dev")
    component = result.one(COMPONENT, "cache")
    assert not component.custom
    for resource in (result.one(CLUSTER), result.one(DATABASE)):
        assert resource.parent_urn == component.urn


# --- Azure Cache for Redis (tier classic) --------------------------------------------------


def test_classic_cache_inputs() -> None:
    result = plan("dev", CLASSIC_STANDARD)
    cache = result.one(CLASSIC)
    assert cache.inputs == {
        "name": "redis-finagent-dev-" + result.loaded.naming.token,
        "resourceGroupName": "rg-finagent-dev-" + result.loaded.naming.token,
        "location": "westeurope",
        "sku": {"name": "Standard", "family": "C", "capacity": 1},
        "enableNonSslPort": False,
        "minimumTlsVersion": "1.2",
        "redisVersion": "6",
        "publicNetworkAccess": "Enabled",
        "disableAccessKeyAuthentication": True,
        # maxmemoryPolicy is ARM's `maxmemory-policy`; reserved memory absent until set
        "redisConfiguration": {"maxmemoryPolicy": "allkeys-lru", "aadEnabled": "true"},
        "tags": standard_tags(result.loaded.settings, "dev"),
    }
    assert result.of_type(CLUSTER) == [] and result.of_type(DATABASE) == []


@pytest.mark.parametrize(
    ("sku", "parts"),
    [("Standard_C1", ("Standard", "C", 1)), ("Premium_P2", ("Premium", "P", 2)), ("Premium_P5", ("Premium", "P", 5))],
)
def test_classic_reserved_memory_is_sent_on_standard_and_premium(sku: str, parts: tuple[str, str, int]) -> None:
    overrides = {
        "redis.tier": "classic",
        "redis.sku": sku,
        "redis.maxmemoryReservedMb": 125,
        "redis.maxfragmentationmemoryReservedMb": 60,
    }
    cache = plan("dev", overrides).one(CLASSIC)
    assert (cache.inputs["sku"]["name"], cache.inputs["sku"]["family"], cache.inputs["sku"]["capacity"]) == parts
    assert cache.inputs["redisConfiguration"] == {
        "maxmemoryPolicy": "allkeys-lru",
        "maxmemoryReserved": "125",
        "maxfragmentationmemoryReserved": "60",
        "aadEnabled": "true",
    }


def test_classic_basic_cache_has_no_reserved_memory_and_no_replica() -> None:
    cache = plan("dev", {"redis.tier": "classic", "redis.sku": "Basic_C0", "redis.highAvailability": False}).one(
        CLASSIC
    )
    assert cache.inputs["sku"] == {"name": "Basic", "family": "C", "capacity": 0}
    assert cache.inputs["redisConfiguration"] == {"maxmemoryPolicy": "allkeys-lru", "aadEnabled": "true"}


def test_classic_policy_given_in_azures_spelling_is_sent_in_redis_spelling() -> None:
    cache = plan("dev", {**CLASSIC_STANDARD, "redis.evictionPolicy": "VolatileTTL"}).one(CLASSIC)
    assert cache.inputs["redisConfiguration"]["maxmemoryPolicy"] == "volatile-ttl"


def test_classic_access_keys_and_public_access_follow_settings() -> None:
    cache = plan(
        "staging", {**CLASSIC_STANDARD, "redis.accessKeysAuthentication": True, "redis.publicNetworkAccess": False}
    ).one(CLASSIC)
    assert cache.inputs["disableAccessKeyAuthentication"] is False
    assert cache.inputs["publicNetworkAccess"] == "Disabled"
    assert cache.inputs["redisConfiguration"]["aadEnabled"] == "true"


def test_classic_prod_cache_is_protected_and_dev_is_not() -> None:
    assert plan("prod", CLASSIC_STANDARD).one(CLASSIC).protect
    assert not plan("dev", CLASSIC_STANDARD).one(CLASSIC).protect


# --- The guide's settings Azure does not take ----------------------------------------------

UNSETTABLE = {"maxmemorysamples", "timeout", "tcpkeepalive"}


@pytest.mark.parametrize("overrides", [{}, CLASSIC_STANDARD], ids=["managed", "classic"])
def test_guide_settings_azure_cannot_take_are_never_sent(overrides: dict[str, Any]) -> None:
    result = plan("dev", overrides)
    settings = result.loaded.settings.redis
    assert (settings.maxmemory_samples, settings.timeout, settings.tcp_keepalive) == (10, 300, 60)
    for resource in result.resources:
        normalized = {key.lower().replace("-", "").replace("_", "") for key in keys_everywhere(resource.inputs)}
        assert not normalized & UNSETTABLE, f"{resource.type} was sent {normalized & UNSETTABLE}"


@pytest.mark.parametrize(
    ("overrides", "tier"), [({}, "Azure Managed Redis"), (CLASSIC_STANDARD, "Azure Cache for Redis")]
)
def test_guide_settings_are_reported_as_not_settable_on_the_tier(overrides: dict[str, Any], tier: str) -> None:
    notices = plan("dev", overrides).loaded.notices
    for key, value in (("maxmemorySamples", 10), ("timeout", 300), ("tcpKeepalive", 60)):
        expected = (
            f"redis.{key}={value} is accepted for fidelity to the guide but not sent: {tier} does not let anyone set it"
        )
        assert expected in notices


def test_strict_mode_refuses_the_guide_settings_naming_each_key() -> None:
    problems = refused("dev", {"redis.strict": True})
    assert problems == [
        f"fin-agent:redis.{key}: cannot be set on Azure Managed Redis (strict mode); remove it or turn strict off "
        f"(got {value})"
        for key, value in (("maxmemorySamples", 10), ("timeout", 300), ("tcpKeepalive", 60))
    ]


def test_strict_mode_without_the_guide_settings_plans() -> None:
    overrides = {
        "redis.strict": True,
        "redis.maxmemorySamples": None,
        "redis.timeout": None,
        "redis.tcpKeepalive": None,
    }
    result = plan("dev", overrides)
    assert not any("accepted for fidelity" in notice for notice in result.loaded.notices)
    assert result.one(DATABASE).inputs["evictionPolicy"] == "AllKeysLRU"


# --- Notices at preview time ------------------------------------------------------------------


def test_choosing_classic_warns_at_preview_time_of_retirement(monkeypatch: pytest.MonkeyPatch) -> None:
    warnings: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *args, **kwargs: warnings.append(message))
    raw = raw_config("dev", {**CLASSIC_STANDARD, **{key: SECRET for key in SECRET_KEYS}})
    monitor = run_entrypoint(raw, "dev")
    assert any(r.type == CLASSIC for r in monitor.planned.values())
    retirement = [w for w in warnings if w.startswith("redis.tier=classic")]
    assert retirement == [
        "redis.tier=classic: Azure Cache for Redis retires on 2028-09-30 and tenants without an existing cache "
        "can no longer create one; prefer tier managed (Azure Managed Redis)"
    ]
    assert sum("accepted for fidelity to the guide but not sent" in w for w in warnings) == 3


def test_managed_tier_has_no_retirement_warning() -> None:
    assert not any("retires" in notice for notice in plan("dev").loaded.notices)


def test_high_availability_off_is_reported_as_ineffective_on_standard() -> None:
    notices = plan("dev", {**CLASSIC_STANDARD, "redis.highAvailability": False}).loaded.notices
    assert (
        "redis.highAvailability=false has no effect on Azure Cache for Redis Standard and Premium: "
        "they always run a replica (only Basic is a single node)"
    ) in notices


# --- Bad values: refused, the key named -----------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param(
            {"redis.evictionPolicy": "lru-all"},
            "fin-agent:redis.evictionPolicy: unknown eviction policy; use one of allkeys-lru, allkeys-lfu, "
            "allkeys-random, volatile-lru, volatile-lfu, volatile-ttl, volatile-random, noeviction (got 'lru-all')",
            id="unknown-policy",
        ),
        pytest.param(
            {"redis.sku": "Balanced_B2"},
            "fin-agent:redis.sku: not an Azure Managed Redis SKU (Balanced_B0..B1000, MemoryOptimized_M10..M2000, "
            "ComputeOptimized_X3..X700, FlashOptimized_A250..A4500) (got 'Balanced_B2')",
            id="sku-azure-does-not-offer",
        ),
        pytest.param(
            {"redis.tier": "classic", "redis.sku": "Standard_C7"},
            "fin-agent:redis.sku: not an Azure Cache for Redis SKU (Basic_C0..C6, Standard_C0..C6, Premium_P1..P5) "
            "(got 'Standard_C7')",
            id="classic-sku-azure-does-not-offer",
        ),
        pytest.param(
            {
                "redis.tier": "classic",
                "redis.sku": "Basic_C1",
                "redis.highAvailability": False,
                "redis.maxmemoryReservedMb": 50,
            },
            "fin-agent:redis.maxmemoryReservedMb: reserved memory can be set on Standard and Premium caches only, "
            "not Basic (got 50)",
            id="reserved-memory-on-basic",
        ),
        pytest.param(
            {"redis.minimumTlsVersion": "1.0"},
            "fin-agent:redis.minimumTlsVersion: TLS below 1.2 is refused (clients must use TLS 1.2 or later) "
            "(got '1.0')",
            id="tls-1.0",
        ),
        pytest.param(
            {"redis.minimumTlsVersion": "1.1"},
            "fin-agent:redis.minimumTlsVersion: TLS below 1.2 is refused (clients must use TLS 1.2 or later) "
            "(got '1.1')",
            id="tls-1.1",
        ),
        pytest.param(
            {"redis.databaseName": "cache0"},
            "fin-agent:redis.databaseName: Azure Managed Redis has exactly one database, which must be named "
            "'default' (got 'cache0')",
            id="database-not-default",
        ),
        pytest.param(
            {"redis.tier": "classic", "redis.sku": "Basic_C0", "redis.highAvailability": True},
            "fin-agent:redis.highAvailability: a Basic cache is a single node with no replica; choose a Standard or "
            "Premium SKU, or set highAvailability: false (got True)",
            id="basic-cannot-be-highly-available",
        ),
    ],
)
def test_bad_value_is_refused_with_one_message_naming_the_key(overrides: dict[str, Any], message: str) -> None:
    assert refused("dev", overrides) == [message]


def test_prod_refuses_a_cache_without_high_availability() -> None:
    assert refused("prod", {"redis.highAvailability": False}) == [
        "fin-agent:redis.highAvailability: prod caches must be replicated (highAvailability: true); a single node "
        "loses the cache on any fault (got False)"
    ]


# --- Outputs -----------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_managed_cache_output_follows_the_contract(stack: str) -> None:
    result = plan(stack)
    out = CacheOut.model_validate(result.outputs["cache"])
    cluster = result.one(CLUSTER)
    assert out.tier == "managed"
    assert out.resource_id == cluster.resource_id
    assert out.resource_id.endswith(f"/providers/Microsoft.Cache/redisEnterprise/{cluster.inputs['clusterName']}")
    assert out.database_id == f"{cluster.resource_id}/databases/default"
    assert out.host_name == f"{cluster.inputs['clusterName']}.westeurope.redis.azure.net"
    assert (out.port, out.tls, out.eviction_policy, out.auth) == (10000, True, "allkeys-lru", "entra")
    assert out.sku == result.loaded.settings.redis.sku
    assert "cache" not in result.secret_outputs


def test_classic_cache_output_follows_the_contract() -> None:
    result = plan("staging", {**CLASSIC_STANDARD, "redis.accessKeysAuthentication": True})
    out = CacheOut.model_validate(result.outputs["cache"])
    cache = result.one(CLASSIC)
    assert out.tier == "classic"
    assert out.resource_id == cache.resource_id
    assert out.database_id is None
    assert out.host_name == f"{cache.inputs['name']}.redis.cache.windows.net"
    assert (out.port, out.tls, out.eviction_policy, out.sku, out.auth) == (
        6380,
        True,
        "allkeys-lru",
        "Standard_C1",
        "access-key",
    )


def test_no_output_carries_an_access_key() -> None:
    for overrides in (
        {"redis.accessKeysAuthentication": True},
        {**CLASSIC_STANDARD, "redis.accessKeysAuthentication": True},
    ):
        result = plan("dev", overrides)
        assert "primary-key" not in repr(result.outputs)


# --- The interface the compute component consumes ------------------------------------------


@dataclass
class Declared:
    monitor: RecordingMonitor
    values: dict[str, Any]
    secret: set[str]

    def of_type(self, type_token: str) -> list[PlannedResource]:
        return [r for r in self.monitor.planned.values() if r.type == type_token]


def declare_cache(
    overrides: dict[str, Any] | None = None,
    use: Callable[[Cache], dict[str, Any]] = lambda cache: {},
    stack: str = "dev",
) -> Declared:
    """Declare only the cache under the mock engine, let `use` consume it; resolve what it returns."""
    loaded = load_settings(raw_config(stack, overrides), stack, allow_missing_secrets=True)
    monitor = RecordingMonitor(AzureMocks())
    pulumi.runtime.set_mocks(AzureMocks(), project=PROJECT, stack=stack, preview=False, monitor=monitor)
    captured: dict[str, Any] = {}

    def program() -> None:
        settings = loaded.settings
        cache = Cache(
            "cache",
            CacheArgs(
                redis=settings.redis,
                environment=settings.environment,
                resource_group_name=loaded.naming.name("resource_group"),
                location=settings.location,
                naming=loaded.naming,
                tags=standard_tags(settings, stack),
            ),
        )
        captured.update(use(cache))

    _sync_await(run_pulumi_func(program))
    values: dict[str, Any] = {}
    secret: set[str] = set()

    async def resolve() -> None:
        for key, value in captured.items():
            output = pulumi.Output.from_input(value)
            values[key] = await output.future()
            if await output.is_secret():
                secret.add(key)

    _sync_await(resolve())
    return Declared(monitor, values, secret)


def use_environment(cache: Cache) -> dict[str, Any]:
    environment = cache.container_environment()
    used: dict[str, Any] = {f"plain.{k}": v for k, v in environment.plain.items()}
    used.update({f"secret.{k}": v for k, v in environment.secret.items()})
    used["auth_mode"] = cache.connection.auth_mode
    used["tls"] = cache.connection.tls
    used["has_key"] = cache.connection.access_key is not None
    return used


def test_entra_containers_get_host_port_tls_and_mode_but_no_password() -> None:
    declared = declare_cache(use=use_environment)
    values = declared.values
    host = next(iter(declared.of_type(CLUSTER))).state["hostName"]
    assert {k: v for k, v in values.items() if k.startswith(("plain.", "secret."))} == {
        "plain.REDIS_HOST": host,
        "plain.REDIS_PORT": "10000",
        "plain.REDIS_TLS": "true",
        "plain.REDIS_AUTH_MODE": "entra",
    }
    assert (values["auth_mode"], values["tls"], values["has_key"]) == ("entra", True, False)


@pytest.mark.parametrize(
    ("overrides", "port", "key"),
    [
        ({"redis.accessKeysAuthentication": True}, "10000", "mock-amr-primary-key"),
        ({**CLASSIC_STANDARD, "redis.accessKeysAuthentication": True}, "6380", "mock-redis-primary-key"),
    ],
    ids=["managed", "classic"],
)
def test_access_key_mode_gives_containers_the_key_as_a_secret_only(
    overrides: dict[str, Any], port: str, key: str
) -> None:
    declared = declare_cache(overrides, use_environment)
    values = declared.values
    assert values["plain.REDIS_PORT"] == port
    assert values["plain.REDIS_AUTH_MODE"] == "access-key"
    assert values["secret.REDIS_PASSWORD"] == key
    assert "secret.REDIS_PASSWORD" in declared.secret
    assert not any(key in str(v) for k, v in values.items() if k.startswith("plain."))


def test_managed_grant_assigns_the_default_policy_on_the_default_database() -> None:
    declared = declare_cache(use=lambda cache: {"grant": cache.grant_data_access("backend", FAKE_PRINCIPAL).id})
    (grant,) = declared.of_type(MANAGED_GRANT)
    (cluster,) = declared.of_type(CLUSTER)
    assert grant.name == "cache-access-backend"
    assert grant.inputs == {
        "accessPolicyAssignmentName": "backend",
        "accessPolicyName": "default",
        "clusterName": cluster.inputs["clusterName"],
        "databaseName": "default",
        "resourceGroupName": cluster.inputs["resourceGroupName"],
        "user": {"objectId": FAKE_PRINCIPAL},
    }
    assert declared.values["grant"] == f"{cluster.resource_id}/databases/default/accessPolicyAssignments/backend"
    assert grant.parent_urn.endswith("fin-agent:cache:Cache::cache")
    assert not grant.protect
    assert summarize(grant) == f"Entra ID data access, policy 'default', object {FAKE_PRINCIPAL}"


def test_managed_grant_names_drop_hyphens_and_grants_are_serialized() -> None:
    def use(cache: Cache) -> dict[str, Any]:
        first = cache.grant_data_access("backend", FAKE_PRINCIPAL)
        second = cache.grant_data_access("web-app", "3c9f7b3f-2d4e-4f60-9b0c-1d2e3f4a5b6c")
        return {"first": first.urn, "second": second.urn}

    declared = declare_cache(use=use)
    by_name = {r.name: r for r in declared.of_type(MANAGED_GRANT)}
    assert by_name["cache-access-web-app"].inputs["accessPolicyAssignmentName"] == "webapp"
    assert declared.values["first"] in by_name["cache-access-web-app"].depends_on


def test_classic_grant_assigns_data_contributor() -> None:
    declared = declare_cache(
        CLASSIC_STANDARD, lambda cache: {"grant": cache.grant_data_access("backend", FAKE_PRINCIPAL).id}
    )
    (grant,) = declared.of_type(CLASSIC_GRANT)
    (cache,) = declared.of_type(CLASSIC)
    assert grant.inputs == {
        "accessPolicyAssignmentName": "backend",
        "accessPolicyName": "Data Contributor",
        "cacheName": cache.inputs["name"],
        "objectId": FAKE_PRINCIPAL,
        "objectIdAlias": "backend",
        "resourceGroupName": cache.inputs["resourceGroupName"],
    }
    assert declared.values["grant"] == f"{cache.resource_id}/accessPolicyAssignments/backend"


@pytest.mark.parametrize(
    ("overrides", "bad_name"),
    [({}, "back_end"), ({}, ""), (CLASSIC_STANDARD, "ab"), (CLASSIC_STANDARD, "-web")],
    ids=["managed-underscore", "managed-empty", "classic-too-short", "classic-leading-hyphen"],
)
def test_grant_names_azure_would_refuse_fail_before_deploying(overrides: dict[str, Any], bad_name: str) -> None:
    with pytest.raises(ValueError, match="cache access grant name"):
        declare_cache(overrides, lambda cache: {"grant": cache.grant_data_access(bad_name, FAKE_PRINCIPAL).id})


# --- The plan table shows the settings that matter ------------------------------------------


def test_plan_summaries_show_the_settings_that_matter() -> None:
    managed = plan("prod")
    assert summarize(managed.one(CLUSTER)) == (
        "Azure Managed Redis Balanced_B3, HA Enabled, TLS >= 1.2, public access Disabled"
    )
    assert summarize(managed.one(DATABASE)) == (
        "database default, eviction AllKeysLRU, Encrypted (TLS) on port 10000, EnterpriseCluster, "
        "auth Entra ID only (access keys off)"
    )
    classic = plan("prod", {**CLASSIC_STANDARD, "redis.maxmemoryReservedMb": 100})
    assert summarize(classic.one(CLASSIC)) == (
        "Azure Cache for Redis Standard C1, Redis 6, maxmemory-policy allkeys-lru, maxmemory-reserved 100 MB, "
        "TLS >= 1.2, non-TLS port off, public access Disabled, auth Entra ID only (access keys off)"
    )
