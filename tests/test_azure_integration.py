"""Integration with real Azure: a real `pulumi preview` with the policy pack, and real checks.

These need the Pulumi CLI, a logged-in state backend, Azure credentials and a stack whose
secrets are set; none of that exists on the machines this project is built on, so here they
skip and say why. They are not counted as coverage: everything they exercise is also tested
offline (mock engine, local stand-ins for Azure's APIs, real local servers).

To run them: `pulumi login`, `az login` (or ARM_* / AZURE_* variables), set the stack's
secrets, then `FIN_INFRA_AZURE_STACK=dev .venv/bin/pytest -m azure`. With
`FIN_INFRA_AZURE_DEPLOYED=1` the checks run against that stack's deployment as well.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from infra.paths import REPO_ROOT
from tests.conftest import plan

pytestmark = pytest.mark.azure

STACK = os.environ.get("FIN_INFRA_AZURE_STACK")


def _why_not() -> str | None:
    if shutil.which("pulumi") is None:
        return "the Pulumi CLI is not on PATH (https://www.pulumi.com/docs/install/)"
    if not STACK:
        return "FIN_INFRA_AZURE_STACK is not set (the stack to preview against real Azure)"
    has_env_credentials = os.environ.get("ARM_CLIENT_ID") or os.environ.get("AZURE_CLIENT_ID")
    if not has_env_credentials and shutil.which("az") is None:
        return "no Azure credentials: neither ARM_*/AZURE_* variables nor the Azure CLI"
    return None


REASON = _why_not()
needs_azure = pytest.mark.skipif(REASON is not None, reason=f"needs real Azure: {REASON}")


@needs_azure
def test_real_preview_with_the_policy_pack_plans_what_the_offline_plan_shows() -> None:
    from pulumi import automation

    assert STACK is not None
    stack = automation.select_stack(stack_name=STACK, work_dir=str(REPO_ROOT))
    result = stack.preview(policy_packs=[str(REPO_ROOT / "infra" / "policy" / "pack")])
    planned = [r for r in plan(STACK).resources if r.custom]
    steps = sum(result.change_summary.values())
    # every resource the offline plan declares is a step of the real preview (create, same, update)
    assert steps >= len(planned), f"preview has {steps} steps for {len(planned)} planned resources"


DEPLOYED_REASON = REASON or (
    None
    if os.environ.get("FIN_INFRA_AZURE_DEPLOYED") == "1"
    else "FIN_INFRA_AZURE_DEPLOYED is not 1 (no deployed stack)"
)


@pytest.mark.skipif(DEPLOYED_REASON is not None, reason=f"needs a real deployment: {DEPLOYED_REASON}")
def test_real_checks_return_a_verdict_for_every_target(tmp_path: Path) -> None:
    assert STACK is not None
    fin_infra = Path(sys.executable).with_name("fin-infra")
    completed = subprocess.run(
        [str(fin_infra), "check", STACK, "--source", "azure", "--format", "json", "--output-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert completed.returncode in (0, 1, 2, 3), completed.stderr
    report = json.loads((tmp_path / "check-report.json").read_text())
    assert {t["id"] for t in report["targets"]} >= {"api-latency", "container-cpu", "container-memory"}
