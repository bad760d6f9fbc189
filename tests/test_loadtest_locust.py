"""The rendered Locust file run by the real Locust (headless, then master and two workers) against a
local stand-in API, compared with the real Artillery running the same scenario.

The stand-in logs every request: when it arrived, its route, and how long the server took to
answer it (from its headers being read to its body being written). Per phase of the scaled
guide (12 s at 2 new virtual users a second, 24 s at 10, 12 s at 2), the request rate and the
routes of each Locust run must match Artillery's within 5 %, and the latency each engine's
verdict judged must match the server's log within 5 %.
"""

from __future__ import annotations

import ast
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from checks.loadtest.config import plan_load_test
from checks.loadtest.locust_file import render_locustfile, scenario
from checks.model import EXIT_PASS
from checks.outputs import read_outputs_file
from checks.targets import load_targets
from tests.test_loadtest import run_cli, write_outputs

SCALE = "0.2"  # the guide's phases become 12 s at 2/s, 24 s at 10/s, 12 s at 2/s
PHASES = [(12, 2), (24, 10), (12, 2)]
DELAY_SECONDS = 0.120
USER_IDS = ["u-1001", "u-1002", "u-1003", "u-1004"]


@dataclass
class LoggedApi:
    log: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes; see test_loadtest_artillery

            def log_message(self, *args: Any) -> None:
                return

            def _answer(self) -> None:
                arrived, began = time.time(), time.perf_counter()
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                time.sleep(DELAY_SECONDS)
                data = json.dumps({"ok": True}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()
                route = "/api/portfolio/{userId}" if self.path.startswith("/api/portfolio/") else self.path
                with api.lock:
                    api.log.append(
                        {
                            "arrived": arrived,
                            "seconds": time.perf_counter() - began,
                            "route": f"{self.command} {route}",
                            "path": self.path,
                            "body": body,
                            "contentType": self.headers.get("Content-Type"),
                        }
                    )

            do_GET = _answer  # noqa: N815 (http.server's names)
            do_POST = _answer  # noqa: N815

        return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


@contextmanager
def logged_api() -> Iterator[tuple[str, LoggedApi]]:
    api = LoggedApi()
    server = _Server(("127.0.0.1", 0), api.handler())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", api
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class EngineRun:
    name: str
    exit_code: int
    report: dict[str, Any]
    log: list[dict[str, Any]]

    @property
    def judged_latency(self) -> float:
        return next(t for t in self.report["targets"] if t["id"] == "api-latency")["evidence"][0]["value"]

    @property
    def server_latency_ms(self) -> float:
        return 1000 * sum(r["seconds"] for r in self.log) / len(self.log)

    def per_phase(self) -> list[dict[str, Any]]:
        """Requests and routes in each phase's window, from the first request the server saw."""
        start = min(r["arrived"] for r in self.log)
        phases, begin = [], 0.0
        for duration, _rate in PHASES:
            inside = [r for r in self.log if begin <= r["arrived"] - start < begin + duration]
            phases.append({"rate": len(inside) / duration, "routes": Counter(r["route"] for r in inside)})
            begin += duration
        return phases


def run_engine(tmp_path: Path, name: str, *engine: str) -> EngineRun:
    work = tmp_path / name
    work.mkdir()
    payload = work / "users.csv"
    payload.write_text("userId\n" + "\n".join(USER_IDS) + "\n", encoding="utf-8")
    with logged_api() as (url, api):
        result = run_cli(
            "dev", "--outputs", str(write_outputs(work, url)), "--payload", str(payload), "--scale", SCALE,
            "--format", "json", "--output-dir", str(work / "out"), *engine,
        )  # fmt: skip
        log = list(api.log)
    report_file = work / "out" / "loadtest-report.json"
    assert report_file.exists(), result.output
    return EngineRun(name, result.exit_code, json.loads(report_file.read_text(encoding="utf-8")), log)


def within(value: float, reference: float, share: float = 0.05) -> bool:
    return abs(value - reference) <= share * reference


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, EngineRun]:
    tmp_path = tmp_path_factory.mktemp("engines")
    return {
        "artillery": run_engine(tmp_path, "artillery"),
        "locust": run_engine(tmp_path, "locust", "--engine", "locust"),
        "locust-2-workers": run_engine(tmp_path, "locust-2-workers", "--engine", "locust", "--workers", "2"),
    }


@pytest.mark.servers
@pytest.mark.slow
@pytest.mark.timeout(400)
@pytest.mark.parametrize("engine", ["locust", "locust-2-workers"])
def test_locust_matches_artillery_per_phase_and_the_server_log(runs: dict[str, EngineRun], engine: str) -> None:
    artillery, locust = runs["artillery"], runs[engine]
    assert artillery.exit_code == EXIT_PASS and locust.exit_code == EXIT_PASS
    expected_users = sum(duration * rate for duration, rate in PHASES)
    assert Counter(r["route"] for r in locust.log) == {
        "GET /health": expected_users,
        "GET /api/portfolio/{userId}": expected_users,
        "POST /api/market-data": expected_users,
    }
    for number, (theirs, ours) in enumerate(zip(artillery.per_phase(), locust.per_phase(), strict=True), start=1):
        assert within(ours["rate"], theirs["rate"]), f"phase {number}: {ours['rate']:.2f}/s vs {theirs['rate']:.2f}/s"
        for route, count in theirs["routes"].items():
            assert within(ours["routes"][route], count), f"phase {number}, {route}: {ours['routes'][route]} vs {count}"
    for run in (artillery, locust):
        assert within(run.judged_latency, run.server_latency_ms), (
            f"{run.name}: judged {run.judged_latency} ms, server log {run.server_latency_ms:.1f} ms"
        )
    # The guide's requests as Artillery sends them: user ids from the payload, JSON body, JSON headers.
    portfolio = {r["path"].rsplit("/", 1)[1] for r in locust.log if r["route"] == "GET /api/portfolio/{userId}"}
    assert portfolio <= set(USER_IDS) and len(portfolio) > 1
    posts = [r for r in locust.log if r["route"] == "POST /api/market-data"]
    assert all(r["body"] == {"symbols": ["AAPL", "GOOGL", "MSFT"]} for r in posts)
    assert all(r["contentType"] == "application/json" for r in locust.log)
    error_rate = next(t for t in locust.report["targets"] if t["id"] == "error-rate")["evidence"][0]
    assert error_rate["value"] == 0 and error_rate["samples"] == expected_users
    assert locust.report["calls"][0]["workers"] == (2 if engine.endswith("workers") else 0)


def _plan(tmp_path: Path, url: str = "http://127.0.0.1:9", stack: str = "dev") -> Any:
    outputs = read_outputs_file(write_outputs(tmp_path, url, stack=stack))
    return plan_load_test(outputs, load_targets(None), scale=0.05)


def test_the_rendered_file_holds_the_scenario_as_a_literal_read_back_exactly(tmp_path: Path) -> None:
    plan = _plan(tmp_path, "http://127.0.0.1:9/base'+__import__('os')+'")
    text = render_locustfile(plan, generators=2)
    tree = ast.parse(text)
    assigned = [
        node
        for node in tree.body
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == "SCENARIO"
    ]
    assert len(assigned) == 1
    # The value is a pure literal (no call, no name): the quote and the code in the URL stay data.
    assert ast.literal_eval(assigned[0].value) == scenario(plan, 2)
    assert ast.literal_eval(assigned[0].value)["target"] == "http://127.0.0.1:9/base'+__import__('os')+'"
    assert [p["arrivalRate"] for p in scenario(plan)["phases"]] == [p.arrival_rate for p in plan.phases]


def test_a_newline_in_the_stack_name_cannot_leave_the_header_comment(tmp_path: Path) -> None:
    plan = _plan(tmp_path, stack="dev\nimport os")
    header = render_locustfile(plan).split("from __future__")[0]
    assert "\nimport os" not in header and "dev\\nimport os" in header
