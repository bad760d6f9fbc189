"""Ctrl-C (SIGINT) and SIGTERM stop `check` and `loadtest` promptly, completely and cleanly.

Each test starts the real command against a local target that records when every request
arrives, signals it mid-run, and asserts: the exit within 2 s, the exit code (130 after SIGINT,
143 after SIGTERM), no child process left (Artillery, Chromium and their helpers), nothing
left in the temporary folder (the load test's scratch directory, Chromium's profile and
singleton directories) and no request reaching the target after the exit. `check` also writes
its partial report, marked interrupted.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from checks.loadtest.artillery import DEFAULT_ARTILLERY
from tests.fixtures.checks.fake_azure import FakeAzure, Fault
from tests.test_loadtest import write_outputs

pytestmark = [pytest.mark.servers, pytest.mark.slow]

CLI = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "fin-infra"
DEV_OUTPUTS = Path(__file__).resolve().parent / "fixtures" / "checks" / "outputs-dev.json"
SIGNALS = [(signal.SIGINT, 130), (signal.SIGTERM, 143)]
EXIT_WITHIN_SECONDS = 2.0


class Recorder:
    """A target that answers every GET/POST after `delay` seconds and records each arrival time."""

    def __init__(self, delay: float, page: bool = False) -> None:
        self.delay, self.page = delay, page
        self.arrivals: list[float] = []
        self.lock = threading.Lock()

    def handler(self) -> type[BaseHTTPRequestHandler]:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:
                return

            def _answer(self) -> None:
                with recorder.lock:
                    recorder.arrivals.append(time.monotonic())
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                if recorder.page and self.path == "/":
                    body, kind = b"<!doctype html><p>x</p><script src='/hang.js'></script>", "text/html"
                else:
                    time.sleep(recorder.delay)
                    body, kind = b'{"status":"ok"}', "application/json"
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass

            do_GET = do_POST = _answer  # noqa: N815 - the names http.server calls

        return Handler

    def after(self, moment: float) -> int:
        with self.lock:
            return sum(1 for arrival in self.arrivals if arrival > moment)


@contextmanager
def recording_server(delay: float, page: bool = False) -> Iterator[tuple[str, Recorder]]:
    recorder = Recorder(delay, page)
    server = ThreadingHTTPServer(("127.0.0.1", 0), recorder.handler())
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", recorder
    finally:
        server.shutdown()
        server.server_close()


def descendants(pid: int) -> set[int]:
    """Every process below `pid` (by parent links in /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(condition, timeout: float, what: str, process: subprocess.Popen[str]) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    _, stderr = process.communicate()
    pytest.fail(f"timed out waiting for {what}; the command printed: {stderr[-2000:]}")


def interrupt(process: subprocess.Popen[str], signum: int, children_expected: bool) -> tuple[float, float, set[int]]:
    """Signal the command; returns (seconds to exit, exit moment, the children it had)."""
    children = descendants(process.pid)
    if children_expected:
        assert children, "the command had started its child processes"
    sent = time.monotonic()
    process.send_signal(signum)
    try:
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    exited = time.monotonic()
    return exited - sent, exited, children


def assert_clean(children: set[int], tmp: Path, recorder: Recorder, exited: float) -> None:
    time.sleep(1.5)  # anything still running would send again within this time
    left = [pid for pid in children if alive(pid)]
    assert not left, f"child processes left running: {left}"
    assert recorder.after(exited) == 0, "the target received requests after the command exited"
    assert not list(tmp.iterdir()), f"left in the temporary folder: {[p.name for p in tmp.iterdir()]}"


def environment(tmp: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "TMPDIR": str(tmp), **extra}


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A temporary folder with a short path: Chromium's singleton socket path must fit 108 bytes
    (a pytest tmp_path is too long: Chromium then fails to start and leaves its singleton dir)."""
    folder = Path(tempfile.mkdtemp(prefix="fi-", dir="/tmp"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize(("signum", "code"), [*SIGNALS, (signal.SIGHUP, 129)])
def test_loadtest_stops_artillery_and_cleans_up(tmp_path: Path, short_tmp: Path, signum: int, code: int) -> None:
    if not DEFAULT_ARTILLERY.exists():
        pytest.fail(f"{DEFAULT_ARTILLERY} is missing: run `make setup`")
    tmp = short_tmp
    payload = tmp_path / "users.csv"
    payload.write_text("userId\nu-1\nu-2\n", encoding="utf-8")
    with recording_server(0.01) as (url, recorder):
        outputs = write_outputs(tmp_path, url)
        process = subprocess.Popen(
            [str(CLI), "loadtest", "dev", "--outputs", str(outputs), "--payload", str(payload), "--scale", "0.5"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment(tmp),
        )  # fmt: skip
        wait_for(lambda: len(recorder.arrivals) >= 6, 60, "Artillery's first requests", process)
        seconds, exited, children = interrupt(process, signum, children_expected=True)
        stderr = process.stderr.read() if process.stderr else ""
        assert process.returncode == code, stderr
        assert seconds <= EXIT_WITHIN_SECONDS, f"took {seconds:.1f} s to exit"
        assert "interrupted by" in stderr and "Traceback" not in stderr
        assert_clean(children, tmp, recorder, exited)


def _check_endpoints(path: Path, backend: str, web: str) -> Path:
    document = {
        "services": {"backend": {"url": backend}, "web": {"url": web}},
        "probes": {"http": {"requests": 40, "ratePerSecond": 4, "timeoutSeconds": 20}, "pageLoad": {"loads": 3}},
    }
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


@pytest.mark.parametrize(("signum", "code"), SIGNALS)
@pytest.mark.parametrize("target", ["api-latency", "page-load"])
def test_check_stops_probes_and_chromium_and_writes_the_partial_report(
    tmp_path: Path, short_tmp: Path, signum: int, code: int, target: str
) -> None:
    tmp = short_tmp
    out = tmp_path / "out"
    with recording_server(5.0, page=True) as (url, recorder):
        endpoints = _check_endpoints(tmp_path / "endpoints.yaml", url, url)
        process = subprocess.Popen(
            [str(CLI), "check", "dev", "--source", "probe", "--outputs", str(DEV_OUTPUTS), "--endpoints",
             str(endpoints), "--only", target, "--no-conformance", "--format", "json,junit,markdown",
             "--output-dir", str(out)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment(tmp),
        )  # fmt: skip
        # The page's script never arrives within the test: Chromium is mid-load when the signal comes.
        wait_for(lambda: len(recorder.arrivals) >= 2, 60, "the probe's first requests", process)
        time.sleep(0.3)
        seconds, exited, children = interrupt(process, signum, children_expected=target == "page-load")
        stderr = process.stderr.read() if process.stderr else ""
        assert process.returncode == code, stderr
        assert seconds <= EXIT_WITHIN_SECONDS, f"took {seconds:.1f} s to exit"
        assert "Traceback" not in stderr
        report = json.loads((out / "check-report.json").read_text(encoding="utf-8"))
        assert report["outcome"] == "interrupted" and report["exitCode"] == code
        assert report["interrupted"] == signal.Signals(signum).name
        assert any("interrupted by" in note for note in report["notes"])
        assert "interrupted" in (out / "check-report.md").read_text(encoding="utf-8")
        assert_clean(children, tmp, recorder, exited)


@pytest.mark.parametrize(("signum", "code"), SIGNALS)
def test_check_abandons_slow_azure_queries_and_writes_the_partial_report(
    tmp_path: Path, short_tmp: Path, signum: int, code: int
) -> None:
    """Metrics and ARM answer after 8 s: the signal must not wait for them."""
    fake = FakeAzure(tmp_path).start()
    try:
        fake.fault("metrics", Fault(delay=8), always=True)
        fake.fault("arm", Fault(delay=8), always=True)
        az = tmp_path / "az"
        az.write_text(
            '#!/bin/sh\necho \'{"accessToken": "cli-token", "expiresOn": "2099-01-01 00:00:00.000000", '
            '"expires_on": 4070908800, "tokenType": "Bearer"}\'\n',
            encoding="utf-8",
        )
        az.chmod(0o755)
        out = tmp_path / "out"
        env = environment(
            short_tmp,
            PATH=f"{tmp_path}:{os.environ['PATH']}",
            AZURE_TOKEN_CREDENTIALS="AzureCliCredential",
            REQUESTS_CA_BUNDLE=str(fake.cert),
        )
        process = subprocess.Popen(
            [str(CLI), "check", "dev", "--source", "azure", "--outputs", str(DEV_OUTPUTS), "--retries", "0",
             "--timeout", "60", "--arm-endpoint", fake.url, "--metrics-endpoint", fake.url, "--logs-endpoint",
             fake.url, "--format", "json", "--output-dir", str(out)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        wait_for(lambda: len(fake.requests) >= 2, 60, "the metrics and ARM queries", process)
        seconds, _, children = interrupt(process, signum, children_expected=False)
        stderr = process.stderr.read() if process.stderr else ""
        assert process.returncode == code, stderr
        assert seconds <= EXIT_WITHIN_SECONDS, f"took {seconds:.1f} s to exit"
        assert "Traceback" not in stderr
        report = json.loads((out / "check-report.json").read_text(encoding="utf-8"))
        assert report["outcome"] == "interrupted" and report["exitCode"] == code
        assert all(t["verdict"] == "NO_DATA" for t in report["targets"])
        sent = len(fake.requests)
        time.sleep(1.5)
        assert len(fake.requests) == sent, "queries were sent after the exit"
        assert not [pid for pid in children if alive(pid)]
        assert not list(short_tmp.iterdir())
    finally:
        fake.stop()
