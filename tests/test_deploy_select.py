"""`fin-infra deploy --select-only` (what CI runs): select the stack, never create it.

Against the stand-in `pulumi` of `tests/test_deploy.py`, which records every CLI call.
"""

from __future__ import annotations

import subprocess

from infra.deploy.stages import ExitCode
from tests.test_deploy import StandIn, stages, standin  # noqa: F401 (the fixture)


def test_select_only_stops_in_preflight_when_the_stack_does_not_exist(standin: StandIn) -> None:  # noqa: F811
    result = standin.deploy("prod", "--dry-run", "--select-only")
    assert result.returncode == ExitCode.PREFLIGHT == 4, result.stdout + result.stderr
    assert "stack init" not in standin.commands()
    assert "no stack named 'prod' found" in result.stdout
    assert stages(standin.report())["preflight"] == "failed"


def test_select_only_deploys_an_existing_stack(standin: StandIn) -> None:  # noqa: F811
    subprocess.run(["pulumi", "stack", "init", "prod"], env=standin.env, check=True, capture_output=True)
    standin_calls_before = len(standin.commands())
    result = standin.deploy("prod", "--dry-run", "--select-only")
    assert result.returncode == 0, result.stdout + result.stderr
    assert standin.commands()[standin_calls_before:] == ["version", "stack select", "whoami", "preview"]


def test_without_select_only_a_missing_stack_is_created(standin: StandIn) -> None:  # noqa: F811
    result = standin.deploy("prod", "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "stack init" in standin.commands()
