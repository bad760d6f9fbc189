"""The performance guide's numbers (see DESIGN.md), as the defaults under every stack file.

A stack file states only what differs from these. They are merged key by key (a stack's value
wins; lists and scalars replace), then validated as a whole. Autoscale defaults apply only on
Container Apps: container groups have no autoscale, and asking for it there is an error.
"""

from __future__ import annotations

import copy
from typing import Any

HEALTH_PROBE_TIMINGS: dict[str, int] = {
    "initialDelaySeconds": 5,
    "periodSeconds": 10,
    "timeoutSeconds": 3,
    "failureThreshold": 3,
}

BASE_DEFAULTS: dict[str, Any] = {
    "owner": "platform-engineering",
    "costCenter": "fin-agent",
    "compute": {"platform": "containerapps"},
    "services": {
        "backend": {
            # OTEL_SERVICE_NAME: how Application Insights tells the backend's telemetry apart.
            "roleName": "backend",
            "port": 3001,
            "healthPath": "/health",
            "ingress": "external",
            "resources": {
                "requests": {"cpu": 1.5, "memoryGb": 3},
                "limits": {"cpu": 2, "memoryGb": 4},
            },
            "probes": HEALTH_PROBE_TIMINGS,
            # environment variable -> secret config key (set with `pulumi config set --secret`)
            "secrets": {
                "SUPABASE_URL": "supabaseUrl",
                "SUPABASE_SERVICE_KEY": "supabaseServiceKey",
                "PLAID_CLIENT_ID": "plaidClientId",
                "PLAID_SECRET": "plaidSecret",
                "MARKET_DATA_API_KEY": "marketDataApiKey",
                "AI_API_KEY": "aiApiKey",
            },
        },
        "web": {
            "roleName": "web",
            "port": 3000,
            "healthPath": "/health",
            "ingress": "external",
            "resources": {
                "requests": {"cpu": 0.5, "memoryGb": 1},
                "limits": {"cpu": 1, "memoryGb": 2},
            },
            "probes": HEALTH_PROBE_TIMINGS,
        },
    },
    "redis": {
        "tier": "managed",
        "sku": "Balanced_B1",
        "evictionPolicy": "allkeys-lru",
        "minimumTlsVersion": "1.2",
        "maxmemorySamples": 10,
        "timeout": 300,
        "tcpKeepalive": 60,
    },
    "monitoring": {"logRetentionDays": 30},
}

# At least 2 and at most 10 replicas; scale out by 2 when average CPU over 5 minutes exceeds
# 70 % (1-minute grain); 5-minute cooldown. HTTP concurrency and polling are Container Apps'
# own knobs (KEDA's default polling interval is 30 s).
AUTOSCALE_DEFAULTS: dict[str, Any] = {
    "minReplicas": 2,
    "maxReplicas": 10,
    "cpuUtilization": 70,
    "httpConcurrency": 100,
    "cooldownSeconds": 300,
    "pollingSeconds": 30,
    "scaleOutStep": 2,
    "cpuWindowMinutes": 5,
}


def deep_merge(base: Any, override: Any) -> Any:
    """Return `override` laid over `base`: mappings merge recursively, anything else replaces."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = deep_merge(base[key], value) if key in base else value
        return merged
    return copy.deepcopy(override)


def with_defaults(stack_values: dict[str, Any]) -> dict[str, Any]:
    """The stack's values over the guide's defaults, ready for validation."""
    merged = deep_merge(copy.deepcopy(BASE_DEFAULTS), stack_values)
    compute = merged.get("compute")
    platform = compute.get("platform") if isinstance(compute, dict) else None
    if platform == "containerapps":
        merged["autoscale"] = deep_merge(copy.deepcopy(AUTOSCALE_DEFAULTS), merged.get("autoscale") or {})
    return merged
