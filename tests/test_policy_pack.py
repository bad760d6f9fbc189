"""The real policy pack: the pack directory served by pulumi-policy, spoken to as the engine does.

Each test starts `python -u infra/policy/pack` (what Pulumi runs for `--policy-pack`), with
the environment the engine gives an analyzer (PULUMI_STACK, PULUMI_CONFIG), reads the port
it prints, and calls the Analyzer gRPC service: GetAnalyzerInfo, Configure, Analyze. The
resources sent are the fixture catalog's engine inputs, so the pack and the offline
evaluation are compared on the same property bags.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import grpc
import pytest
import yaml
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime import proto
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from checks.targets import load_targets
from infra.paths import REPO_ROOT
from infra.policy.crossguard import PACK_DIR, STACK_SECRETS_POLICY, engine_stack, pack_config
from infra.policy.evaluate import judge, subject_of
from infra.policy.model import StackContext
from infra.policy.preconditions import STACK_RULES
from infra.policy.preconditions.evaluate import evaluate_stack, plan_view
from infra.policy.preconditions.model import StackFacts, StackView
from infra.policy.rules import RULES, RULES_BY_ID
from tests.conftest import STACKS, plan, raw_config
from tests.fixtures.policy.catalog import catalog

UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
SEVERITIES = {
    "low": proto.POLICY_SEVERITY_LOW,
    "medium": proto.POLICY_SEVERITY_MEDIUM,
    "high": proto.POLICY_SEVERITY_HIGH,
    "critical": proto.POLICY_SEVERITY_CRITICAL,
}


@contextmanager
def pack_server(stack: str, config: dict[str, str] | None = None) -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    env = dict(
        os.environ,
        PULUMI_PROJECT="fin-agent",
        PULUMI_STACK=stack,
        PULUMI_DRY_RUN="true",
        PULUMI_CONFIG=json.dumps(config or {"fin-agent:location": "westeurope"}),
    )
    server = subprocess.Popen(
        [sys.executable, "-u", str(PACK_DIR)], stdout=subprocess.PIPE, env=env, cwd=PACK_DIR, text=True
    )
    try:
        port = int(server.stdout.readline())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        server.kill()
        server.wait(timeout=10)


def analyze(stub: analyzer_pb2_grpc.AnalyzerStub, type_token: str, name: str, inputs: dict) -> proto.AnalyzeResponse:
    properties = struct_pb2.Struct()
    json_format.ParseDict(inputs, properties)
    urn = f"urn:pulumi:prod::fin-agent::{type_token}::{name}"
    return stub.Analyze(proto.AnalyzeRequest(type=type_token, properties=properties, urn=urn, name=name))


@pytest.fixture(scope="module")
def prod_pack() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    with pack_server("prod") as stub:
        yield stub


def test_the_pack_describes_every_rule(prod_pack: analyzer_pb2_grpc.AnalyzerStub) -> None:
    info = prod_pack.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "fin-agent"
    policies = {policy.name: policy for policy in info.policies}
    assert set(policies) == {rule.id for rule in RULES} | {rule.id for rule in STACK_RULES} | {STACK_SECRETS_POLICY}
    for rule in RULES:
        policy = policies[rule.id]
        assert policy.description == rule.title
        assert policy.remediation_steps == rule.remediation
        assert policy.severity == SEVERITIES[rule.severity.value]
        assert list(policy.tags) == [rule.pillar]
        assert policy.enforcementLevel == proto.MANDATORY


def test_the_pack_and_the_offline_plan_agree_on_every_fixture(prod_pack: analyzer_pb2_grpc.AnalyzerStub) -> None:
    context = StackContext(targets=load_targets(), location="westeurope")
    checked_violations = 0
    for name, resource in catalog().items():
        response = analyze(prod_pack, resource.type, name, resource.inputs)
        reported = sorted((d.policyName, d.message) for d in response.diagnostics)
        skipped = sorted((n.policy_name, n.reason) for n in response.not_applicable)
        expected, expected_skipped = [], []
        for rule in RULES:
            if not rule.applies(resource.type):
                continue
            judgement = judge(rule, subject_of(resource), context)
            if judgement.status == "fail":
                expected += [(rule.id, f"{rule.title}\n{message}") for message in judgement.messages]
            elif judgement.status == "not-applicable":
                expected_skipped.append((rule.id, judgement.messages[0]))
        assert reported == sorted(expected), name
        assert skipped == sorted(expected_skipped), name
        assert all(d.enforcementLevel == proto.MANDATORY for d in response.diagnostics)
        checked_violations += len(expected)
    assert checked_violations >= len(RULES)


def test_a_value_unknown_during_preview_is_reported_as_not_decidable(prod_pack) -> None:
    inputs = dict(catalog()["amr-baseline"].inputs, publicNetworkAccess=UNKNOWN_STRING)
    response = analyze(prod_pack, "azure-native:redisenterprise:RedisEnterprise", "amr-unknown", inputs)
    [diagnostic] = response.diagnostics
    assert diagnostic.policyName == "cache-private-network"
    assert "can't run policy 'cache-private-network'" in diagnostic.message
    assert ".publicNetworkAccess can't be known during preview" in diagnostic.message
    assert diagnostic.enforcementLevel == proto.ADVISORY


def test_an_unknown_value_a_rule_does_not_read_changes_nothing(prod_pack) -> None:
    inputs = dict(catalog()["app-insecure"].inputs, environmentId=UNKNOWN_STRING)
    response = analyze(prod_pack, "azure-native:app:ContainerApp", "app-insecure", inputs)
    assert [d.policyName for d in response.diagnostics] == ["app-https-only"]


def test_dev_is_advisory_and_a_pack_config_pins_levels() -> None:
    failing = catalog()["amr-public"]
    with pack_server("dev") as stub:
        info = stub.GetAnalyzerInfo(empty_pb2.Empty())
        assert {policy.enforcementLevel for policy in info.policies if policy.name in RULES_BY_ID} == {proto.ADVISORY}
        # The preconditions stay mandatory in dev: each predicts a failed first deploy.
        assert {p.name for p in info.policies if p.enforcementLevel == proto.MANDATORY} == {
            rule.id for rule in STACK_RULES if rule.level == "mandatory"
        }
        response = analyze(stub, failing.type, "amr-public", failing.inputs)
        assert [(d.policyName, d.enforcementLevel) for d in response.diagnostics] == [
            ("cache-private-network", proto.ADVISORY)
        ]
        # What the engine does with `--policy-pack-config` (here prod's levels, generated by the deploy).
        request = proto.ConfigureAnalyzerRequest()
        for policy_name, config in pack_config("prod").items():
            if policy_name not in RULES_BY_ID:
                continue
            request.policyConfig[policy_name].CopyFrom(proto.PolicyConfig(enforcementLevel=proto.MANDATORY))
            assert config == {"enforcementLevel": "mandatory"}
        stub.Configure(request)
        response = analyze(stub, failing.type, "amr-public", failing.inputs)
        assert [d.enforcementLevel for d in response.diagnostics] == [proto.MANDATORY]


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"PULUMI_STACK": "prod"}, ("prod", "prod", None)),
        ({"PULUMI_STACK": "acme/fin-agent/staging"}, ("staging", "staging", None)),
        (
            {"PULUMI_STACK": "prod-eu", "PULUMI_CONFIG": '{"fin-agent:environment": "dev", "fin-agent:location": "x"}'},
            ("prod-eu", "dev", "x"),
        ),
        ({"PULUMI_STACK": "qa"}, ("qa", None, None)),
        ({"PULUMI_STACK": "dev", "PULUMI_CONFIG": "not json"}, ("dev", "dev", None)),
        ({}, (None, None, None)),
    ],
)
def test_the_pack_reads_the_stack_the_engine_analyses(environ: dict, expected: tuple) -> None:
    assert engine_stack(environ) == expected


def test_an_unknown_environment_is_enforced_as_prod() -> None:
    with pack_server("qa", config={}) as stub:
        info = stub.GetAnalyzerInfo(empty_pb2.Empty())
    assert {policy.enforcementLevel for policy in info.policies if policy.name in RULES_BY_ID} == {proto.MANDATORY}
    assert "unknown (stack 'qa'): enforced as prod" in info.description


def test_the_pack_runs_in_the_projects_virtualenv() -> None:
    manifest = yaml.safe_load((PACK_DIR / "PulumiPolicy.yaml").read_text(encoding="utf-8"))
    assert manifest["runtime"]["name"] == "python"
    project = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))
    venv = (PACK_DIR / manifest["runtime"]["options"]["virtualenv"]).resolve()
    assert venv == (REPO_ROOT / project["runtime"]["options"]["virtualenv"]).resolve()
    assert sorted(p.name for p in PACK_DIR.iterdir() if not p.name.startswith("__pycache__")) == [
        "PulumiPolicy.yaml",
        "__main__.py",
    ]


def test_rule_ids_are_valid_policy_names() -> None:
    for rule_id in RULES_BY_ID:
        assert rule_id != "all" and rule_id.replace("-", "").isalnum()


# --- preconditions as stack-validation policies -------------------------------------------------


def analyze_stack(stub: analyzer_pb2_grpc.AnalyzerStub, resources) -> proto.AnalyzeResponse:
    """Send planned resources as the engine sends a stack: properties, parent, dependencies per property."""
    request = analyzer_pb2.AnalyzeStackRequest()
    for resource in resources:
        entry = request.resources.add()
        entry.type, entry.urn, entry.name = resource.type, resource.urn, resource.name
        json_format.ParseDict(json.loads(json.dumps(resource.inputs, default=str)), entry.properties)
        entry.parent = resource.parent_urn
        entry.dependencies.extend(resource.depends_on)
        for key, urns in resource.property_dependencies.items():
            entry.propertyDependencies[key].urns.extend(urns)
    return stub.AnalyzeStack(request)


def offline_findings(view, stack: str) -> list[tuple[str, str, str]]:
    facts = StackFacts(registry=plan(stack).loaded.settings.compute.registry)
    report = evaluate_stack(view, facts)
    return sorted(
        (o.rule.id, v.resource.urn, f"{o.rule.title}\n{v.message}") for o in report.outcomes for v in o.violations
    )


def _stack_config(stack: str) -> dict[str, str]:
    raw = raw_config(stack)
    return {key: value for key, value in raw.values.items() if key in ("fin-agent:location", "fin-agent:compute")}


@pytest.mark.parametrize("stack", STACKS)
def test_the_pack_runs_the_preconditions_over_the_stack_as_the_plan_does(stack: str) -> None:
    result = plan(stack)
    with pack_server(stack, config=_stack_config(stack)) as stub:
        info = stub.GetAnalyzerInfo(empty_pb2.Empty())
        levels = {policy.name: policy.enforcementLevel for policy in info.policies}
        for rule in STACK_RULES:
            assert levels[rule.id] == (proto.MANDATORY if rule.level == "mandatory" else proto.ADVISORY)
        response = analyze_stack(stub, result.resources)
    reported = sorted((d.policyName, d.urn, d.message) for d in response.diagnostics)
    assert reported == offline_findings(plan_view(result), stack)
    assert not [d for d in response.diagnostics if d.enforcementLevel == proto.MANDATORY]


def test_the_pack_refuses_a_plan_without_its_grants_like_the_offline_run() -> None:
    result = plan("prod")
    broken = [r for r in result.resources if r.name not in ("secrets-user-backend", "acr-pull-web")]
    kept_urns = {r.urn for r in broken}
    broken = [dataclasses.replace(r, depends_on=[u for u in r.depends_on if u in kept_urns]) for r in broken]
    view = StackView(r for r in plan_view(result).resources if r.urn in kept_urns)
    expected = offline_findings(view, "prod")
    assert {(policy, urn.rsplit("::", 1)[-1]) for policy, urn, _ in expected if policy != "zone-spread"} == {
        ("key-vault-grant", "compute-backend"),
        ("image-pull-grant", "compute-web"),
    }
    with pack_server("prod", config=_stack_config("prod")) as stub:
        response = analyze_stack(stub, broken)
    assert sorted((d.policyName, d.urn, d.message) for d in response.diagnostics) == expected
    mandatory = {d.policyName for d in response.diagnostics if d.enforcementLevel == proto.MANDATORY}
    assert mandatory == {"key-vault-grant", "image-pull-grant"}


def _as_in_a_new_stacks_preview(resources):
    """The planned resources as a preview of a new stack sees them: every id, principal id and
    Key Vault URI Azure has not created yet is the engine's unknown placeholder."""
    created = {r.resource_id for r in resources if r.resource_id}
    created |= {str(r.state.get(k)) for r in resources for k in ("principalId", "clientId") if r.state.get(k)}

    def hide(value):
        if isinstance(value, dict):
            return {k: hide(v) for k, v in value.items()}
        if isinstance(value, list):
            return [hide(v) for v in value]
        if isinstance(value, str) and (value in created or ".vault.azure.net/" in value):
            return UNKNOWN_STRING
        return value

    return [dataclasses.replace(r, inputs=hide(r.inputs)) for r in resources]


def test_the_preconditions_decide_from_dependencies_when_ids_are_unknown() -> None:
    result = plan("prod")
    unknown = _as_in_a_new_stacks_preview(result.resources)
    hidden = next(r for r in unknown if r.name == "secrets-user-backend")
    assert hidden.inputs["principalId"] == UNKNOWN_STRING
    broken = [r for r in unknown if r.name != "secrets-user-backend"]
    with pack_server("prod", config=_stack_config("prod")) as stub:
        clean = analyze_stack(stub, unknown)
        failing = analyze_stack(stub, broken)
    assert not [d for d in clean.diagnostics if d.enforcementLevel == proto.MANDATORY]
    assert [
        (d.policyName, d.urn.rsplit("::", 1)[-1]) for d in failing.diagnostics if d.policyName != "zone-spread"
    ] == [("key-vault-grant", "compute-backend")]
    assert "holds no Key Vault Secrets User on that vault" in failing.diagnostics[0].message
