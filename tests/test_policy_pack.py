"""The real policy pack: the pack directory served by pulumi-policy, spoken to as the engine does.

Each test starts `python -u infra/policy/pack` (what Pulumi runs for `--policy-pack`), with
the environment the engine gives an analyzer (PULUMI_STACK, PULUMI_CONFIG), reads the port
it prints, and calls the Analyzer gRPC service: GetAnalyzerInfo, Configure, Analyze. The
resources sent are the fixture catalog's engine inputs, so the pack and the offline
evaluation are compared on the same property bags.
"""

from __future__ import annotations

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
from pulumi.runtime.proto import analyzer_pb2_grpc

from checks.targets import load_targets
from infra.paths import REPO_ROOT
from infra.policy.crossguard import PACK_DIR, STACK_SECRETS_POLICY, engine_stack, pack_config
from infra.policy.evaluate import judge, subject_of
from infra.policy.model import StackContext
from infra.policy.rules import RULES, RULES_BY_ID
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
    assert set(policies) == {rule.id for rule in RULES} | {STACK_SECRETS_POLICY}
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
        assert {policy.enforcementLevel for policy in info.policies} == {proto.ADVISORY}
        response = analyze(stub, failing.type, "amr-public", failing.inputs)
        assert [(d.policyName, d.enforcementLevel) for d in response.diagnostics] == [
            ("cache-private-network", proto.ADVISORY)
        ]
        # What the engine does with `--policy-pack-config` (here prod's levels, generated by the deploy).
        request = proto.ConfigureAnalyzerRequest()
        for policy_name, config in pack_config("prod").items():
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
    assert {policy.enforcementLevel for policy in info.policies} == {proto.MANDATORY}
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
