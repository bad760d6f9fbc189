"""Every rule has passing and failing fixtures, asserted the way PSRule and Checkov test theirs.

Each rule judges the whole fixture catalog (tests/fixtures/policy/catalog.py): the resources
that fail it must be exactly the expected ones, each with the expected finding; the ones it
calls not applicable likewise; every other fixture of its types passes (and there is at least
one such passing fixture per rule).
"""

from __future__ import annotations

import pytest

from checks.targets import load_targets
from infra.policy.evaluate import judge, subject_of
from infra.policy.model import StackContext
from infra.policy.rules import RULES, RULES_BY_ID
from tests.fixtures.policy.catalog import VARIANTS, catalog

CONTEXT = StackContext(targets=load_targets(), location="westeurope")

# rule id -> {failing fixture: text its finding must contain}
FAILING: dict[str, dict[str, str]] = {
    "cache-min-tls": {
        "amr-tls-unstated": "minimumTlsVersion is absent",
        "amr-tls-1.0": "minimumTlsVersion is '1.0'",
        "redis-tls-1.1": "minimumTlsVersion is '1.1'",
    },
    "cache-tls-only": {
        "amr-db-plaintext": "clientProtocol is 'Plaintext'",
        "redis-non-ssl": "enableNonSslPort is true",
    },
    "cache-private-network": {
        "amr-public": "publicNetworkAccess is 'Enabled'",
        "redis-public-default": "publicNetworkAccess is absent (Azure's default is Enabled)",
    },
    "cache-entra-auth": {
        "amr-db-keys-on": "accessKeysAuthentication is 'Enabled'",
        "amr-db-keys-unstated": "accessKeysAuthentication is absent",
        "redis-keys-on": "disableAccessKeyAuthentication is false",
        "redis-aad-off": "redisConfiguration.aadEnabled is 'false'",
    },
    "app-https-only": {"app-insecure": "configuration.ingress.allowInsecure is true"},
    "managed-identity": {
        "app-no-identity": "identity.type is absent",
        "app-identity-none": "identity.type is 'None'",
        "group-no-identity": "identity.type is absent",
    },
    "no-plain-secrets": {
        "app-credential-plain": "container 'backend': PLAID_SECRET looks like a credential but is a plain value; "
        "pass it as secretRef",
        "app-secret-value-copied": "container 'backend': STARTUP_BLOB holds the value of a secret as plain text",
        "group-credential-plain": "container 'backend': DB_PASSWORD looks like a credential but is a plain value; "
        "pass it as secureValue",
        "group-secret-value-copied": "container 'web': STARTUP_BLOB holds the value of a secret as plain text",
    },
    "appinsights-local-auth-off": {"appi-local-auth": "disableLocalAuth is false"},
    "min-replicas": {
        "app-one-replica": "template.scale.minReplicas is 1; at least 2 are required",
        "app-min-unstated": "minReplicas is absent (Container Apps' default is 0)",
    },
    "replica-bounds": {"app-max-below-min": "template.scale.maxReplicas (3) is below minReplicas (5)"},
    "health-probes": {
        "app-no-readiness": "container 'backend' has no Readiness probe",
        "app-no-probes": "container 'backend' has no Liveness or Readiness probe",
        "group-no-liveness": "container 'web' has no livenessProbe",
    },
    "zone-redundancy": {
        "env-not-zonal": "zoneRedundant is false in westeurope",
        "env-zonal-no-vnet": "vnetConfiguration.infrastructureSubnetId",
        "amr-no-ha": "highAvailability is 'Disabled'",
        "amr-legacy-no-zones": "sku Enterprise_E10 needs zones ['1', '2', '3']",
        "redis-basic": "sku Basic has a single node",
        "redis-one-zone": "zones pins the cache to 1 zone",
        "redis-no-zones-policy": "zonalAllocationPolicy is 'NoZones'",
    },
    "cache-eviction-lru": {
        "amr-db-volatile": "evictionPolicy is 'VolatileLRU'; it must be 'AllKeysLRU'",
        "amr-db-eviction-unstated": "evictionPolicy is absent (Azure's default is VolatileLRU)",
        "redis-volatile": "maxmemoryPolicy is 'volatile-lru'; it must be 'allkeys-lru'",
    },
    "container-size": {
        "app-size-unpaired": "2 vCPU / 3 Gi on Consumption: does not pair with 2.0 vCPU",
        "app-size-not-gi": "resources.memory is '4096Mi'; Container Apps takes Gi",
        "group-too-big": "the group requests 4.25 vCPU; a container group may have at most 4",
        "group-limit-below-request": "container 'backend': CPU limit 1 is below its request 1.5",
    },
    "autoscale-cpu-target": {
        "app-cpu-80": "scales at 80 %; the target table's container-cpu target is 70 %",
        "app-cpu-average-value": "metadata.type 'AverageValue'; it must be 'Utilization'",
        "app-no-cpu-rule": "template.scale.rules has no cpu rule",
    },
    "required-tags": {
        "app-untagged": "tags cost-center, owner are missing or empty",
        "rg-untagged": "tags cost-center, environment, managed-by, owner, project, stack are missing",
    },
    "log-retention": {
        "log-retention-unstated": "retentionInDays is absent",
        "log-retention-7": "retentionInDays is 7; it must be between 30 and 730 days",
    },
    "appinsights-workspace": {"appi-classic": "workspaceResourceId is absent"},
}

# rule id -> {fixture the rule does not concern: text of the reason}
NOT_APPLICABLE: dict[str, dict[str, str]] = {
    "app-https-only": {"app-no-ingress": "the app has no ingress"},
    "zone-redundancy": {"env-region-without-zones": "region northcentralus has no availability zones"},
    "container-size": {"app-profile-named": "workload profile 'dedicated' is sized on the environment"},
    "appinsights-local-auth-off": {"appi-browser": "the Application Insights JavaScript SDK cannot use Entra ID"},
}

# Passing fixtures worth naming (besides every baseline): variants a rule must accept.
MUST_PASS: dict[str, set[str]] = {
    "container-size": {"app-size-dedicated-d4"},
    "zone-redundancy": {"amr-legacy-zonal", "redis-standard-automatic"},
}


def judgements(rule_id: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    rule = RULES_BY_ID[rule_id]
    return {
        name: (j.status, j.messages)
        for name, resource in catalog().items()
        if rule.applies(resource.type)
        for j in [judge(rule, subject_of(resource), CONTEXT)]
    }


def test_every_rule_has_failing_fixtures_and_every_fixture_exists() -> None:
    assert set(FAILING) == {rule.id for rule in RULES}
    named = {name for cases in (*FAILING.values(), *NOT_APPLICABLE.values()) for name in cases}
    named |= {name for names in MUST_PASS.values() for name in names}
    assert named <= set(VARIANTS)
    assert set(catalog()) == set(VARIANTS)


@pytest.mark.parametrize("rule_id", [rule.id for rule in RULES])
def test_rule_fails_exactly_its_failing_fixtures(rule_id: str) -> None:
    results = judgements(rule_id)
    failed = {name: messages for name, (status, messages) in results.items() if status == "fail"}
    assert set(failed) == set(FAILING[rule_id])
    for name, expected in FAILING[rule_id].items():
        assert len(failed[name]) == 1, failed[name]
        assert expected in failed[name][0]


@pytest.mark.parametrize("rule_id", [rule.id for rule in RULES])
def test_rule_passes_the_rest_and_says_when_it_does_not_apply(rule_id: str) -> None:
    results = judgements(rule_id)
    skipped = {name: messages[0] for name, (status, messages) in results.items() if status == "not-applicable"}
    assert set(skipped) == set(NOT_APPLICABLE.get(rule_id, {}))
    for name, reason in NOT_APPLICABLE.get(rule_id, {}).items():
        assert reason in skipped[name]
    passed = {name for name, (status, _) in results.items() if status == "pass"}
    assert passed == set(results) - set(FAILING[rule_id]) - set(skipped)
    assert any(name.endswith("-baseline") for name in passed), f"{rule_id} has no passing baseline"
    assert MUST_PASS.get(rule_id, set()) <= passed


def test_rules_judge_only_their_types() -> None:
    untaggable = {"amr-db-baseline"}  # a Managed Redis database takes no tags
    tags_results = judgements("required-tags")
    assert untaggable.isdisjoint(tags_results)
    assert {"rg-baseline", "amr-baseline", "app-baseline", "log-baseline"} <= set(tags_results)
    assert set(judgements("log-retention")) == {"log-baseline", "log-retention-unstated", "log-retention-7"}


@pytest.mark.parametrize(
    ("type_token", "taggable"),
    [
        ("azure-native:resources:ResourceGroup", True),
        ("azure-native:monitor:MetricAlert", True),
        ("azure-native:managedidentity:UserAssignedIdentity", True),
        ("azure-native:app/v20250101:ContainerApp", True),
        ("azure-native:redisenterprise:Database", False),
        ("azure-native:keyvault:Secret", False),  # tags, but no location: a vault's child object
        ("azure-native:monitor:DiagnosticSetting", False),
        ("azure-native:authorization:RoleAssignment", False),
        ("fin-agent:compute:ContainerApps", False),
        ("random:index:RandomPet", False),
    ],
)
def test_required_tags_concern_top_level_azure_resources(type_token: str, taggable: bool) -> None:
    assert RULES_BY_ID["required-tags"].applies(type_token) is taggable


def test_the_cpu_threshold_comes_from_the_target_table() -> None:
    targets = load_targets()
    moved = targets.model_copy(
        update={
            "targets": [t.model_copy(update={"target": 80}) if t.id == "container-cpu" else t for t in targets.targets]
        }
    )
    rule = RULES_BY_ID["autoscale-cpu-target"]
    at_80 = judge(rule, subject_of(catalog()["app-cpu-80"]), StackContext(targets=moved, location="westeurope"))
    at_70 = judge(rule, subject_of(catalog()["app-baseline"]), StackContext(targets=moved, location="westeurope"))
    assert at_80.status == "pass"
    assert at_70.status == "fail"
    assert "container-cpu target is 80 %" in at_70.messages[0]


def test_no_finding_shows_a_secret_value() -> None:
    for rule in RULES:
        for _, messages in judgements(rule.id).values():
            assert all("s3cr3t" not in message and "hunter2" not in message for message in messages)


def test_every_rule_states_severity_remediation_and_scope() -> None:
    for rule in RULES:
        assert rule.remediation and rule.scope and rule.title
        assert rule.pillar in ("security", "reliability", "performance", "operations")


# --- a secret copied into a plain env var, on every stack (Key Vault stacks included) ----------------

_PLANTED_SECRET = "PLANTED-plaid-secret-0123456789"


def _plan_with_copied_secret(stack: str):
    """The stack with its secrets set, and one app's plain env holding a secret's value.

    The settings loader refuses such a copy; the plan is edited after it, as a change to the
    program would, to prove the policy catches what gets past the settings.
    """
    from pulumi.runtime import rpc

    from infra.plan.engine.runner import plan_stack
    from infra.settings import RawConfig
    from tests.conftest import raw_config

    raw = raw_config(stack)
    keys = ("supabaseUrl", "supabaseServiceKey", "plaidClientId", "plaidSecret", "marketDataApiKey", "aiApiKey")
    values = dict(raw.values) | {f"fin-agent:{k}": f"PLANTED-{k}-0123456789" for k in keys}
    values["fin-agent:plaidSecret"] = _PLANTED_SECRET
    result = plan_stack(stack, raw=RawConfig(values, raw.secret_keys | {f"fin-agent:{k}" for k in keys}))
    for resource in result.resources:
        if resource.type == "azure-native:app:ContainerApp" and resource.name.endswith("backend"):
            resource.inputs["template"]["containers"][0]["env"].append({"name": "COPY", "value": _PLANTED_SECRET})
        elif resource.type == "azure-native:containerinstance:ContainerGroup":
            containers = rpc.unwrap_rpc_secret(resource.inputs["containers"])
            containers[0]["environmentVariables"].append({"name": "COPY", "value": _PLANTED_SECRET})
            resource.inputs["containers"] = containers
    return result


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_a_secret_copied_into_a_plain_env_var_is_caught_on_every_stack(stack: str) -> None:
    from infra.policy.evaluate import evaluate_plan

    report = evaluate_plan(_plan_with_copied_secret(stack))
    messages = [f.message for f in report.findings if f.rule.id == "no-plain-secrets"]
    assert any("COPY holds the value of a secret as plain text" in m for m in messages), messages
    assert all(_PLANTED_SECRET not in f.message for f in report.findings)
    if stack == "prod":
        assert report.mandatory


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_the_crossguard_stack_policy_sees_key_vault_secrets(stack: str) -> None:
    """Under `pulumi preview --policy-pack`, a resource policy cannot see the vault; the stack policy does."""
    import pulumi_policy

    from infra.policy.crossguard import STACK_SECRETS_POLICY, policies
    from tests.conftest import opened

    result = _plan_with_copied_secret(stack)
    pack = {policy.name: policy for policy in policies(stack, "westeurope")}
    resources = [
        pulumi_policy.PolicyResource(r.type, opened(r.inputs), r.urn, r.name, None, None, None, [], {})
        for r in result.resources
        if r.custom
    ]
    reported: list[tuple[str, str | None]] = []
    pack[STACK_SECRETS_POLICY].validate(
        pulumi_policy.StackValidationArgs(resources), lambda message, urn: reported.append((message, urn))
    )
    assert [m for m, _ in reported] == [
        "container 'backend': COPY holds the value of a secret as plain text; pass it as secretRef"
    ]
    assert reported[0][1].endswith("backend")
