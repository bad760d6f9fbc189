"""`fin-infra plan dev staging prod` and `--all`: several stacks in one process (issue 18, item 6)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from infra.cli import main

REPO = Path(__file__).resolve().parent.parent


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), env={"GITHUB_ACTIONS": None, "GITHUB_STEP_SUMMARY": None})


def test_three_stacks_in_one_run_are_the_three_single_plans() -> None:
    many = invoke("plan", "dev", "staging", "prod", "--format", "json")
    assert many.exit_code == 0, many.output
    combined = json.loads(many.stdout)
    assert combined["schemaVersion"] == 1 and set(combined["stacks"]) == {"dev", "staging", "prod"}
    for stack in ("dev", "prod"):
        single = invoke("plan", stack, "--format", "json")
        assert combined["stacks"][stack] == json.loads(single.stdout)


def test_all_plans_every_stack_file(tmp_path: Path) -> None:
    for stack in ("dev", "prod"):
        (tmp_path / f"Pulumi.{stack}.yaml").write_text((REPO / "stacks" / f"Pulumi.{stack}.yaml").read_text())
    result = invoke("plan", "--all", "--stacks-dir", str(tmp_path), "--format", "json")
    assert result.exit_code == 0, result.output
    assert sorted(json.loads(result.stdout)["stacks"]) == ["dev", "prod"]
    table = invoke("plan", "--all", "--stacks-dir", str(tmp_path))
    assert "fin-agent / dev:" in table.stdout and "fin-agent / prod:" in table.stdout


def test_an_invalid_stack_does_not_hide_the_others(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.dev.yaml").write_text((REPO / "stacks" / "Pulumi.dev.yaml").read_text())
    (tmp_path / "Pulumi.staging.yaml").write_text("config:\n  fin-agent:location: nowhere-land\n")
    result = invoke("plan", "dev", "staging", "--stacks-dir", str(tmp_path), "--format", "json")
    assert result.exit_code == 2
    assert list(json.loads(result.stdout)["stacks"]) == ["dev"]
    assert "staging" in result.stderr


def test_names_and_all_together_are_refused() -> None:
    result = invoke("plan", "dev", "--all")
    assert result.exit_code == 2 and "--all" in result.output
