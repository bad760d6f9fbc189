"""The stacks pass the pack, and `fin-infra plan` / `fin-infra policy` report it and gate on it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from infra.cli import main
from infra.paths import REPO_ROOT
from infra.plan.engine.runner import plan_stack
from infra.policy.crossguard import STACK_SECRETS_POLICY
from infra.policy.evaluate import evaluate_plan
from infra.policy.preconditions import STACK_RULES_BY_ID
from infra.policy.rules import RULES
from infra.policy.rules.types import (
    APP_INSIGHTS,
    CONTAINER_APP,
    CONTAINER_GROUP,
    LOG_ANALYTICS,
    MANAGED_ENVIRONMENT,
    MANAGED_REDIS,
    MANAGED_REDIS_DATABASE,
)
from tests.conftest import STACKS

# What each stack must contain for the pack to be meaningful (DESIGN.md: dev on container
# groups, staging and prod on Container Apps; Managed Redis and monitoring everywhere).
EXPECTED_TYPES = {
    "dev": {CONTAINER_GROUP, MANAGED_REDIS, MANAGED_REDIS_DATABASE, APP_INSIGHTS, LOG_ANALYTICS},
    "staging": {CONTAINER_APP, MANAGED_ENVIRONMENT, MANAGED_REDIS, MANAGED_REDIS_DATABASE, APP_INSIGHTS, LOG_ANALYTICS},
    "prod": {CONTAINER_APP, MANAGED_ENVIRONMENT, MANAGED_REDIS, MANAGED_REDIS_DATABASE, APP_INSIGHTS, LOG_ANALYTICS},
}


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_passes_the_pack(stack: str) -> None:
    result = plan_stack(stack)
    report = evaluate_plan(result)
    assert report.environment == stack
    assert not report.mandatory, "\n".join(f"{f.rule.id} {f.resource.name}: {f.message}" for f in report.mandatory)
    custom = [resource for resource in result.resources if resource.custom]
    for tally in report.tallies:
        applicable = [resource for resource in custom if tally.rule.applies(resource.type)]
        assert tally.evaluated + tally.not_applicable == len(applicable), tally.rule.id
        assert tally.undecided == 0, tally.rule.id  # the mock engine knows every value
    assert report.tally("required-tags").evaluated >= 1


@pytest.mark.parametrize("stack", STACKS)
def test_the_pack_judges_each_stacks_resources(stack: str) -> None:
    result = plan_stack(stack)
    report = evaluate_plan(result)
    present = {resource.type for resource in result.resources if resource.custom}
    assert EXPECTED_TYPES[stack] <= present
    for tally in report.tallies:
        if tally.rule.types & EXPECTED_TYPES[stack]:
            assert tally.evaluated + tally.not_applicable >= 1, f"{tally.rule.id} judged nothing in {stack}"


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def test_plan_json_carries_the_policy_section() -> None:
    result = invoke("plan", "prod", "--format", "json")
    assert result.exit_code == 0, result.output
    section = json.loads(result.stdout)["policy"]
    assert section["environment"] == "prod"
    assert section["enforcement"] == "mandatory"
    assert section["mandatoryViolations"] == 0
    assert [rule["id"] for rule in section["rules"]] == [rule.id for rule in RULES]
    assert section["verdict"].endswith("PASS: no violations")


def test_plan_exits_3_on_mandatory_violations_and_shows_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("infra.program.standard_tags", lambda settings, stack: {})  # a program that forgets tags
    prod = invoke("plan", "prod")
    assert prod.exit_code == 3, prod.output
    assert "FAIL:" in prod.stdout and "mandatory violations" in prod.stdout
    assert "required-tags" in prod.stdout and "tags cost-center, environment" in prod.stdout
    markdown = invoke("plan", "prod", "--format", "markdown")
    assert markdown.exit_code == 3
    assert "| **mandatory** | `required-tags` | `resource-group` |" in markdown.stdout
    dev = invoke("plan", "dev", "--format", "json")
    assert dev.exit_code == 0
    section = json.loads(dev.stdout)["policy"]
    assert section["mandatoryViolations"] == 0
    tag_violations = [v for v in section["violations"] if v["rule"] == "required-tags"]
    assert tag_violations and {v["enforcement"] for v in tag_violations} == {"advisory"}


def test_policy_command_formats_and_exit_codes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    table = invoke("policy", "staging")
    assert table.exit_code == 0, table.output
    assert "policy pack fin-agent (staging: violations are advisory)" in table.stdout
    config = tmp_path / "pack-config.json"
    document = invoke("policy", "prod", "--format", "json", "--pack-config", str(config))
    assert document.exit_code == 0
    assert json.loads(document.stdout)["policy"]["enforcement"] == "mandatory"
    pins = json.loads(config.read_text())
    assert {k: v for k, v in pins.items() if k in {r.id for r in RULES} | {STACK_SECRETS_POLICY}} == {
        policy: {"enforcementLevel": "mandatory"} for policy in [*(r.id for r in RULES), STACK_SECRETS_POLICY]
    }
    assert {k: v["enforcementLevel"] for k, v in pins.items() if k in STACK_RULES_BY_ID} == {
        rule.id: rule.level for rule in STACK_RULES_BY_ID.values()
    }
    assert json.loads(document.stdout)["preconditions"]["unmet"] == 0
    markdown = invoke("policy", "dev", "--format", "markdown", "--output", str(tmp_path / "policy.md"))
    assert markdown.exit_code == 0
    assert (tmp_path / "policy.md").read_text().startswith("\n#### Policy")
    monkeypatch.setattr("infra.program.standard_tags", lambda settings, stack: {})
    assert invoke("policy", "prod").exit_code == 3
    assert invoke("policy", "dev").exit_code == 0


def test_policy_command_refuses_invalid_settings(tmp_path: Path) -> None:
    stack_file = (REPO_ROOT / "stacks" / "Pulumi.prod.yaml").read_text(encoding="utf-8")
    (tmp_path / "Pulumi.prod.yaml").write_text(stack_file.replace("westeurope", "middleearth"), encoding="utf-8")
    result = invoke("policy", "prod", "--stacks-dir", str(tmp_path))
    assert result.exit_code == 2
    assert "fin-agent:location" in result.stderr
    assert "policy pack" not in result.output


def test_docs_list_every_rule_with_its_severity() -> None:
    doc = (REPO_ROOT / "docs" / "plan-and-policy.md").read_text(encoding="utf-8")
    section = doc.split("## Policy and deploy pipeline", 1)[1]
    rows = dict(re.findall(r"^\| `([a-z-]+)` \| [a-z]+ \| ([a-z]+) \|", section, re.MULTILINE))
    assert rows == {rule.id: rule.severity.value for rule in RULES}
