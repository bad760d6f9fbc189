"""The `Cache` component: the stack's Redis on either tier, and how the apps connect to it.

What the compute component consumes:
- `connection`: host name, port, TLS (always), auth mode, and the access key as a secret
  Output only in access-key mode;
- `container_environment()`: the variables each container gets (plain and secret);
- `grant_data_access(name, principal_id)`: Entra ID data access for an app's managed identity.

Prod protection: `protect=True` on the cache resources when `redis.protect` is true, or unset
in prod. Pulumi then refuses any update that would replace or delete them until someone
unprotects them on purpose. No `retain_on_delete`: the cache lives in the stack's own resource
group, so a retained cache would be deleted with the group anyway or, worse, linger unmanaged
and billed; and it holds only cached data, which the app rebuilds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi

from infra.components.cache import classic, managed
from infra.naming import Naming
from infra.settings.model import Environment, RedisSettings
from infra.settings.rules.cache import redis_policy_name

AuthMode = Literal["entra", "access-key"]


def cache_protected(redis: RedisSettings, environment: Environment) -> bool:
    """Whether the cache is protected: the setting, or prod when unset."""
    return redis.protect if redis.protect is not None else environment == "prod"


@dataclass(frozen=True)
class CacheArgs:
    redis: RedisSettings
    environment: Environment
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    naming: Naming
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CacheConnection:
    """What a container needs to reach the cache. `access_key` is a secret, or None with Entra ID."""

    host_name: pulumi.Output[str]
    port: pulumi.Output[int]
    tls: bool
    auth_mode: AuthMode
    access_key: pulumi.Output[str] | None


@dataclass(frozen=True)
class CacheEnvironment:
    """Container environment variables: `plain` values and `secret` ones (never made plain).

    REDIS_HOST, REDIS_PORT, REDIS_TLS ("true"), REDIS_AUTH_MODE ("entra" | "access-key"), and
    REDIS_PASSWORD (secret) in access-key mode only. With Entra ID the app gets a token for
    its managed identity (scope https://redis.azure.com/.default) and uses it as the password.
    """

    plain: dict[str, pulumi.Input[str]]
    secret: dict[str, pulumi.Output[str]]


class Cache(pulumi.ComponentResource):
    """Azure Managed Redis (tier `managed`, default) or Azure Cache for Redis (tier `classic`)."""

    def __init__(self, name: str, args: CacheArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("fin-agent:cache:Cache", name, None, opts)
        self._name = name
        self._redis = args.redis
        self.tier = args.redis.tier
        self.protected = cache_protected(args.redis, args.environment)
        child_opts = pulumi.ResourceOptions(parent=self, protect=self.protected)
        tier_module = managed if self.tier == "managed" else classic
        self._resources: managed.ManagedRedis | classic.ClassicRedis = tier_module.declare(
            name,
            args.redis,
            azure_name=args.naming.name("managed_redis" if self.tier == "managed" else "redis"),
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=dict(args.tags),
            opts=child_opts,
        )
        self._last_grant: pulumi.Resource | None = None

        auth_mode: AuthMode = "access-key" if args.redis.access_keys_authentication else "entra"
        self.resource_id: pulumi.Output[str] = self._resources.resource_id
        self.database_id: pulumi.Output[str] | None = self._resources.database_id
        self.connection = CacheConnection(
            host_name=self._resources.host_name,
            port=self._resources.port,
            tls=True,
            auth_mode=auth_mode,
            access_key=self._resources.access_key(self) if auth_mode == "access-key" else None,
        )
        self.register_outputs(
            {
                "tier": self.tier,
                "resourceId": self.resource_id,
                "hostName": self.connection.host_name,
                "port": self.connection.port,
            }
        )

    def container_environment(self) -> CacheEnvironment:
        connection = self.connection
        plain: dict[str, pulumi.Input[str]] = {
            "REDIS_HOST": connection.host_name,
            "REDIS_PORT": connection.port.apply(str),
            "REDIS_TLS": "true",
            "REDIS_AUTH_MODE": connection.auth_mode,
        }
        secret = {"REDIS_PASSWORD": connection.access_key} if connection.access_key is not None else {}
        return CacheEnvironment(plain, secret)

    def grant_data_access(self, name: str, principal_id: pulumi.Input[str]) -> pulumi.Resource:
        """Let the managed identity `principal_id` read and write the cache with Entra ID.

        `name` (e.g. the service, "backend") names the assignment; Managed Redis drops hyphens.
        Grants are created one after another: users report Managed Redis failing concurrent
        assignment changes on one database, and serializing them costs little.
        """
        depends_on = [self._last_grant] if self._last_grant is not None else []
        grant = self._resources.grant(
            f"{self._name}-access-{name}",
            name,
            principal_id,
            pulumi.ResourceOptions(parent=self, depends_on=depends_on),
        )
        self._last_grant = grant
        return grant

    def stack_output(self) -> dict[str, Any]:
        """The `cache` stack output, as `checks.outputs.CacheOut` reads it."""
        return {
            "tier": self.tier,
            "resourceId": self.resource_id,
            "databaseId": self.database_id,
            "hostName": self.connection.host_name,
            "port": self.connection.port,
            "tls": self.connection.tls,
            "evictionPolicy": redis_policy_name(self._redis.eviction_policy),
            "sku": self._redis.sku,
            "auth": self.connection.auth_mode,
        }
