"""Stack settings: the stack files load, bad input is refused with the key named, nothing is created."""

from __future__ import annotations

import pytest

from infra.plan.engine.runner import run_entrypoint
from infra.settings import SettingsError, load_settings
from tests.conftest import DELETE, STACKS, raw_config

SECRET = {"secure": "v1:encrypted"}

# (id, stack, overrides, the config key the error must name)
MALFORMED = [
    ("wrong-type-port", "dev", {"services.backend.port": "http"}, "fin-agent:services.backend.port"),
    ("unknown-top-level-key", "dev", {"servces": {"backend": {}}}, "fin-agent:servces"),
    ("unknown-nested-key", "dev", {"services.backend.imgae": "x/y:1"}, "fin-agent:services.backend.imgae"),
    (
        "negative-cpu",
        "dev",
        {"services.backend.resources.limits.cpu": -1},
        "fin-agent:services.backend.resources.limits.cpu",
    ),
    (
        "zero-memory",
        "dev",
        {"services.web.resources.requests.memoryGb": 0},
        "fin-agent:services.web.resources.requests.memoryGb",
    ),
    ("min-above-max-replicas", "staging", {"autoscale.minReplicas": 12}, "fin-agent:autoscale.minReplicas"),
    ("unknown-eviction-policy", "dev", {"redis.evictionPolicy": "lru-all"}, "fin-agent:redis.evictionPolicy"),
    ("missing-image", "dev", {"services.web.image": DELETE}, "fin-agent:services.web.image"),
    ("bad-location", "dev", {"location": "middleearth"}, "fin-agent:location"),
    ("secret-in-plain-text", "dev", {"supabaseUrl": "https://abc.supabase.co"}, "fin-agent:supabaseUrl"),
    (
        "credential-as-plain-env",
        "dev",
        {"services.backend.env.PLAID_SECRET": "abc"},
        "fin-agent:services.backend.env.PLAID_SECRET",
    ),
    ("unknown-environment", "dev", {"environment": "qa"}, "fin-agent:environment"),
    ("unknown-platform", "dev", {"compute.platform": "kubernetes"}, "fin-agent:compute.platform"),
    ("port-out-of-range", "dev", {"services.web.port": 70000}, "fin-agent:services.web.port"),
    ("malformed-image", "dev", {"services.backend.image": "Not An Image!"}, "fin-agent:services.backend.image"),
    (
        "health-path-without-slash",
        "dev",
        {"services.backend.healthPath": "health"},
        "fin-agent:services.backend.healthPath",
    ),
    ("log-retention-too-short", "dev", {"monitoring.logRetentionDays": 7}, "fin-agent:monitoring.logRetentionDays"),
    ("tag-overrides-standard-tag", "dev", {"tags.environment": "prod"}, "fin-agent:tags.environment"),
    ("tls-below-1.2", "dev", {"redis.minimumTlsVersion": "1.0"}, "fin-agent:redis.minimumTlsVersion"),
    ("sku-azure-does-not-offer", "dev", {"redis.sku": "Balanced_B2"}, "fin-agent:redis.sku"),
    ("database-not-default", "dev", {"redis.databaseName": "cache0"}, "fin-agent:redis.databaseName"),
    (
        "reserved-memory-on-basic",
        "dev",
        {"redis.tier": "classic", "redis.sku": "Basic_C0", "redis.maxmemoryReservedMb": 50},
        "fin-agent:redis.maxmemoryReservedMb",
    ),
    ("section-of-wrong-type", "dev", {"redis": "big"}, "fin-agent:redis"),
    ("name-suffix-uppercase", "dev", {"nameSuffix": "ABC"}, "fin-agent:nameSuffix"),
    ("settings-key-stored-as-secret", "dev", {"owner": SECRET}, "fin-agent:owner"),
    (
        "email-receiver-not-an-address",
        "staging",
        {"monitoring.receivers.emails": [{"name": "ops", "address": "ops"}]},
        "fin-agent:monitoring.receivers.emails[0].address",
    ),
    (
        "webhook-url-in-plain-text",
        "staging",
        {
            "monitoring.receivers.webhooks": [{"name": "ops", "urlSecret": "opsWebhookUrl"}],
            "opsWebhookUrl": "https://hooks.example/x",
        },
        "fin-agent:opsWebhookUrl",
    ),
    ("legacy-enterprise-sku", "dev", {"redis.sku": "Enterprise_E10"}, "fin-agent:redis.sku"),
    (
        "env-and-secret-collide",
        "dev",
        {"services.backend.env.SUPABASE_URL": "x"},
        "fin-agent:services.backend.env.SUPABASE_URL",
    ),
    # sizing and scaling (Container Apps and container groups)
    (
        "aca-1.3-vcpu",
        "staging",
        {"services.backend.resources.limits": {"cpu": 1.3, "memoryGb": 2.6}},
        "fin-agent:services.backend.resources.limits.cpu",
    ),
    (
        "aca-1.5-vcpu-with-3.5-gi",
        "staging",
        {"services.backend.resources.limits": {"cpu": 1.5, "memoryGb": 3.5}},
        "fin-agent:services.backend.resources.limits.memoryGb",
    ),
    (
        "aca-over-4-vcpu",
        "staging",
        {"services.backend.resources.limits": {"cpu": 4.5, "memoryGb": 9}},
        "fin-agent:services.backend.resources.limits.cpu",
    ),
    (
        "aca-dedicated-too-big",
        "staging",
        {
            "compute.containerApps.workloadProfile": "D4",
            "services.backend.resources.limits": {"cpu": 2, "memoryGb": 20},
        },
        "fin-agent:services.backend.resources.limits.memoryGb",
    ),
    ("max-replicas-over-1000", "staging", {"autoscale.maxReplicas": 1001}, "fin-agent:autoscale.maxReplicas"),
    ("cpu-threshold-zero", "staging", {"autoscale.cpuUtilization": 0}, "fin-agent:autoscale.cpuUtilization"),
    ("cpu-threshold-over-100", "staging", {"autoscale.cpuUtilization": 101}, "fin-agent:autoscale.cpuUtilization"),
    ("min-replicas-zero-with-cpu-rule", "staging", {"autoscale.minReplicas": 0}, "fin-agent:autoscale.minReplicas"),
    ("http-concurrency-zero", "staging", {"autoscale.httpConcurrency": 0}, "fin-agent:autoscale.httpConcurrency"),
    (
        "limit-below-request",
        "dev",
        {"services.web.resources.limits.cpu": 0.25},
        "fin-agent:services.web.resources.limits.cpu",
    ),
    (
        "group-over-4-vcpu",
        "dev",
        {
            "services.backend.resources": {
                "requests": {"cpu": 3.75, "memoryGb": 3},
                "limits": {"cpu": 3.75, "memoryGb": 4},
            }
        },
        "fin-agent:services",
    ),
    (
        "group-over-16-gb",
        "dev",
        {
            "services.backend.resources": {
                "requests": {"cpu": 1.5, "memoryGb": 15.5},
                "limits": {"cpu": 2, "memoryGb": 15.5},
            }
        },
        "fin-agent:services",
    ),
    (
        "container-limit-above-group-request",
        "dev",
        {"services.web.resources.limits.cpu": 2.5},
        "fin-agent:services.web.resources.limits.cpu",
    ),
    (
        "autoscale-on-containerinstances",
        "dev",
        {"autoscale": {"minReplicas": 2, "maxReplicas": 10}},
        "fin-agent:autoscale",
    ),
    (
        "zone-redundant-without-zones",
        "staging",
        {"location": "westcentralus", "compute.containerApps.zoneRedundant": True},
        "fin-agent:compute.containerApps.zoneRedundant",
    ),
    (
        "group-settings-on-containerapps",
        "staging",
        {"compute.containerInstances.groupCount": 2},
        "fin-agent:compute.containerInstances",
    ),
    (
        "probe-delay-over-60",
        "staging",
        {"services.backend.probes.initialDelaySeconds": 90},
        "fin-agent:services.backend.probes.initialDelaySeconds",
    ),
]


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_file_loads(stack: str) -> None:
    loaded = load_settings(raw_config(stack), stack, allow_missing_secrets=True)
    assert loaded.settings.environment == stack


def test_stack_files_state_only_what_differs_from_the_guide() -> None:
    prod = load_settings(raw_config("prod"), "prod", allow_missing_secrets=True).settings
    backend, web = prod.services.backend.resources, prod.services.web.resources
    assert (backend.requests.cpu, backend.requests.memory_gb, backend.limits.cpu, backend.limits.memory_gb) == (
        1.5,
        3,
        2,
        4,
    )
    assert (web.requests.cpu, web.requests.memory_gb, web.limits.cpu, web.limits.memory_gb) == (0.5, 1, 1, 2)
    assert prod.autoscale is not None
    assert (prod.autoscale.min_replicas, prod.autoscale.max_replicas, prod.autoscale.cpu_utilization) == (2, 10, 70)
    assert prod.autoscale.cooldown_seconds == 300
    assert prod.redis.eviction_policy == "allkeys-lru"


def test_container_groups_get_no_autoscale_default() -> None:
    dev = load_settings(raw_config("dev"), "dev", allow_missing_secrets=True).settings
    assert dev.compute.platform == "containerinstances"
    assert dev.autoscale is None


@pytest.mark.parametrize(("case", "stack", "overrides", "key"), MALFORMED, ids=[c[0] for c in MALFORMED])
def test_malformed_config_is_refused_naming_the_key(case: str, stack: str, overrides: dict, key: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(raw_config(stack, overrides), stack, allow_missing_secrets=True)
    keys = [problem.key for problem in caught.value.problems]
    assert key in keys, f"{case}: expected a problem for {key}, got {keys}"
    assert key in str(caught.value)


@pytest.mark.parametrize(("case", "stack", "overrides", "key"), MALFORMED, ids=[c[0] for c in MALFORMED])
def test_malformed_config_registers_no_resource(case: str, stack: str, overrides: dict, key: str) -> None:
    """Through the real entry point `pulumi up` runs: refused before any resource exists."""
    raw = raw_config(stack, overrides)
    with pytest.raises(SettingsError):
        monitor = run_entrypoint(raw, stack)
        pytest.fail(f"{case}: accepted, registered {len(monitor.planned)} resources")


def test_all_problems_are_reported_together() -> None:
    raw = raw_config(
        "staging",
        {"services.backend.port": 0, "redis.evictionPolicy": "sometimes", "autoscale.maxReplicas": 5000},
    )
    with pytest.raises(SettingsError) as caught:
        load_settings(raw, "staging", allow_missing_secrets=True)
    message = str(caught.value)
    for key in ("fin-agent:services.backend.port", "fin-agent:redis.evictionPolicy", "fin-agent:autoscale.maxReplicas"):
        assert key in message
    assert "3 problems" in message


def test_unknown_key_suggests_the_closest_setting() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(raw_config("dev", {"services.backend.helthPath": "/health"}), "dev", allow_missing_secrets=True)
    assert "did you mean 'healthPath'" in str(caught.value)


def test_missing_secret_is_refused_by_pulumi_up_but_planned_with_a_notice() -> None:
    raw = raw_config("dev")
    with pytest.raises(SettingsError) as caught:
        load_settings(raw, "dev")
    assert "fin-agent:supabaseUrl: is used as a secret by services.backend.secrets.SUPABASE_URL but is not set" in str(
        caught.value
    )
    loaded = load_settings(raw, "dev", allow_missing_secrets=True)
    assert "supabaseUrl" in loaded.missing_secrets
    assert any("supabaseUrl" in notice for notice in loaded.notices)


def test_secrets_are_read_as_secrets_and_never_printed() -> None:
    secrets = {
        key: {"secure": "v1:x"}
        for key in ("supabaseUrl", "supabaseServiceKey", "plaidClientId", "plaidSecret", "marketDataApiKey", "aiApiKey")
    }
    loaded = load_settings(raw_config("dev", secrets), "dev")
    assert loaded.missing_secrets == []
    assert set(loaded.secrets) == set(secrets)
    assert "[secret]" not in repr(loaded.secrets)  # SecretStr hides the value


def test_a_refused_secret_value_is_not_echoed() -> None:
    raw = raw_config("dev", {"plaidSecret": "live-plaid-value-123"})
    with pytest.raises(SettingsError) as caught:
        load_settings(raw, "dev", allow_missing_secrets=True)
    assert "fin-agent:plaidSecret" in str(caught.value)
    assert "live-plaid-value-123" not in str(caught.value)


def test_sizes_are_never_rounded() -> None:
    raw = raw_config("staging", {"services.web.resources.limits": {"cpu": 1.1, "memoryGb": 2.2}})
    with pytest.raises(SettingsError) as caught:
        load_settings(raw, "staging", allow_missing_secrets=True)
    assert "(got 1.1)" in str(caught.value)
