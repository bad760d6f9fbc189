"""Long waits show progress (issue 18, item 2): a live line on a terminal, a heartbeat elsewhere."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

from checks.progress import clock_text, progress, status_line
from infra.deploy.pipeline import Deployment, DeployOptions


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_heartbeat_lines_come_at_a_steady_interval_when_not_a_terminal() -> None:
    stream = io.StringIO()
    with progress("baking before measuring", 60, stream=stream, heartbeat=0.1):
        time.sleep(0.55)
    lines = stream.getvalue().splitlines()
    assert 3 <= len(lines) <= 6, lines
    assert all(line.startswith("baking before measuring: ") and "left of 1 min 00 s" in line for line in lines)
    assert "\r" not in stream.getvalue() and "\x1b" not in stream.getvalue()


def test_a_terminal_gets_one_live_line_redrawn_and_cleared() -> None:
    stream = FakeTerminal()
    with progress("probes: watching the 15 min window", 900, stream=stream):
        time.sleep(1.2)
    text = stream.getvalue()
    assert text.count("\r\x1b[2K") >= 3  # drawn at once, redrawn after a second, cleared at the end
    assert "\n" not in text
    assert "probes: watching the 15 min window: 15 min 00 s left of 15 min 00 s" in text
    assert text.endswith("\r\x1b[2K")


def test_nothing_is_printed_for_a_wait_shorter_than_the_heartbeat() -> None:
    stream = io.StringIO()
    with progress("reading", None, stream=stream, heartbeat=5):
        pass
    assert stream.getvalue() == ""


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0 s"), (42.4, "42 s"), (245, "4 min 05 s"), (3720, "1 h 02 min"), (-3, "0 s")]
)
def test_clock_text(seconds: float, text: str) -> None:
    assert clock_text(seconds) == text


def test_status_line_without_a_total_counts_up() -> None:
    assert status_line("Azure Monitor metrics: reading 4 measure(s)", 65, None).endswith(": 1 min 05 s so far")


def test_the_deploy_bake_prints_heartbeats(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FIN_INFRA_HEARTBEAT_SECONDS", "0.1")
    options = DeployOptions(stack="dev", output_dir=tmp_path, bake_seconds=0.45)
    result = Deployment(options, echo=lambda line: None, sleep=time.sleep).bake()
    assert result.status == "passed"
    beats = [line for line in capsys.readouterr().err.splitlines() if line.startswith("deploy: baking")]
    assert 2 <= len(beats) <= 5, beats
