"""The load test judges the whole response and stops early once clearly past critical.

- `http.response_time` is Artillery's time to first byte; a server that sends its headers at
  once and its body 300 ms later must not pass at under a millisecond: the latency row is the
  full response time (`http.total`).
- The watchdog reads Artillery's 10-second period reports and stops a run whose error rate or
  full response time is past critical in the last period and over the run so far; the verdict
  then comes from those periods, and the report says why the run stopped.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from checks.loadtest.artillery import DEFAULT_ARTILLERY
from checks.loadtest.watchdog import Watchdog
from checks.model import EXIT_FAIL, Thresholds
from tests.test_loadtest import run_cli, write_outputs
from tests.test_loadtest_artillery import stand_in_api

LATENCY = Thresholds(unit="ms", better="lower", target=200, critical=500)
ERRORS = Thresholds(unit="%", better="lower", target=1, critical=5)


def period(lines: dict[str, float], summaries: dict[str, dict[str, float]]) -> list[str]:
    """A period report as Artillery 2.0.34's console reporter prints it (dots padded to 79 columns)."""
    text = ["-" * 40, "Metrics for period to: 10:00:10(+0000) (width: 9.1s)", "-" * 40, ""]
    names = sorted([*lines, *summaries])
    for name in names:
        if name in lines:
            text.append(f"{name}: {'.' * (60 - len(name))} {lines[name]:g}")
        else:
            text.append(f"{name}:")
            for stat, value in summaries[name].items():
                text.append(f"  {stat}: {'.' * (60 - len(stat))} {value:g}")
    return text


def feed(watchdog: Watchdog, lines: list[str]) -> str | None:
    reason = None
    for line in lines:
        reason = watchdog.feed(line) or reason
    return reason


SESSION = {"vusers.session_length": {"min": 1, "max": 2, "mean": 1.5, "median": 1.5, "p95": 2, "p99": 2}}


def test_a_slow_period_with_enough_responses_aborts_with_the_reason() -> None:
    watchdog = Watchdog(LATENCY, ERRORS)
    lines = period(
        {
            "http.responses": 30,
            "http.request_rate": 3,
            "vusers.completed": 10,
            "vusers.created": 10,
            "vusers.failed": 0,
        },
        {"http.total": {"min": 600, "max": 700, "mean": 640, "median": 640, "p95": 690, "p99": 700}, **SESSION},
    )
    reason = feed(watchdog, lines)
    assert reason and "mean full response time 640.0 ms" in reason and "critical 500 ms" in reason
    data = watchdog.report_data()
    assert data["aggregate"]["summaries"]["http.total"] == {"mean": 640.0, "count": 30}
    assert (
        data["aggregate"]["counters"]["vusers.created"] == 10
        and "http.request_rate" not in data["aggregate"]["counters"]
    )


def test_too_few_samples_or_a_recovered_last_period_do_not_abort() -> None:
    watchdog = Watchdog(LATENCY, ERRORS)
    few = period({"http.responses": 5, "vusers.completed": 2, "vusers.failed": 0}, {"http.total": {"mean": 900}})
    assert feed(watchdog, few) is None
    slow = period({"http.responses": 10, "vusers.completed": 4}, {"http.total": {"mean": 900}, **SESSION})
    fast = period({"http.responses": 30, "vusers.completed": 10}, {"http.total": {"mean": 100}, **SESSION})
    watchdog = Watchdog(LATENCY, ERRORS)
    assert feed(watchdog, slow) is None and feed(watchdog, fast) is None, "the last period is fine: keep going"


def test_failing_virtual_users_abort_on_the_error_rate() -> None:
    watchdog = Watchdog(LATENCY, ERRORS)
    lines = period({"errors.ECONNREFUSED": 25, "vusers.created": 25, "vusers.failed": 25}, {})
    reason = feed(watchdog, lines)
    assert reason and "error rate 100.0 %" in reason and "25 of 25 virtual users failed" in reason


def test_a_period_without_the_closing_metrics_is_judged_at_the_next_header() -> None:
    watchdog = Watchdog(LATENCY, ERRORS)
    lines = period({"http.responses": 30, "vusers.completed": 10}, {"http.total": {"mean": 900}})
    assert feed(watchdog, lines) is None
    reason = watchdog.feed("Metrics for period to: 10:00:20(+0000) (width: 9.9s)")
    assert reason and "mean full response time 900.0 ms" in reason


@contextmanager
def trickling_api(body_delay: float, header_delay: float = 0.0) -> Iterator[tuple[str, list[float]]]:
    """Every route: headers after `header_delay`, then the JSON body `body_delay` later."""
    arrivals: list[float] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *args: Any) -> None:
            return

        def _answer(self) -> None:
            arrivals.append(time.monotonic())
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            body = b'{"status":"ok","positions":[],"quotes":{}}'
            try:
                time.sleep(header_delay)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.flush()
                time.sleep(body_delay)
                self.wfile.write(body)
            except OSError:
                pass

        do_GET = do_POST = _answer  # noqa: N815 - the names http.server calls

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", arrivals
    finally:
        server.shutdown()
        server.server_close()


def _load_test(tmp_path: Path, url: str, scale: str) -> tuple[Any, dict[str, Any]]:
    if not DEFAULT_ARTILLERY.exists():
        pytest.fail(f"{DEFAULT_ARTILLERY} is missing: run `make setup`")
    payload = tmp_path / "users.csv"
    payload.write_text("userId\nu-1\nu-2\n", encoding="utf-8")
    out = tmp_path / "out"
    result = run_cli(
        "dev", "--outputs", str(write_outputs(tmp_path, url)), "--payload", str(payload), "--scale", scale,
        "--format", "json", "--output-dir", str(out),
    )  # fmt: skip
    report = out / "loadtest-report.json"
    assert report.exists(), result.output
    return result, json.loads(report.read_text(encoding="utf-8"))


@pytest.mark.servers
@pytest.mark.slow
def test_a_body_sent_300_ms_after_the_headers_is_judged_at_300_ms(tmp_path: Path) -> None:
    with trickling_api(0.3) as (url, _):
        result, report = _load_test(tmp_path, url, "0.02")
    latency = next(t for t in report["targets"] if t["id"] == "api-latency")
    row = latency["evidence"][0]
    assert 295 <= row["value"] <= 400, f"full response time {row['value']} ms for a 300 ms body"
    assert row["raw"]["timeToFirstByte"]["mean"] < 100, "time to first byte alone would have passed"
    assert latency["verdict"] == "WARN" and result.exit_code == 0  # WARN passes the default gate


@pytest.mark.servers
@pytest.mark.slow
def test_a_run_clearly_past_critical_is_stopped_early_with_the_reason(tmp_path: Path) -> None:
    # --scale 0.2: planned 12 s + 24 s + 12 s = 48 s; the first period report comes after about 10 s.
    started = time.monotonic()
    with trickling_api(0.6) as (url, arrivals):
        result, report = _load_test(tmp_path, url, "0.2")
        ended = time.monotonic()
        time.sleep(1.5)
        after = sum(1 for moment in arrivals if moment > ended)
    assert ended - started < 30, f"the run took {ended - started:.0f} s of a planned 48 s"
    assert result.exit_code == EXIT_FAIL, result.output
    latency = next(t for t in report["targets"] if t["id"] == "api-latency")
    assert latency["verdict"] == "FAIL" and latency["evidence"][0]["value"] >= 500
    assert any("stopped early by the watchdog" in note and "critical 500 ms" in note for note in report["notes"])
    assert report["calls"][0]["aborted"] and "aborted after" in result.output
    assert after == 0, "no request after the load test ended"


@pytest.mark.servers
@pytest.mark.slow
def test_a_run_whose_virtual_users_keep_failing_is_stopped_on_the_error_rate(tmp_path: Path) -> None:
    # --scale 0.4: planned 24 s + 48 s + 24 s = 96 s at 4, 20, 4 arrivals a second; every route answers 503.
    started = time.monotonic()
    with stand_in_api(0.0, failing_path="/") as (url, api):
        result, report = _load_test(tmp_path, url, "0.4")
        ended = time.monotonic()
        sent = len(api.seen)
        time.sleep(1.5)
        after = len(api.seen) - sent
    assert ended - started < 35, f"the run took {ended - started:.0f} s of a planned 96 s"
    assert result.exit_code == EXIT_FAIL, result.output
    errors = next(t for t in report["targets"] if t["id"] == "error-rate")
    assert errors["verdict"] == "FAIL" and errors["evidence"][0]["value"] == 100
    assert any("stopped early by the watchdog" in note and "error rate 100.0 %" in note for note in report["notes"])
    assert after == 0, "no request after the load test ended"
