"""Run the rendered Locust file with the installed Locust (the `checks` extra): headless, or master and workers.

`--workers 0` runs one headless Locust process. `--workers N` runs Locust's own distributed
mode on this host: a headless master bound to 127.0.0.1 on a free port, expecting N workers,
and N worker processes connected to it (each a process, so the load spreads over cores). The
master writes the final statistics as JSON (`--json-file`), which
`checks.loadtest.locust_report` reads.

Every process runs in one process group (the master's, new; the workers join it), with
only the environment it needs (a CI job's environment holds credentials). Whatever ends the
wait (the time limit, Ctrl-C or SIGTERM raised as `checks.interrupts.Interrupted`), the whole
group is killed and reaped before the exception goes on, so no request reaches the target
afterwards.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from checks.loadtest.artillery import PASSED_ENVIRONMENT

INSTALL_HINT = "run `make setup-checks` (it installs the Locust version pinned in pyproject.toml's `checks` extra)"
STATS_NAME = "locust-stats"  # Locust writes <name>.json
GRACE_SECONDS = 60  # start-up, workers connecting, the last virtual users, writing the statistics
POLL_SECONDS = 0.1
MAX_WORKERS = 64


class LocustError(RuntimeError):
    """Locust is not installed, could not start, or stopped without its statistics."""


@dataclass
class LocustRun:
    command: list[str]
    exit_code: int
    started: datetime
    ended: datetime
    stats_path: Path
    workers: int
    version: str | None = None


def locust_version() -> str:
    """The installed Locust's version; LocustError with the install hint when it is missing."""
    if importlib.util.find_spec("locust") is None:
        raise LocustError(f"Locust is not installed in this environment: {INSTALL_HINT}")
    from importlib.metadata import version

    return version("locust")


def locust_environment() -> dict[str, str]:
    """Only the variables a Python process needs; Locust's own LOCUST_* settings are not passed on."""
    environment = {name: os.environ[name] for name in PASSED_ENVIRONMENT if name in os.environ}
    environment["PYTHONUNBUFFERED"] = "1"
    return environment


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def commands(locustfile: Path, stats_base: Path, workers: int) -> list[list[str]]:
    """The master's (or the single process's) command first, then each worker's."""
    if not 0 <= workers <= MAX_WORKERS:
        raise LocustError(f"--workers must be between 0 and {MAX_WORKERS}, got {workers}")
    base = [sys.executable, "-m", "locust", "-f", str(locustfile), "--loglevel", "INFO"]
    main = [*base, "--headless", "--json-file", str(stats_base), "--only-summary", "--exit-code-on-error", "0"]
    if workers == 0:
        return [main]
    port = free_port()
    master = [*main, "--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port)]
    master += ["--expect-workers", str(workers), "--expect-workers-max-wait", "30"]
    worker = [*base, "--worker", "--master-host", "127.0.0.1", "--master-port", str(port)]
    return [master] + [list(worker) for _ in range(workers)]


def stop_group(processes: list[subprocess.Popen[str]]) -> None:
    """Kill the whole process group (the master's, joined by the workers) and reap every process."""
    if processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(processes[0].pid, signal.SIGKILL)
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        process.wait()


def _start(command: list[str], work: Path, group: int | None) -> subprocess.Popen[str]:
    # A new process group for the first (the master), joined by the others: one killpg stops all.
    options: dict[str, object] = {"process_group": 0 if group is None else group}
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        errors="replace",
        env=locust_environment(),
        cwd=work,
        **options,  # type: ignore[arg-type]
    )


def run_locust(
    locustfile: Path,
    *,
    workers: int,
    timeout_seconds: float,
    progress: Callable[[str], None] | None = None,
) -> LocustRun:
    """Run the file to its end (its load shape stops it); raises LocustError without statistics."""
    say = progress or (lambda line: None)
    version = locust_version()
    work = locustfile.parent
    stats_base = work / STATS_NAME
    stats_path = stats_base.with_suffix(".json")
    stats_path.unlink(missing_ok=True)
    planned = commands(locustfile, stats_base, workers)
    processes: list[subprocess.Popen[str]] = []
    readers: list[threading.Thread] = []
    tail: list[str] = []
    started = datetime.now(UTC)
    try:
        for number, command in enumerate(planned):
            process = _start(command, work, processes[0].pid if processes else None)
            processes.append(process)
            label = "master" if number == 0 and workers else (f"worker {number}" if number else "locust")
            readers.append(threading.Thread(target=_pump, args=(process, label, say, tail), daemon=True))
            readers[-1].start()
        exit_code = _wait(processes[0], timeout_seconds)
    except OSError as error:
        stop_group(processes)
        raise LocustError(f"could not start Locust: {error}; {INSTALL_HINT}") from None
    except subprocess.TimeoutExpired:
        stop_group(processes)
        raise LocustError(f"Locust did not finish within {timeout_seconds:.0f} s; stopped it") from None
    except BaseException:  # Ctrl-C, SIGTERM (checks.interrupts.Interrupted), anything else
        stop_group(processes)
        raise
    stop_group(processes)  # the workers quit with the master; anything left is killed
    for reader in readers:
        reader.join(timeout=5)
    if not stats_path.exists():
        last = "\n".join(f"  {line}" for line in tail[-15:] if line.strip()) or "  (no output)"
        raise LocustError(f"Locust stopped with exit code {exit_code} without writing {stats_path.name}:\n{last}")
    if exit_code != 0:
        # Failed requests leave the code at 0 (--exit-code-on-error 0): any other code is Locust
        # itself failing (an error in the file, a lost worker), and its statistics may be partial.
        last = "\n".join(f"  {line}" for line in tail[-15:] if line.strip()) or "  (no output)"
        raise LocustError(
            f"Locust stopped with exit code {exit_code}: its statistics may be partial, no verdict:\n{last}"
        )
    return LocustRun(
        command=planned[0],
        exit_code=exit_code,
        started=started,
        ended=datetime.now(UTC),
        stats_path=stats_path,
        workers=workers,
        version=version,
    )


def _pump(process: subprocess.Popen[str], label: str, say: Callable[[str], None], tail: list[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        text = line.rstrip("\n")
        tail.append(f"{label} | {text}")
        del tail[:-50]
        say(f"{label} | {text}")


def _wait(process: subprocess.Popen[str], timeout_seconds: float) -> int:
    deadline = time.monotonic() + timeout_seconds
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise subprocess.TimeoutExpired(process.args, timeout_seconds)
        try:
            return process.wait(timeout=min(POLL_SECONDS, remaining))
        except subprocess.TimeoutExpired:
            continue
