"""Azure Cache for Redis (Microsoft.Cache/redis): one cache, TLS only, Redis 6, Entra ID on.

Retiring on 2028-09-30 and closed to tenants without an existing cache (the settings rules
say so at preview time). The eviction policy is sent in Redis' spelling as
`maxmemory-policy`; reserved memory only when set, and only Standard and Premium accept it
(the settings rules refuse it on Basic). Entra ID (`aad-enabled`) stays on in both auth
modes, so the data access policy assignments work; access keys are off unless the settings
turn them on.

Data access: the built-in "Data Contributor" policy. "Data Reader" cannot write and "Data
Owner" adds full command access the app does not need; Contributor reads and writes keys.

Sources: ../../../shared/reference/azure-facts.md §3a; bicep-types redis 2024-11-01.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import redis as azure_redis

from infra.settings.model import RedisSettings
from infra.settings.rules.cache import classic_sku_parts, redis_policy_name

DATA_ACCESS_POLICY = "Data Contributor"
# accessPolicyAssignments names: 3-63 letters, digits and inner hyphens (API 2024-11-01).
ASSIGNMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{1,61}[A-Za-z0-9]$")


def redis_configuration(redis: RedisSettings) -> azure_redis.RedisCommonPropertiesRedisConfigurationArgs:
    """`redisConfiguration` as ARM takes it; the guide's unsettable settings are never here."""
    name, _, _ = classic_sku_parts(redis.sku)
    reserved = name != "Basic"
    return azure_redis.RedisCommonPropertiesRedisConfigurationArgs(
        maxmemory_policy=redis_policy_name(redis.eviction_policy),
        maxmemory_reserved=str(redis.maxmemory_reserved_mb)
        if reserved and redis.maxmemory_reserved_mb is not None
        else None,
        maxfragmentationmemory_reserved=str(redis.maxfragmentationmemory_reserved_mb)
        if reserved and redis.maxfragmentationmemory_reserved_mb is not None
        else None,
        aad_enabled="true",
    )


@dataclass(frozen=True)
class ClassicRedis:
    cache: azure_redis.Redis
    resource_group_name: pulumi.Input[str]

    @property
    def resource_id(self) -> pulumi.Output[str]:
        return self.cache.id

    @property
    def database_id(self) -> None:
        return None

    @property
    def host_name(self) -> pulumi.Output[str]:
        return self.cache.host_name

    @property
    def port(self) -> pulumi.Output[int]:
        return self.cache.ssl_port.apply(int)  # the non-TLS port is off

    def access_key(self, parent: pulumi.Resource) -> pulumi.Output[str]:
        keys = azure_redis.list_redis_keys_output(
            name=self.cache.name,
            resource_group_name=self.resource_group_name,
            opts=pulumi.InvokeOutputOptions(parent=parent),
        )
        return pulumi.Output.secret(keys.primary_key)

    def grant(
        self, resource_name: str, grant_name: str, principal_id: pulumi.Input[str], opts: pulumi.ResourceOptions
    ) -> azure_redis.AccessPolicyAssignment:
        if not ASSIGNMENT_NAME.match(grant_name):
            raise ValueError(
                f"cache access grant name {grant_name!r}: Azure Cache for Redis assignment names are 3-63 "
                "letters, digits and inner hyphens"
            )
        return azure_redis.AccessPolicyAssignment(
            resource_name,
            access_policy_assignment_name=grant_name,
            access_policy_name=DATA_ACCESS_POLICY,
            cache_name=self.cache.name,
            object_id=principal_id,
            object_id_alias=grant_name,
            resource_group_name=self.resource_group_name,
            opts=opts,
        )


def declare(
    name: str,
    redis: RedisSettings,
    *,
    azure_name: str,
    resource_group_name: pulumi.Input[str],
    location: pulumi.Input[str],
    tags: dict[str, str],
    opts: pulumi.ResourceOptions,
) -> ClassicRedis:
    sku_name, family, capacity = classic_sku_parts(redis.sku)
    cache = azure_redis.Redis(
        f"{name}-redis",
        name=azure_name,
        resource_group_name=resource_group_name,
        location=location,
        sku=azure_redis.SkuArgs(name=sku_name, family=family, capacity=capacity),
        enable_non_ssl_port=False,
        minimum_tls_version=redis.minimum_tls_version,
        redis_version=redis.redis_version,
        public_network_access="Enabled" if redis.public_network_access else "Disabled",
        disable_access_key_authentication=not redis.access_keys_authentication,
        redis_configuration=redis_configuration(redis),
        tags=tags,
        opts=opts,
    )
    return ClassicRedis(cache, resource_group_name)
