"""The deploy never mistakes a crash for a verdict and never crashes itself.

- `fin-infra check` exits 1 both for "warnings" (with --fail-on warn) and for a Python crash.
  A crash (exit 1 with no report saying warnings) is "the checks could not run", exit 13, not
  "checks warned" (9).
- A stack file the reader cannot take (a date in the tags, bytes that are not UTF-8) is a clean
  failure of the settings stage (exit 2) with the file named, never a traceback.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.deploy import checks as deploy_checks
from infra.deploy.checks import CheckOptions, run_checks
from infra.deploy.stages import ExitCode
from tests.test_deploy import REPO_ROOT, StandIn, stage, stages, standin  # noqa: F401 (the fixture)

CRASHING_CHECK = """#!/bin/sh
echo 'Traceback (most recent call last):' >&2
echo '  File "checks/cli.py", line 1, in check' >&2
echo 'RuntimeError: boom' >&2
exit 1
"""
WARNING_CHECK = """#!/bin/sh
printf '{"exitCode": 1}' > "$8/check-report.json"
exit 1
"""


def _check_script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    script = tmp_path / "fin-infra"
    script.write_text(text)
    script.chmod(0o755)
    monkeypatch.setattr(deploy_checks, "fin_infra_executable", lambda: script)


def test_a_crashing_check_is_reported_as_checks_could_not_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _check_script(tmp_path, monkeypatch, CRASHING_CHECK)
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "check-report.json").write_text('{"exitCode": 1}')  # a stale report of an earlier run
    run = run_checks("prod", tmp_path / "outputs.json", reports, CheckOptions(fail_on="warn"))
    assert run.outcome is ExitCode.CHECKS_CRASHED == 13
    assert "crashed" in run.detail and "could not run" in run.detail


def test_warnings_with_their_report_still_map_to_checks_warned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _check_script(tmp_path, monkeypatch, WARNING_CHECK)
    run = run_checks("prod", tmp_path / "outputs.json", tmp_path / "reports", CheckOptions(fail_on="warn"))
    assert run.outcome is ExitCode.CHECKS_WARNED


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (lambda text: text.encode("utf-8") + b"\n# caf\xe9\n", "Pulumi.prod.yaml"),
        (
            lambda text: text.replace("config:\n", "config:\n  fin-agent:location: westeurope\n", 1).encode(),
            "fin-agent:location",
        ),
        (lambda text: b"\xff\xfe" + text.encode("utf-16-le"), "Pulumi.prod.yaml"),
    ],
    ids=["non-utf8", "duplicate-key", "utf16"],
)
def test_an_unreadable_stack_file_is_a_clean_settings_failure(
    standin: StandIn,  # noqa: F811
    tmp_path: Path,
    edit,  # type: ignore[no-untyped-def]
    fragment: str,
) -> None:
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    (stacks / "Pulumi.prod.yaml").write_bytes(edit((REPO_ROOT / "stacks" / "Pulumi.prod.yaml").read_text()))
    result = standin.deploy("prod", "--stacks-dir", str(stacks))
    assert "Traceback" not in result.stdout + result.stderr, result.stderr[-2000:]
    assert result.returncode == ExitCode.INVALID == 2
    assert stages(standin.report())["settings"] == "failed"
    assert stages(standin.report())["preview"] == "skipped"
    detail = stage(standin.report(), "settings")["detail"]
    assert fragment in detail or "stack file" in detail
    assert "preview" not in standin.commands()


def test_a_date_in_the_tags_is_text_as_pulumi_reads_it(standin: StandIn, tmp_path: Path) -> None:  # noqa: F811
    """yaml.v3 (Pulumi) keeps `2026-01-01` as text: the settings stage passes instead of crashing."""
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    text = (REPO_ROOT / "stacks" / "Pulumi.prod.yaml").read_text()
    (stacks / "Pulumi.prod.yaml").write_text(
        text.replace("config:\n", "config:\n  fin-agent:tags:\n    since: 2026-01-01\n", 1)
    )
    result = standin.deploy("prod", "--stacks-dir", str(stacks), "--dry-run")
    assert "Traceback" not in result.stdout + result.stderr, result.stderr[-2000:]
    assert stages(standin.report())["settings"] == "passed"
