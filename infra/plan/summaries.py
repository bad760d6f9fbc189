"""One line per planned resource with the settings that matter (sizes, scale rules, policies).

Each summarizer reads the resource's inputs as the engine received them (camelCase). A type
without a summarizer shows its Azure name only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from infra.plan.runner import PlannedResource

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
