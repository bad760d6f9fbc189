"""Find and run Artillery: the npm package pinned in `package.json`, installed by `make setup-checks`.

`artillery run --output REPORT CONFIG` writes the JSON report `checks.loadtest.report` reads.
Artillery's own output is passed on line by line (progress for a run of minutes) and its
`ensure` lines ("ok: ..." / "fail: ... (optional)") are kept for the report.

Artillery's exit code: 0 when every strict `ensure` check passed, 1 when one failed (or when
Artillery could not start); anything else, or no report, means it did not run to the end.
The verdict never rests on the exit code: it is computed from the JSON report, and the exit
code is recorded beside it.

Artillery sends anonymous usage telemetry to its vendor unless `ARTILLERY_DISABLE_TELEMETRY`
is set: it is always set here, so a load test talks to its target and nothing else. It gets
only the environment variables it needs (`PASSED_ENVIRONMENT`): its config can read the
environment (`$processEnvironment`), and a CI job's environment holds credentials.

Artillery runs in its own process group. Whatever ends the wait (the watchdog's abort, the
time limit, Ctrl-C or SIGTERM raised as `checks.interrupts.Interrupted`), the whole group is
killed and reaped before the exception goes on, so no request reaches the target afterwards.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_ARTILLERY = REPO_ROOT / "node_modules" / ".bin" / "artillery"
INSTALL_HINT = (
    "run `make setup-checks` (with Node.js and npm on PATH it installs the Artillery version pinned in package.json "
    "into node_modules/), or pass --artillery PATH"
)
# Time Artillery may take beyond its phases: start-up, virtual users finishing their requests
# (each bounded by the config's HTTP timeout), writing the report.
GRACE_SECONDS = 120
# What node and Artillery need: where programs are, a home and temporary folder, the locale,
# the time zone, extra CA certificates and the proxies Artillery's HTTP engine reads
# (dist/lib/core/engine_http.js: process.env.HTTP_PROXY / HTTPS_PROXY).
PASSED_ENVIRONMENT = (
    "PATH", "HOME", "TMPDIR", "TMP", "TEMP", "LANG", "LC_ALL", "TZ", "NODE_EXTRA_CA_CERTS",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy", "SYSTEMROOT",
)  # fmt: skip
POLL_SECONDS = 0.1
ENSURE_LINE = re.compile(r"^(?P<result>ok|fail): (?P<check>.+?)(?P<optional> \(optional\))?$")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


class ArtilleryError(RuntimeError):
    """Artillery is not installed, could not start, or stopped without a report."""


@dataclass(frozen=True)
class EnsureCheck:
    check: str
    ok: bool
    strict: bool


@dataclass
class ArtilleryRun:
    command: list[str]
    exit_code: int
    started: datetime
    ended: datetime
    report_path: Path
    version: str | None = None
    ensure: list[EnsureCheck] = field(default_factory=list)
    aborted: str | None = None  # the watchdog's reason when the run was stopped early

    @property
    def ensure_failed(self) -> list[EnsureCheck]:
        return [c for c in self.ensure if c.strict and not c.ok]


def find_artillery(override: Path | None = None) -> Path:
    """`--artillery PATH`, else the project's node_modules/.bin/artillery; explains how to install it."""
    if override is not None:
        found = Path(override) if Path(override).exists() else shutil.which(str(override))
        if not found or not os.access(found, os.X_OK):
            raise ArtilleryError(f"--artillery {override}: no executable there; without --artillery, {INSTALL_HINT}")
        return Path(found)
    if DEFAULT_ARTILLERY.exists() and os.access(DEFAULT_ARTILLERY, os.X_OK):
        return DEFAULT_ARTILLERY
    if shutil.which("node") is None:
        raise ArtilleryError(
            f"Artillery is not installed and Node.js is not on PATH: install Node.js, then {INSTALL_HINT}"
        )
    raise ArtilleryError(f"Artillery is not installed ({DEFAULT_ARTILLERY} is missing): {INSTALL_HINT}")


def installed_version(executable: Path) -> str | None:
    """The version in the package.json beside the executable (node_modules/artillery), if there is one."""
    try:
        data = json.loads((executable.resolve().parent.parent / "package.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return str(data.get("version")) if isinstance(data, dict) and data.get("name") == "artillery" else None


def parse_ensure(lines: list[str], strictness: dict[str, bool] | None = None) -> list[EnsureCheck]:
    """The `ensure` plugin's verdict lines, printed after "Checks:" at the end of a run.

    Artillery marks only a failed optional check ("fail: ... (optional)"); a passing line does
    not say whether it was strict, so `strictness` (check text -> strict, from the config)
    tells, and a check it does not know counts as strict unless marked optional.
    """
    known = strictness or {}
    checks: list[EnsureCheck] = []
    in_checks = False
    for raw in lines:
        line = ANSI.sub("", raw).strip()
        if line == "Checks:":
            in_checks = True
            checks = []
            continue
        if not in_checks:
            continue
        match = ENSURE_LINE.match(line)
        if match:
            checks.append(
                EnsureCheck(
                    check=match["check"],
                    ok=match["result"] == "ok",
                    strict=match["optional"] is None and known.get(match["check"], True),
                )
            )
    return checks


def artillery_environment() -> dict[str, str]:
    """Only `PASSED_ENVIRONMENT` of the caller's environment; no telemetry or colours; `ensure` on."""
    environment = {name: os.environ[name] for name in PASSED_ENVIRONMENT if name in os.environ}
    environment.update(ARTILLERY_DISABLE_TELEMETRY="1", NO_COLOR="1", FORCE_COLOR="0")
    return environment


def stop_group(process: subprocess.Popen[str]) -> None:
    """Kill Artillery's whole process group (it runs in its own session) and reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _wait(process: subprocess.Popen[str], timeout_seconds: float, abort: threading.Event) -> int | None:
    """Artillery's exit code; None when the watchdog asked to abort. Raises TimeoutExpired."""
    deadline = time.monotonic() + timeout_seconds
    while not abort.is_set():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise subprocess.TimeoutExpired(process.args, timeout_seconds)
        try:
            return process.wait(timeout=min(POLL_SECONDS, remaining))
        except subprocess.TimeoutExpired:
            continue
    return None


def run_artillery(
    executable: Path,
    config_path: Path,
    report_path: Path,
    *,
    timeout_seconds: float,
    ensure_strictness: dict[str, bool] | None = None,
    progress: Callable[[str], None] | None = None,
    watchdog: Callable[[str], str | None] | None = None,
) -> ArtilleryRun:
    """Run `artillery run --output REPORT CONFIG`; raises ArtilleryError when it produced no report."""
    say = progress or (lambda line: None)
    command = [str(executable), "run", "--output", str(report_path), str(config_path)]
    report_path.unlink(missing_ok=True)
    lines: list[str] = []
    started = datetime.now(UTC)
    try:
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
            env=artillery_environment(),
            cwd=config_path.parent,
            start_new_session=True,
        )
    except OSError as error:
        raise ArtilleryError(f"could not start {executable}: {error}; {INSTALL_HINT}") from None

    abort = threading.Event()
    reasons: list[str] = []

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            text = ANSI.sub("", line.rstrip("\n"))
            lines.append(text)
            say(text)
            reason = watchdog(text) if watchdog and not abort.is_set() else None
            if reason:
                reasons.append(reason)
                abort.set()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        exit_code = _wait(process, timeout_seconds, abort)
    except subprocess.TimeoutExpired:
        stop_group(process)
        reader.join(timeout=5)
        raise ArtilleryError(
            f"Artillery did not finish within {timeout_seconds:.0f} s (the phases plus {GRACE_SECONDS} s); stopped it"
        ) from None
    except BaseException:  # Ctrl-C, SIGTERM (checks.interrupts.Interrupted), anything else
        stop_group(process)
        reader.join(timeout=5)
        raise
    if exit_code is None:
        stop_group(process)
        reader.join(timeout=5)
        return ArtilleryRun(
            command=command,
            exit_code=process.returncode,
            started=started,
            ended=datetime.now(UTC),
            report_path=report_path,
            version=installed_version(executable),
            aborted=reasons[0],
        )
    reader.join(timeout=10)
    ended = datetime.now(UTC)
    tail = lines[-15:]
    if exit_code not in (0, 1) or not report_path.exists():
        last = "\n".join(f"  {line}" for line in tail if line.strip()) or "  (no output)"
        raise ArtilleryError(
            f"Artillery stopped with exit code {exit_code} "
            f"{'and' if report_path.exists() else 'without'} writing its report {report_path.name}; "
            f"its last lines:\n{last}"
        )
    return ArtilleryRun(
        command=command,
        exit_code=exit_code,
        started=started,
        ended=ended,
        report_path=report_path,
        version=installed_version(executable),
        ensure=parse_ensure(lines, ensure_strictness),
    )
