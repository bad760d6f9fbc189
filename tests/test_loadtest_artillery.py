"""The real Artillery (node_modules/.bin/artillery, installed by `make setup-checks`) against a local API.

A stand-in for the backend on 127.0.0.1 serves the guide's three routes with a known delay;
`fin-infra loadtest` renders the config for a stack whose outputs point there, runs Artillery
with the phases scaled to a few seconds, and its verdicts must show what the server injected.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from checks.loadtest.artillery import DEFAULT_ARTILLERY
from checks.model import EXIT_FAIL, EXIT_PASS, EXIT_WARN
from tests.test_loadtest import run_cli, write_outputs

pytestmark = [pytest.mark.servers, pytest.mark.slow]

SMOKE_SCALE = "0.02"  # the guide's phases become 1 s, 2 s and 1 s at 1 arrival a second
USER_IDS = ["u-1001", "u-1002", "u-1003"]


@dataclass
class StandInApi:
    """The three routes of the guide's scenario, each answering after `delay_seconds`."""

    delay_seconds: float
    failing_path: str | None = None
    seen: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out as separate writes: with Nagle's algorithm and the
            # client's delayed ACK the body would wait about 40 ms, which the full response
            # time (http.total) rightly counts. The stand-in's latency is its delay alone.
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                return

            def _answer(self, body: Any) -> None:
                time.sleep(api.delay_seconds)
                status = 200
                if self.path == "/health":
                    payload = {"status": "healthy"}
                elif self.path.startswith("/api/portfolio/") and self.command == "GET":
                    payload = {"userId": self.path.rsplit("/", 1)[1], "positions": []}
                elif self.path == "/api/market-data" and self.command == "POST":
                    payload = {"quotes": {symbol: 100.0 for symbol in (body or {}).get("symbols", [])}}
                else:
                    status, payload = 404, {"error": "not found"}
                if api.failing_path and self.path.startswith(api.failing_path):
                    status, payload = 503, {"status": "degraded"}
                with api.lock:
                    api.seen.append(
                        {
                            "method": self.command,
                            "path": self.path,
                            "contentType": self.headers.get("Content-Type"),
                            "body": body,
                            "status": status,
                        }
                    )
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._answer(None)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                self._answer(json.loads(raw) if raw else None)

        return Handler


@contextmanager
def stand_in_api(delay_seconds: float, failing_path: str | None = None) -> Iterator[tuple[str, StandInApi]]:
    api = StandInApi(delay_seconds, failing_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), api.handler())
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", api
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module", autouse=True)
def artillery_installed() -> None:
    if not DEFAULT_ARTILLERY.exists():
        pytest.fail(f"{DEFAULT_ARTILLERY} is missing: run `make setup-checks` (installs the pinned Artillery)")


def load_test(tmp_path: Path, url: str, *extra: str) -> tuple[Any, dict[str, Any]]:
    payload = tmp_path / "users.csv"
    payload.write_text("userId\n" + "\n".join(USER_IDS) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    result = run_cli(
        "dev", "--outputs", str(write_outputs(tmp_path, url)), "--payload", str(payload), "--scale", SMOKE_SCALE,
        "--format", "json,markdown,junit", "--output-dir", str(out), *extra,
    )  # fmt: skip
    report_file = out / "loadtest-report.json"
    assert report_file.exists(), result.output
    return result, json.loads(report_file.read_text(encoding="utf-8"))


def target(report: dict[str, Any], target_id: str) -> dict[str, Any]:
    return next(t for t in report["targets"] if t["id"] == target_id)


def test_verdicts_show_the_latency_the_server_injected(tmp_path: Path) -> None:
    with stand_in_api(0.060) as (url, api):
        result, report = load_test(tmp_path, url)
    assert result.exit_code == EXIT_PASS, result.output

    latency = target(report, "api-latency")
    row = latency["evidence"][0]
    assert latency["verdict"] == "PASS" and latency["source"] == "artillery"
    assert 60 <= row["value"] <= 66, f"mean {row['value']} ms for a 60 ms server"
    assert row["samples"] == len(api.seen)
    assert row["series"] and all(60 <= p["value"] <= 70 for p in row["series"])
    first_bytes = row["raw"]["byRequestTimeToFirstByte"]
    assert set(first_bytes) == {"GET /health", "GET /api/portfolio/{userId}", "POST /api/market-data"}
    assert all(60 <= mean <= 70 for mean in first_bytes.values())
    assert row["thresholds"] == {"unit": "ms", "better": "lower", "target": 200, "critical": 500}

    errors = target(report, "error-rate")
    assert errors["verdict"] == "PASS" and errors["evidence"][0]["value"] == 0
    assert errors["evidence"][0]["samples"] >= 3

    # The guide's scenario reached the server: the three routes, user ids from the payload, JSON.
    paths = [(r["method"], r["path"]) for r in api.seen]
    assert ("GET", "/health") in paths and ("POST", "/api/market-data") in paths
    portfolio = [p for m, p in paths if p.startswith("/api/portfolio/")]
    assert portfolio and {p.rsplit("/", 1)[1] for p in portfolio} <= set(USER_IDS)
    posts = [r for r in api.seen if r["method"] == "POST"]
    assert all(r["contentType"] == "application/json" for r in api.seen)
    assert all(r["body"] == {"symbols": ["AAPL", "GOOGL", "MSFT"]} for r in posts)

    (call,) = report["calls"]
    assert call["exitCode"] == 0 and call["version"] == "2.0.34"
    assert {c["check"] for c in call["ensure"] if c["strict"]} == {
        "http.total.mean < 500",
        "(vusers.created - vusers.completed) / vusers.created * 100 < 5",
    }
    assert all(c["ok"] for c in call["ensure"])
    assert (tmp_path / "out" / "loadtest-report.md").read_text(encoding="utf-8").startswith("### ✅ Loadtest")


def test_latency_beyond_critical_fails_and_artillery_ensure_exits_1(tmp_path: Path) -> None:
    with stand_in_api(0.550) as (url, _):
        result, report = load_test(tmp_path, url)
    assert result.exit_code == EXIT_FAIL, result.output
    latency = target(report, "api-latency")
    assert latency["verdict"] == "FAIL"
    assert 550 <= latency["evidence"][0]["value"] <= 570
    (call,) = report["calls"]
    assert call["exitCode"] == 1
    failed = [c for c in call["ensure"] if not c["ok"]]
    assert {(c["check"], c["strict"]) for c in failed} == {
        ("http.total.mean < 500", True),
        ("http.total.mean < 200", False),
    }
    assert not any("disagree" in note for note in report["notes"])
    assert 'failures="1"' in (tmp_path / "out" / "loadtest-report.junit.xml").read_text(encoding="utf-8")


def test_latency_between_target_and_critical_warns_where_artillery_only_prints_optional(tmp_path: Path) -> None:
    with stand_in_api(0.250) as (url, _):
        result, report = load_test(tmp_path, url, "--fail-on", "warn")
    assert result.exit_code == EXIT_WARN, result.output
    assert target(report, "api-latency")["verdict"] == "WARN"
    (call,) = report["calls"]
    assert call["exitCode"] == 0, "a failed optional ensure check leaves Artillery's exit code at 0"
    assert [c["check"] for c in call["ensure"] if not c["ok"]] == ["http.total.mean < 200"]


def test_server_errors_fail_the_virtual_users_and_the_error_rate(tmp_path: Path) -> None:
    with stand_in_api(0.020, failing_path="/api/market-data") as (url, api):
        result, report = load_test(tmp_path, url)
    assert result.exit_code == EXIT_FAIL, result.output
    errors = target(report, "error-rate")
    row = errors["evidence"][0]
    assert errors["verdict"] == "FAIL" and row["value"] == 100
    assert row["raw"]["codes"]["503"] == sum(1 for r in api.seen if r["status"] == 503) > 0
    assert set(row["raw"]["errors"]) == {"HTTP_503"}
    assert target(report, "api-latency")["verdict"] == "PASS"
    (call,) = report["calls"]
    assert call["exitCode"] == 1
