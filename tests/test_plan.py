"""The offline plan: every stack plans, the outputs keep their contract, the CLI behaves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from checks.outputs import parse_outputs
from infra.cli import main as cli
from infra.plan.engine.runner import run_entrypoint
from infra.settings import RawConfig
from tests.conftest import STACKS, plan, raw_config

EXPECTED_TYPES = {
    "dev": {
        "azure-native:resources:ResourceGroup",
        "azure-native:operationalinsights:Workspace",
        "azure-native:applicationinsights:Component",
        "azure-native:applicationinsights:Workbook",
        "azure-native:managedidentity:UserAssignedIdentity",
        "azure-native:authorization:RoleAssignment",
        "azure-native:redisenterprise:RedisEnterprise",
        "azure-native:redisenterprise:Database",
        "azure-native:redisenterprise:AccessPolicyAssignment",
        "azure-native:containerinstance:ContainerGroup",
        "azure-native:monitor:DiagnosticSetting",
        "azure-native:monitor:MetricAlert",
        "azure-native:monitor:ScheduledQueryRule",
    },
}
EXPECTED_TYPES["staging"] = (EXPECTED_TYPES["dev"] - {"azure-native:containerinstance:ContainerGroup"}) | {
    "azure-native:app:ManagedEnvironment",
    "azure-native:app:ContainerApp",
    "azure-native:monitor:ActionGroup",
}
EXPECTED_TYPES["staging"] |= {
    "azure-native:network:VirtualNetwork",
    "azure-native:network:PrivateEndpoint",
    "azure-native:network:PrivateDnsZoneGroup",
    "azure-native:privatedns:PrivateZone",
    "azure-native:privatedns:VirtualNetworkLink",
    "azure-native:keyvault:Vault",
    "azure-native:keyvault:Secret",
}
EXPECTED_TYPES["prod"] = EXPECTED_TYPES["staging"]


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_plans_with_the_resource_types_it_needs(stack: str) -> None:
    result = plan(stack)
    custom_types = {r.type for r in result.resources if r.custom}
    assert custom_types == EXPECTED_TYPES[stack]


@pytest.mark.parametrize("stack", STACKS)
def test_every_taggable_resource_carries_the_standard_tags(stack: str) -> None:
    result = plan(stack)
    untaggable = {
        "azure-native:authorization:RoleAssignment",
        "azure-native:monitor:DiagnosticSetting",
        "azure-native:redisenterprise:Database",
        "azure-native:redisenterprise:AccessPolicyAssignment",
        "azure-native:network:PrivateDnsZoneGroup",
    }
    for resource in result.resources:
        if not resource.custom or resource.type in untaggable:
            continue
        tags = resource.inputs.get("tags") or {}
        for key in ("environment", "project", "owner", "cost-center", "managed-by"):
            assert key in tags, f"{resource.type} {resource.name} lacks tag {key}"
        assert tags["environment"] == stack and tags["managed-by"] == "pulumi"


@pytest.mark.parametrize("stack", STACKS)
def test_outputs_follow_the_contract_the_checks_read(stack: str) -> None:
    result = plan(stack)
    outputs = parse_outputs(json.loads(json.dumps(result.outputs)))
    assert outputs.stack == stack
    assert set(outputs.services) == {"backend", "web"}
    assert outputs.subscription_id == "00000000-0000-0000-0000-000000000000"
    assert outputs.monitoring.app_insights_id.endswith(
        result.one("azure-native:applicationinsights:Component", "monitoring-app-insights").inputs["resourceName"]
    )
    assert result.secret_outputs == set()  # nothing secret is exported


def test_names_follow_caf_abbreviations_with_environment_and_token() -> None:
    result = plan("prod")
    token = result.loaded.naming.token
    names = {r.resource_id.rsplit("/", 1)[-1] for r in result.resources if r.custom and r.resource_id}
    for expected in (
        f"rg-finagent-prod-{token}",
        f"cae-finagent-prod-{token}",
        f"ca-finagent-backend-prod-{token}",
        f"ca-finagent-web-prod-{token}",
        f"amr-finagent-prod-{token}",
        f"log-finagent-prod-{token}",
        f"appi-finagent-prod-{token}",
        f"ag-finagent-prod-{token}",
        f"id-finagent-backend-prod-{token}",
    ):
        assert expected in names


def test_the_real_entry_point_exports_the_outputs() -> None:
    """`infra/__main__.py` -> main(): settings from the engine's config, resources, exports."""
    raw = raw_config("staging")
    values = dict(raw.values)
    secret_keys = set(raw.secret_keys)
    for key in ("supabaseUrl", "supabaseServiceKey", "plaidClientId", "plaidSecret", "marketDataApiKey", "aiApiKey"):
        values[f"fin-agent:{key}"] = f"value-of-{key}"
        secret_keys.add(f"fin-agent:{key}")
    monitor = run_entrypoint(RawConfig(values, frozenset(secret_keys)), "staging")
    types = {r.type for r in monitor.planned.values()}
    assert "azure-native:app:ContainerApp" in types
    assert len(monitor.planned) == len(plan("staging").resources)


def run_cli(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_plan_cli_defaults_to_dev_and_shows_the_settings_that_matter() -> None:
    result = run_cli("plan")
    assert result.exit_code == 0
    assert "fin-agent / dev" in result.output
    assert "backend 1.5 vCPU/3 GB -> limit 2/4 GB" in result.output
    assert "How each target is watched" in result.output


def test_plan_json_is_stable_and_documented_keys_are_present() -> None:
    first, second = run_cli("plan", "prod", "--format", "json"), run_cli("plan", "prod", "--format", "json")
    assert first.exit_code == 0
    assert first.output == second.output
    document = json.loads(first.output)
    assert document["schemaVersion"] == 1
    assert set(document) >= {
        "project",
        "stack",
        "environment",
        "location",
        "platform",
        "cacheTier",
        "notices",
        "resources",
        "outputs",
        "watch",
    }
    entry = document["resources"][0]
    assert set(entry) == {"type", "name", "azureName", "parent", "component", "protect", "summary", "inputs"}
    assert "value-of-" not in first.output


def test_plan_markdown_fits_a_job_summary(tmp_path: Path) -> None:
    target = tmp_path / "plan.md"
    result = run_cli("plan", "staging", "--format", "markdown", "--output", str(target))
    assert result.exit_code == 0
    text = target.read_text()
    assert text.startswith("### Plan: fin-agent / staging")
    assert "| `app:ContainerApp` |" in text
    assert "#### How each target is watched" in text


def test_invalid_settings_exit_2_with_the_error_and_nothing_planned(tmp_path: Path) -> None:
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    (stacks / "Pulumi.broken.yaml").write_text(
        "config:\n  fin-agent:environment: dev\n  fin-agent:location: westeurope\n"
        "  fin-agent:services:\n    backend:\n      image: x/backend:1\n      port: -1\n"
    )
    result = CliRunner().invoke(cli, ["plan", "broken", "--stacks-dir", str(stacks)])
    assert result.exit_code == 2
    assert "fin-agent:services.backend.port" in result.output
    assert "fin-agent:services.web.image: is required" in result.output
    assert "resources (" not in result.output


def test_unknown_stack_exits_2_naming_the_stacks_there_are() -> None:
    result = CliRunner().invoke(cli, ["plan", "qa"])
    assert result.exit_code == 2
    assert "Pulumi.qa.yaml" in result.output
    assert "dev, prod, staging" in result.output
