"""Cache rules: SKUs, eviction policy, TLS and server settings as Azure's Redis services take them.

Two tiers: `managed` is Azure Managed Redis (Microsoft.Cache/redisEnterprise, one database that
must be named `default`); `classic` is Azure Cache for Redis (Microsoft.Cache/redis, retiring
2028-09-30). The guide's `maxmemory-samples`, `timeout` and `tcp-keepalive` cannot be set on
either tier: they are accepted for fidelity and reported, or refused when `strict` is true.

Sources: ../shared/reference/azure-facts.md §3a, §3b.
"""

from __future__ import annotations

import re

from infra.settings.model import RedisSettings, StackSettings
from infra.settings.problems import Problem

# Redis spelling -> Azure Managed Redis enum (redisenterprise EvictionPolicy).
EVICTION_POLICIES: dict[str, str] = {
    "allkeys-lru": "AllKeysLRU",
    "allkeys-lfu": "AllKeysLFU",
    "allkeys-random": "AllKeysRandom",
    "volatile-lru": "VolatileLRU",
    "volatile-lfu": "VolatileLFU",
    "volatile-ttl": "VolatileTTL",
    "volatile-random": "VolatileRandom",
    "noeviction": "NoEviction",
}
_BY_AZURE_NAME = {azure.lower(): redis for redis, azure in EVICTION_POLICIES.items()}

MANAGED_SKU = re.compile(
    r"^(Balanced_B(0|1|3|5|10|20|50|100|150|250|350|500|700|1000)"
    r"|MemoryOptimized_M(10|20|50|100|150|250|350|500|700|1000|1500|2000)"
    r"|ComputeOptimized_X(3|5|10|20|50|100|150|250|350|500|700)"
    r"|FlashOptimized_A(250|500|700|1000|1500|2000|4500))$"
)
LEGACY_ENTERPRISE_SKU = re.compile(r"^(Enterprise_E\d+|EnterpriseFlash_F\d+)$")
# Azure Cache for Redis: Basic/Standard C0-C6, Premium P1-P5.
CLASSIC_SKU = re.compile(r"^(?P<name>Basic|Standard)_C(?P<capacity>[0-6])$|^(?P<premium>Premium)_P(?P<pcap>[1-5])$")
SUPPORTED_TLS = {"1.2"}
CLASSIC_RETIREMENT = "2028-09-30"


# The settings sections (field names) these rules read.
SECTIONS = frozenset({"redis", "environment"})


def redis_policy_name(value: str) -> str | None:
    """The Redis spelling (allkeys-lru) of a policy given in either spelling, or None."""
    lowered = value.strip().lower()
    if lowered in EVICTION_POLICIES:
        return lowered
    return _BY_AZURE_NAME.get(lowered)


def managed_policy_name(value: str) -> str:
    """Azure Managed Redis' name (AllKeysLRU) for a validated policy."""
    return EVICTION_POLICIES[redis_policy_name(value) or value]


def classic_sku_parts(sku: str) -> tuple[str, str, int]:
    """(name, family, capacity) of a validated classic SKU such as Standard_C1."""
    match = CLASSIC_SKU.match(sku)
    if match is None:
        raise ValueError(f"not a classic Redis SKU: {sku}")
    if match.group("premium"):
        return "Premium", "P", int(match.group("pcap"))
    return match.group("name"), "C", int(match.group("capacity"))


def unsettable_guide_settings(redis: RedisSettings) -> list[tuple[str, int]]:
    """The guide's server settings present in the stack, none of which Azure lets anyone set."""
    present = [
        ("maxmemorySamples", redis.maxmemory_samples),
        ("timeout", redis.timeout),
        ("tcpKeepalive", redis.tcp_keepalive),
    ]
    return [(key, value) for key, value in present if value is not None]


def _tier_label(redis: RedisSettings) -> str:
    return "Azure Managed Redis" if redis.tier == "managed" else "Azure Cache for Redis"


def check(settings: StackSettings) -> list[Problem]:
    redis = settings.redis
    problems: list[Problem] = []
    if redis_policy_name(redis.eviction_policy) is None:
        problems.append(
            Problem(
                "redis.evictionPolicy",
                "unknown eviction policy; use one of " + ", ".join(EVICTION_POLICIES),
                redis.eviction_policy,
            )
        )
    if redis.minimum_tls_version not in SUPPORTED_TLS:
        below = redis.minimum_tls_version in {"1.0", "1.1"}
        problems.append(
            Problem(
                "redis.minimumTlsVersion",
                "TLS below 1.2 is refused (clients must use TLS 1.2 or later)"
                if below
                else 'unknown TLS version; use "1.2"',
                redis.minimum_tls_version,
            )
        )
    if redis.tier == "managed":
        problems += _check_managed(redis)
    else:
        problems += _check_classic(redis)
    if settings.environment == "prod" and not redis.high_availability:
        problems.append(
            Problem(
                "redis.highAvailability",
                "prod caches must be replicated (highAvailability: true); a single node loses the cache on any fault",
                redis.high_availability,
            )
        )
    if redis.strict:
        for key, value in unsettable_guide_settings(redis):
            problems.append(
                Problem(
                    f"redis.{key}",
                    f"cannot be set on {_tier_label(redis)} (strict mode); remove it or turn strict off",
                    value,
                )
            )
    return problems


def _check_managed(redis: RedisSettings) -> list[Problem]:
    problems = []
    if LEGACY_ENTERPRISE_SKU.match(redis.sku):
        problems.append(
            Problem(
                "redis.sku",
                "Enterprise and Enterprise Flash retire on 2027-03-31; choose an Azure Managed "
                "Redis SKU such as Balanced_B1",
                redis.sku,
            )
        )
    elif not MANAGED_SKU.match(redis.sku):
        problems.append(
            Problem(
                "redis.sku",
                "not an Azure Managed Redis SKU (Balanced_B0..B1000, MemoryOptimized_M10..M2000, "
                "ComputeOptimized_X3..X700, FlashOptimized_A250..A4500)",
                redis.sku,
            )
        )
    if redis.database_name != "default":
        problems.append(
            Problem(
                "redis.databaseName",
                "Azure Managed Redis has exactly one database, which must be named 'default'",
                redis.database_name,
            )
        )
    for key, value in (
        ("maxmemoryReservedMb", redis.maxmemory_reserved_mb),
        ("maxfragmentationmemoryReservedMb", redis.maxfragmentationmemory_reserved_mb),
    ):
        if value is not None:
            problems.append(Problem(f"redis.{key}", "applies to Azure Cache for Redis (tier classic) only", value))
    return problems


def _check_classic(redis: RedisSettings) -> list[Problem]:
    problems = []
    if not CLASSIC_SKU.match(redis.sku):
        problems.append(
            Problem(
                "redis.sku",
                "not an Azure Cache for Redis SKU (Basic_C0..C6, Standard_C0..C6, Premium_P1..P5)",
                redis.sku,
            )
        )
        return problems
    name, _, _ = classic_sku_parts(redis.sku)
    if name == "Basic" and redis.high_availability:
        problems.append(
            Problem(
                "redis.highAvailability",
                "a Basic cache is a single node with no replica; choose a Standard or Premium SKU, "
                "or set highAvailability: false",
                redis.high_availability,
            )
        )
    if name == "Basic":
        for key, value in (
            ("maxmemoryReservedMb", redis.maxmemory_reserved_mb),
            ("maxfragmentationmemoryReservedMb", redis.maxfragmentationmemory_reserved_mb),
        ):
            if value is not None:
                problems.append(
                    Problem(
                        f"redis.{key}",
                        "reserved memory can be set on Standard and Premium caches only, not Basic",
                        value,
                    )
                )
    if redis.database_name != "default":
        problems.append(Problem("redis.databaseName", "only 'default' is supported (database 0)", redis.database_name))
    return problems


def notices(settings: StackSettings) -> list[str]:
    redis = settings.redis
    found = []
    if redis.tier == "classic":
        found.append(
            f"redis.tier=classic: Azure Cache for Redis retires on {CLASSIC_RETIREMENT} and tenants "
            "without an existing cache can no longer create one; prefer tier managed (Azure Managed Redis)"
        )
    if redis.tier == "classic" and not redis.high_availability and redis.sku.startswith(("Standard_", "Premium_")):
        found.append(
            "redis.highAvailability=false has no effect on Azure Cache for Redis Standard and Premium: "
            "they always run a replica (only Basic is a single node)"
        )
    if not redis.strict:
        for key, value in unsettable_guide_settings(redis):
            found.append(
                f"redis.{key}={value} is accepted for fidelity to the guide but not sent: "
                f"{_tier_label(redis)} does not let anyone set it"
            )
    return found
