"""The deploy's check stage: `fin-infra check` in a subprocess, its exit code mapped to the deploy's.

This is the only place the deploy runs the post-deploy checks. It runs the `fin-infra` next to
this Python (the same installation), on the outputs file the deploy saved, and asks for the
reports in the deploy's output directory. The checks' exit codes: 0 pass, 1 warnings (with
`--fail-on warn`), 2 fail, 3 inconclusive, 4 could not run; see `stages.CHECK_EXIT_CODES`.

Exit 1 is also what Python gives a crash (an uncaught exception, a traceback). So 1 counts as
"warnings" only when the check's own JSON report says so (`exitCode: 1`); without that report
the checks crashed: they could not run (`ExitCode.CHECKS_CRASHED`), never "checks warned".
130 and 143 mean the check was interrupted (SIGINT, SIGTERM).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from infra.deploy.stages import CHECK_EXIT_CODES, ExitCode

REPORT_FORMATS = "table,json,junit,markdown,html"
CHECK_REPORT = "check-report.json"


def _reported_exit_code(report_dir: Path) -> int | None:
    """The exit code the check's JSON report records, or None when there is no readable report."""
    try:
        document = json.loads((report_dir / CHECK_REPORT).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    code = document.get("exitCode") if isinstance(document, dict) else None
    return code if isinstance(code, int) else None


@dataclass(frozen=True)
class CheckOptions:
    endpoints: Path | None = None
    window: str | None = None
    source: str | None = None
    fail_on: str | None = None
    no_data: str | None = None


@dataclass(frozen=True)
class CheckRun:
    command: list[str]
    exit_code: int | None  # None: the command could not start
    outcome: ExitCode
    detail: str


def fin_infra_executable() -> Path:
    return Path(sys.executable).with_name("fin-infra")


def run_checks(stack: str, outputs_file: Path, report_dir: Path, options: CheckOptions) -> CheckRun:
    """Run `fin-infra check STACK --outputs FILE ...`; stream its output; map its exit code."""
    from infra.cli import COMMANDS

    command = [
        str(fin_infra_executable()),
        "check",
        stack,
        "--outputs",
        str(outputs_file),
        "--format",
        REPORT_FORMATS,
        "--output-dir",
        str(report_dir),
    ]
    for flag, value in (
        ("--endpoints", None if options.endpoints is None else str(options.endpoints)),
        ("--window", options.window),
        ("--source", options.source),
        ("--fail-on", options.fail_on),
        ("--no-data", options.no_data),
    ):
        if value is not None:
            command += [flag, value]
    if "check" not in COMMANDS:
        return CheckRun(command, None, ExitCode.CHECKS_NOT_RUN, "this installation has no `fin-infra check` command")
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / CHECK_REPORT).unlink(missing_ok=True)  # a stale report must not vouch for this run
    try:
        completed = subprocess.run(command, check=False)  # output streams straight to the CI log
    except OSError as error:
        return CheckRun(command, None, ExitCode.CHECKS_NOT_RUN, f"could not start {command[0]}: {error}")
    if completed.returncode == 1 and _reported_exit_code(report_dir) != 1:
        return CheckRun(
            command,
            1,
            ExitCode.CHECKS_CRASHED,
            "fin-infra check crashed (exit 1 without a report saying warnings): the checks could not run; "
            "see its output above",
        )
    if completed.returncode in (130, 143):
        return CheckRun(command, completed.returncode, ExitCode.CHECKS_NOT_RUN, "fin-infra check was interrupted")
    outcome = CHECK_EXIT_CODES.get(completed.returncode, ExitCode.CHECKS_NOT_RUN)
    detail = {
        ExitCode.OK: "all targets passed",
        ExitCode.CHECKS_WARNED: "targets between target and critical (--fail-on warn)",
        ExitCode.CHECKS_FAILED: "targets beyond their critical threshold",
        ExitCode.CHECKS_INCONCLUSIVE: "not enough data to judge",
    }.get(outcome, f"fin-infra check exited with unexpected code {completed.returncode}")
    return CheckRun(command, completed.returncode, outcome, detail)
