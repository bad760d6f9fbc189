"""The Azure Load Testing engine through the real `azure-developer-loadtesting` SDK, against a local
stand-in of the service's data-plane REST API (tests/fixtures/checks/fake_loadtesting.py, shapes
of loadtestservice.json 2022-11-01). A fake credential is injected; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from checks.loadtest.azure_engine import API_VERSION, AzureLoadTestError, download_results
from checks.loadtest.config import plan_load_test
from checks.loadtest.engines import EngineError, azure_test_id, run_azure_engine
from checks.loadtest.locust_file import render_locustfile
from checks.model import EXIT_FAIL, EXIT_PASS, EXIT_USAGE, EXIT_WARN, Policy
from checks.outputs import read_outputs_file
from checks.targets import load_targets
from tests.fixtures.checks.fake_azure import FakeCredential, Fault
from tests.fixtures.checks.fake_loadtesting import FakeLoadTesting
from tests.test_loadtest import run_cli, write_outputs

SUBNET = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-finagent-staging/providers/"
    "Microsoft.Network/virtualNetworks/vnet/subnets/snet-loadtest"
)
STATISTICS = {
    "GET /health": {"sampleCount": 100, "errorCount": 0, "meanResTime": 80},
    "GET /api/portfolio/{userId}": {"sampleCount": 100, "errorCount": 1, "meanResTime": 120},
    "POST /api/market-data": {"sampleCount": 99, "errorCount": 2, "meanResTime": 150},
    "Total": {
        "sampleCount": 299, "errorCount": 3, "errorPct": 1.0, "meanResTime": 116.6, "medianResTime": 110,
        "pct1ResTime": 200, "pct2ResTime": 250, "pct3ResTime": 300, "minResTime": 60, "maxResTime": 400,
    },
}  # fmt: skip


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeLoadTesting]:
    service = FakeLoadTesting(tmp_path, statistics=STATISTICS).start()
    try:
        yield service
    finally:
        service.stop()


def plan_and_outputs(tmp_path: Path) -> tuple[Any, Any]:
    outputs = read_outputs_file(write_outputs(tmp_path, "https://ca-backend.internal.example.azurecontainerapps.io"))
    return plan_load_test(outputs, load_targets(None), scale=0.05), outputs


def run(fake: FakeLoadTesting, tmp_path: Path, **overrides: Any) -> Any:
    plan, outputs = plan_and_outputs(tmp_path)
    credential = overrides.pop("credential", FakeCredential())
    settings = {
        "endpoint": fake.host,
        "credential": credential,
        "engines": 3,
        "subnet_id": SUBNET,
        "output_dir": tmp_path / "out",
        "say": lambda line: None,
        "client_kwargs": {"connection_verify": str(fake.cert), "retry_backoff_factor": 0.05},
        "download_verify": ssl.create_default_context(cafile=str(fake.cert)),
        "poll_seconds": 0.05,
        **overrides,
    }
    (tmp_path / "out").mkdir(exist_ok=True)
    return plan, run_azure_engine(plan, outputs, Policy(fail_on="critical"), **settings)


def target(report: Any, target_id: str) -> Any:
    return next(t for t in report.targets if t.id == target_id)


def test_creates_the_test_uploads_both_files_runs_follows_and_judges(fake: FakeLoadTesting, tmp_path: Path) -> None:
    credential = FakeCredential()
    plan, report = run(fake, tmp_path, credential=credential)
    assert fake.routes()[:6] == ["test", "file", "file-get", "file", "file-get", "run-start"]
    assert fake.routes()[-1] == "results" and "stop" not in fake.routes()
    assert {c.query["api-version"][0] for c in fake.calls if c.route != "results"} == {API_VERSION}
    assert all(c.authorization == "Bearer fake-token" for c in fake.calls if c.route != "results")
    assert next(c for c in fake.calls if c.route == "results").authorization is None  # the SAS URL gets no token
    assert set(credential.scopes) == {"https://cnt-prod.loadtesting.azure.com/.default"}  # both clients

    test_id = azure_test_id("dev")
    test = fake.tests[test_id]
    assert test["kind"] == "Locust" and test["subnetId"] == SUBNET
    assert test["loadTestConfiguration"] == {"engineInstances": 3, "splitAllCSVs": False}
    assert test["passFailCriteria"]["passFailMetrics"] == {
        "api-latency-critical": {
            "clientMetric": "response_time_ms", "aggregate": "avg", "condition": ">", "value": 500,
            "action": "continue",
        },
        "error-rate-critical": {
            "clientMetric": "error", "aggregate": "percentage", "condition": ">", "value": 5, "action": "continue",
        },
    }  # fmt: skip
    uploads = {c.path.rsplit("/", 1)[1]: c.query["fileType"][0] for c in fake.calls if c.route == "file"}
    assert uploads == {"locustfile.py": "TEST_SCRIPT", "users.csv": "ADDITIONAL_ARTIFACTS"}
    assert fake.uploads[(test_id, "locustfile.py")].decode() == render_locustfile(plan, generators=3)
    assert fake.uploads[(test_id, "users.csv")].decode().startswith("userId\n")

    latency, errors = target(report, "api-latency"), target(report, "error-rate")
    assert latency.verdict == "PASS" and latency.evidence[0].value == 117  # (100*80 + 100*120 + 99*150) / 299
    assert latency.evidence[0].stats["p95"] == 250 and latency.evidence[0].samples == 299
    assert errors.verdict == "WARN" and errors.evidence[0].value == 3.0  # 3 failed of 100 virtual users
    assert report.exit_code == EXIT_PASS and report.sources == ["azure-load-testing"]
    assert (tmp_path / "out" / "azure-results.zip").read_bytes().startswith(b"PK")
    assert report.calls[0]["statuses"][-1] == "DONE" and report.calls[0]["testResult"] == "PASSED"
    assert report.model_copy(update={"policy": Policy(fail_on="warn")}).targets  # same model as the checks'


def test_latency_beyond_critical_fails_like_every_engine(fake: FakeLoadTesting, tmp_path: Path) -> None:
    fake.statistics = {**STATISTICS, "POST /api/market-data": {"sampleCount": 99, "errorCount": 0, "meanResTime": 1500}}
    fake.test_result = "FAILED"
    _, report = run(fake, tmp_path)
    assert target(report, "api-latency").verdict == "FAIL" and report.exit_code == EXIT_FAIL
    assert any("gave FAILED" in note for note in report.notes)


def test_warn_exits_1_with_fail_on_warn(fake: FakeLoadTesting, tmp_path: Path) -> None:
    plan, outputs = plan_and_outputs(tmp_path)
    report = run_azure_engine(
        plan, outputs, Policy(fail_on="warn"), endpoint=fake.host, credential=FakeCredential(), engines=1,
        subnet_id=None, output_dir=None, say=lambda line: None, client_kwargs={"connection_verify": str(fake.cert)},
        download_verify=ssl.create_default_context(cafile=str(fake.cert)), poll_seconds=0.05,
    )  # fmt: skip
    assert report.exit_code == EXIT_WARN
    assert "subnetId" not in fake.tests[azure_test_id("dev")]


def test_a_file_the_service_rejects_stops_before_any_run(fake: FakeLoadTesting, tmp_path: Path) -> None:
    fake.reject_file = "locustfile.py"
    with pytest.raises(EngineError, match=r"rejected locustfile.py: Locust file is invalid: no User class found"):
        run(fake, tmp_path)
    assert "run-start" not in fake.routes()


def test_an_upload_refused_with_an_error_names_the_file_and_status(fake: FakeLoadTesting, tmp_path: Path) -> None:
    headers = {"x-ms-error-code": "InvalidFile", "Content-Type": "application/json"}
    body = b'{"error": {"code": "InvalidFile", "message": "File size exceeds 50 MB"}}'
    fake.fault("file", Fault(status=400, headers=headers, body=body))
    with pytest.raises(EngineError, match=r"uploading locustfile.py to test 'fin-infra-dev' failed: HTTP 400"):
        run(fake, tmp_path)
    assert "run-start" not in fake.routes()


def test_a_run_that_ends_failed_is_an_engine_failure_with_the_service_reason(
    fake: FakeLoadTesting, tmp_path: Path
) -> None:
    fake.statuses = ["PROVISIONING", "EXECUTING", "FAILED"]
    with pytest.raises(EngineError, match=r"ended FAILED: Engine health check failed: the target was unreachable"):
        run(fake, tmp_path)
    assert "results" not in fake.routes()


def test_a_throttled_poll_is_retried_after_its_retry_after(fake: FakeLoadTesting, tmp_path: Path) -> None:
    fake.fault("run-get", Fault(status=429, headers={"Retry-After": "1", "Content-Type": "application/json"},
                                body=b'{"error": {"code": "TooManyRequests", "message": "slow down"}}'))  # fmt: skip
    _, report = run(fake, tmp_path)
    polls = [c for c in fake.calls if c.route == "run-get"]
    assert len(polls) >= len(fake.statuses) + 1  # the throttled one, then every status
    assert target(report, "api-latency").verdict == "PASS"


def test_a_run_past_its_time_limit_is_stopped_on_the_service(fake: FakeLoadTesting, tmp_path: Path) -> None:
    fake.statuses = ["PROVISIONING"] + ["EXECUTING"] * 1000
    with pytest.raises(EngineError, match=r"did not end within 1 s"):
        run(fake, tmp_path, timeout_seconds=1)
    assert "stop" in fake.routes()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--workers", "2"], "--workers is an option of --engine locust, not of --engine artillery"),
        (["--engine", "locust", "--engine-instances", "3"], "--engine-instances is an option of --engine azure"),
        (["--engine", "locust", "--azure-endpoint", "x.example"], "--azure-endpoint is an option of --engine azure"),
        (["--engine", "azure", "--workers", "1"], "--workers is an option of --engine locust, not of --engine azure"),
        (["--engine", "azure"], "--engine azure needs --azure-endpoint"),
        (["--engine", "azure", "--azure-endpoint", "https://h.example/path?x"], "is not a host name"),
    ],
)
def test_engine_options_belong_to_their_engine(tmp_path: Path, options: list[str], message: str) -> None:
    result = run_cli("dev", "--outputs", str(write_outputs(tmp_path)), *options)
    assert result.exit_code == EXIT_USAGE, result.output
    assert message in result.output


def test_render_only_prints_the_locust_file_for_azure_without_an_endpoint(tmp_path: Path) -> None:
    result = run_cli("dev", "--outputs", str(write_outputs(tmp_path)), "--engine", "azure", "--render-only")
    assert result.exit_code == 0, result.output
    assert "'generators': 1" in result.output and "class Arrivals(User)" in result.output


def test_a_failed_results_download_does_not_show_the_sas_signature(tmp_path: Path) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Forbidden(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(403)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Forbidden)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/results.zip?sv=2022-11-02&sig=PLANTEDsignature123"
        with pytest.raises(AzureLoadTestError) as raised:
            download_results(url, tmp_path / "results.zip")
    finally:
        server.shutdown()
        server.server_close()
    assert "403" in str(raised.value) and "PLANTEDsignature123" not in str(raised.value)
