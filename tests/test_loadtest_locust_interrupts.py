"""Ctrl-C and SIGTERM during `fin-infra loadtest --engine locust --workers 2`: Locust's master and
workers (one process group) are killed and reaped, nothing reaches the target afterwards, the
temporary directory is removed, and the command exits 130 / 143 (tests/test_interrupts.py's helpers).
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from checks.loadtest.locust_runner import LocustError, run_locust
from tests.test_interrupts import (
    CLI,
    EXIT_WITHIN_SECONDS,
    assert_clean,
    environment,
    interrupt,
    recording_server,
    short_tmp,  # noqa: F401 (fixture)
    wait_for,
)
from tests.test_loadtest import write_outputs

pytestmark = [pytest.mark.servers, pytest.mark.slow]


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_loadtest_stops_locust_master_and_workers(tmp_path: Path, short_tmp: Path, signum: int, code: int) -> None:  # noqa: F811
    payload = tmp_path / "users.csv"
    payload.write_text("userId\nu-1\nu-2\n", encoding="utf-8")
    with recording_server(0.01) as (url, recorder):
        command = [
            str(CLI), "loadtest", "dev", "--outputs", str(write_outputs(tmp_path, url)), "--payload", str(payload),
            "--scale", "0.5", "--engine", "locust", "--workers", "2",
        ]  # fmt: skip
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment(short_tmp)
        )
        wait_for(lambda: len(recorder.arrivals) >= 6, 60, "Locust's first requests", process)
        seconds, exited, children = interrupt(process, signum, children_expected=True)
        stderr = process.stderr.read() if process.stderr else ""
        assert process.returncode == code, stderr
        assert len(children) >= 3, f"master and two workers expected, found {children}"
        assert seconds <= EXIT_WITHIN_SECONDS, f"took {seconds:.1f} s to exit"
        assert "interrupted by" in stderr and "Traceback" not in stderr
        assert_clean(children, short_tmp, recorder, exited)


def test_a_locust_run_that_exits_non_zero_gives_no_verdict(tmp_path: Path) -> None:
    """Locust writes its statistics even when it fails; a non-zero exit must not be judged."""
    locustfile = tmp_path / "locustfile.py"
    locustfile.write_text(
        "from locust import LoadTestShape, User, events, task\n"
        "class Idle(User):\n"
        "    @task\n"
        "    def idle(self):\n"
        "        pass\n"
        "class Stop(LoadTestShape):\n"
        "    def tick(self):\n"
        "        return None\n"
        "@events.quitting.add_listener\n"
        "def _fail(environment, **kwargs):\n"
        "    environment.process_exit_code = 3\n",
        encoding="utf-8",
    )
    with pytest.raises(LocustError, match="exit code 3"):
        run_locust(locustfile, workers=0, timeout_seconds=60)
