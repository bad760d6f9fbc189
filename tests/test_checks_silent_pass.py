"""Never a silent pass (issue 13): each case gave PASS, or a milder verdict, where the truth is
FAIL or NO_DATA. Every test runs against a real server started here (HTTP, Redis, PostgreSQL,
Chromium) or the local Azure stand-in through the real Azure client libraries.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from checks.clouds import cloud_profile
from checks.endpoints import Endpoints, parse_endpoints
from checks.jobs import jobs_for
from checks.model import Policy, Window, decide
from checks.outputs import StackOutputs, read_outputs_file
from checks.render import RENDERERS
from checks.runner import CheckOptions, run_check
from checks.sources.azure import AzureAccess
from checks.sources.metrics import MetricsSource
from checks.sources.probes import ProbeSource
from checks.targets import load_targets
from tests.fixtures.checks.fake_azure import FakeAzure, FakeCredential, Fault, Series, self_signed_cert
from tests.fixtures.checks.servers import (
    free_port,
    page_server,
    postgres_server,
    redis_server,
    restartable_redis,
    scripted_server,
    send,
    trickle,
)

FIXTURES = Path(__file__).parent / "fixtures" / "checks"
NOW = datetime.now(UTC).replace(microsecond=0)
WINDOW = Window(start=NOW - timedelta(minutes=15), end=NOW)


def outputs(name: str) -> StackOutputs:
    return read_outputs_file(FIXTURES / f"outputs-{name}.json")


def probe_run(url: str, *, only: str = "api-latency", policy: Policy | None = None, **http: float):
    """A probe-only check of `only` against `url` (backend and web), as `fin-infra check --source probe`."""
    settings = {"requests": 10, "ratePerSecond": 10, "timeoutSeconds": 1, **http}
    endpoints = parse_endpoints(
        {
            "services": {"backend": {"url": url}, "web": {"url": url}},
            "probes": {"http": settings, "pageLoad": {"loads": 2, "timeoutSeconds": 1}},
        }
    )
    options = CheckOptions(source="probe", only=[only], conformance=False, policy=policy or Policy())
    return run_check(outputs("dev"), load_targets(), endpoints, options, None)


def result(report, target_id: str):
    return next(t for t in report.targets if t.id == target_id)


# -- 1. timeouts are data -------------------------------------------------------------------------


@pytest.mark.servers
def test_timed_out_requests_count_as_at_least_the_timeout_and_fail_the_run() -> None:
    def respond(handler, index: int) -> None:
        time.sleep(3.0 if index % 10 in (0, 1, 2) else 0.002)  # requests 1, 2 and 10 of 10: 30 %
        send(handler, 200)

    with scripted_server(respond) as server:
        report = probe_run(server.url)
    latency = result(report, "api-latency")
    [row] = latency.evidence
    assert row.lower_bound and latency.lower_bound
    assert row.value >= 300, f"3 of 10 requests took at least 1000 ms: the mean is at least 300 ms, got {row.value}"
    assert row.verdict == "WARN" and row.samples == 10
    errors = result(report, "api-latency-errors")
    assert errors.verdict == "FAIL" and errors.value == 30.0
    assert "3x timeout" in errors.summary
    assert report.exit_code == 2


@pytest.mark.servers
def test_every_request_timing_out_is_a_fail_not_no_data() -> None:
    def respond(handler, index: int) -> None:
        time.sleep(2.0)
        send(handler, 200)

    with scripted_server(respond) as server:
        report = probe_run(server.url, requests=4, ratePerSecond=8, timeoutSeconds=0.5)
    assert result(report, "api-latency-errors").verdict == "FAIL"
    latency = result(report, "api-latency")
    # Each counts as at least the 500 ms timeout (from its scheduled send): at the critical line.
    assert latency.lower_bound and 500 <= latency.value < 600 and latency.verdict == "FAIL"
    assert report.exit_code == 2


@pytest.mark.servers
@pytest.mark.slow
def test_page_loads_that_time_out_count_as_at_least_the_timeout() -> None:
    with page_server(script_delay_seconds=4.0) as server:
        report = probe_run(server.url, only="page-load")
    page = result(report, "page-load")
    assert page.lower_bound and page.value >= 1000
    assert result(report, "page-load-errors").verdict == "FAIL"
    assert report.exit_code == 2


# -- 2. a dead endpoint fails ---------------------------------------------------------------------


@pytest.mark.servers
def test_a_health_path_answering_503_every_time_fails_even_with_no_data_ignored() -> None:
    with scripted_server(lambda handler, index: send(handler, 503, b'{"status":"degraded"}')) as server:
        report = probe_run(server.url, policy=Policy(no_data="ignore"))
    errors = result(report, "api-latency-errors")
    assert errors.verdict == "FAIL" and errors.value == 100.0 and "10x HTTP 503" in errors.summary
    assert report.exit_code == 2


@pytest.mark.servers
def test_a_25_percent_error_rate_fails_by_the_load_tests_error_thresholds() -> None:
    limits = load_targets().load_test.error_rate
    with scripted_server(lambda handler, index: send(handler, 503 if index % 4 == 0 else 200)) as server:
        report = probe_run(server.url, requests=8, ratePerSecond=16)
    errors = result(report, "api-latency-errors")
    assert (errors.thresholds.target, errors.thresholds.critical) == (limits.target, limits.critical)
    assert errors.value == 25.0 and errors.verdict == "FAIL"
    assert result(report, "api-latency").verdict == "PASS", "the successful requests' latency is still judged"
    assert report.exit_code == 2


@pytest.mark.servers
def test_refused_connections_and_redirects_to_errors_fail() -> None:
    refused = probe_run(f"http://127.0.0.1:{free_port()}", policy=Policy(no_data="ignore"))
    errors = result(refused, "api-latency-errors")
    assert errors.verdict == "FAIL" and "connection refused" in errors.summary
    assert refused.exit_code == 2

    def respond(handler, index: int) -> None:
        if handler.path == "/health":
            send(handler, 302, headers={"Location": "/error"})
        else:
            send(handler, 500)

    with scripted_server(respond) as server:
        redirected = probe_run(server.url, policy=Policy(no_data="ignore"))
    errors = result(redirected, "api-latency-errors")
    assert errors.verdict == "FAIL" and "HTTP 500 after a redirect" in errors.summary
    assert redirected.exit_code == 2


@pytest.mark.servers
def test_tls_honours_requests_ca_bundle_and_names_a_certificate_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = self_signed_cert(tmp_path)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    with scripted_server(lambda handler, index: send(handler, 200), tls=(cert, key)) as server:
        untrusted = probe_run(server.url)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))  # what the README tells users to set
        trusted = probe_run(server.url)
    errors = result(untrusted, "api-latency-errors")
    assert errors.verdict == "FAIL" and "TLS certificate verification failed" in errors.summary
    assert "connection refused" not in errors.summary
    assert result(trusted, "api-latency").verdict == "PASS" and trusted.exit_code == 0


@pytest.mark.servers
def test_a_server_trickling_its_body_cannot_stretch_the_probe_past_its_deadline() -> None:
    # 4 requests at 4/s with a 1 s timeout: at most 1 s of warm-up + 1 s of schedule + 1 s.
    with scripted_server(lambda handler, index: trickle(handler, b"x" * 16, 0.5)) as server:
        started = time.monotonic()
        report = probe_run(server.url, requests=4, ratePerSecond=4, timeoutSeconds=1)
        elapsed = time.monotonic() - started
    assert elapsed < 3.6, f"the probe ran {elapsed:.1f} s"
    assert result(report, "api-latency-errors").verdict == "FAIL"


@pytest.mark.servers
def test_failed_requests_show_in_every_report_format() -> None:
    with scripted_server(lambda handler, index: send(handler, 503 if index % 4 == 0 else 200)) as server:
        report = probe_run(server.url, requests=8, ratePerSecond=16)
    for name, render in RENDERERS.items():
        text = render(report)
        assert "api-latency-errors" in text, name
        assert "2 of 8 requests failed" in text, name
    document = json.loads(RENDERERS["json"](report))
    errors = next(t for t in document["targets"] if t["id"] == "api-latency-errors")
    assert errors["evidence"][0]["raw"]["failed"] == 2


# -- 4. PostgreSQL visibility ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg_app() -> Iterator[str]:
    with postgres_server() as server:
        with psycopg.connect(server.dsn(), autocommit=True) as connection:
            connection.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            connection.execute("CREATE ROLE app LOGIN")
            connection.execute("CREATE ROLE watcher LOGIN")
            connection.execute("GRANT EXECUTE ON FUNCTION pg_sleep(double precision) TO app")
        yield server.dsn()


@pytest.mark.servers
def test_a_role_without_pg_read_all_stats_is_no_data_naming_the_grant(pg_app: str) -> None:
    stack = outputs("dev")
    endpoints = parse_endpoints({"database": {"dsnEnv": "TEST_DB_DSN"}, "probes": {"counterSampleSeconds": 5}})
    watcher_dsn = pg_app.replace("user=postgres", "user=watcher")

    def traffic() -> None:
        time.sleep(0.2)
        with psycopg.connect(pg_app.replace("user=postgres", "user=app"), autocommit=True) as app:
            for _ in range(4):
                app.execute("SELECT pg_sleep(0.25)")
        with psycopg.connect(watcher_dsn, autocommit=True) as own:
            for _ in range(4):
                own.execute("SELECT count(*) FROM pg_class")  # the role's own, harmless statements

    jobs = [j for js in jobs_for(load_targets(), stack, ["db-query-time"]).values() for j in js]

    def run():
        worker = threading.Thread(target=traffic)
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("TEST_DB_DSN", watcher_dsn)
            worker.start()
            rows = ProbeSource(stack, endpoints, timedelta(seconds=1.6)).collect(
                [j for j in jobs if j.measure.source == "probe"], want_eviction_policy=False
            )
            worker.join()
        [row] = rows["db-query-time#1"]
        return row

    row = run()
    assert row.verdict == "NO_DATA", f"a subset of the statements was averaged: {row.value}"
    assert "GRANT pg_read_all_stats TO watcher" in row.reason
    with psycopg.connect(pg_app, autocommit=True) as admin:
        admin.execute("GRANT pg_read_all_stats TO watcher")
    granted = run()
    assert granted.samples == 8 and granted.value == pytest.approx((4 * 250) / 8, rel=0.15)


# -- 5. Redis counter resets ----------------------------------------------------------------------


def _redis_endpoints(port: int, sample_seconds: float) -> Endpoints:
    return parse_endpoints(
        {
            "redis": {"host": "127.0.0.1", "port": port, "tls": False, "auth": "password", "passwordEnv": "TEST_PW"},
            "probes": {"counterSampleSeconds": sample_seconds},
        }
    )


def _hit_rate_row(port: int, password: str, window: float, sample: float, traffic) -> object:
    stack = outputs("dev")
    jobs = [j for js in jobs_for(load_targets(), stack, ["cache-hit-rate"]).values() for j in js]
    worker = threading.Thread(target=traffic)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TEST_PW", password)
        source = ProbeSource(stack, _redis_endpoints(port, sample), timedelta(seconds=window))
        worker.start()
        rows = source.collect([j for j in jobs if j.measure.source == "probe"], want_eviction_policy=False)
        worker.join()
    [row] = rows["cache-hit-rate#2"]
    return row


@pytest.mark.servers
def test_a_config_resetstat_inside_the_window_is_detected_and_combined() -> None:
    with redis_server() as server:
        client = server.client()
        client.set("present", "1")
        for index in range(500):
            client.set(f"k{index}", "v")  # an application that writes: many commands before the window
        for _ in range(180):
            client.get("present")

        def traffic() -> None:
            time.sleep(0.3)
            client.config_resetstat()
            for _ in range(200):
                client.get("present")
            for _ in range(20):
                client.get("absent")

        row = _hit_rate_row(server.port, server.password, 1.5, 10.0, traffic)
    assert row.value == pytest.approx(90.9, abs=0.05), "200 hits and 20 misses after the reset"
    assert row.verdict == "PASS"
    assert "reset" in row.reason


@pytest.mark.servers
@pytest.mark.slow
def test_a_restart_inside_the_window_is_detected_and_the_segments_combined() -> None:
    with restartable_redis() as server:
        client = server.client()
        client.set("present", "1")

        def traffic() -> None:
            time.sleep(0.2)
            for _ in range(100):
                client.get("present")
            for _ in range(10):
                client.get("absent")
            time.sleep(0.6)  # a sample sees the first segment
            server.restart()
            fresh = server.client()
            fresh.set("present", "1")
            for _ in range(100):
                fresh.get("present")
            for _ in range(10):
                fresh.get("absent")

        row = _hit_rate_row(server.port, server.password, 2.5, 0.4, traffic)
    assert row.verdict != "NO_DATA", row.reason
    assert row.raw["hits"] == 200 and row.raw["misses"] == 20
    assert row.value == pytest.approx(90.9, abs=0.05)
    assert "restart" in row.reason


@pytest.mark.servers
def test_a_cache_that_stops_answering_before_the_window_ends_is_no_data() -> None:
    with restartable_redis() as server:
        client = server.client()
        client.set("present", "1")

        def traffic() -> None:
            for _ in range(50):
                client.get("present")
            time.sleep(0.5)
            assert server.process is not None
            server.process.terminate()  # gone for the rest of the window
            server.process.wait(timeout=10)

        row = _hit_rate_row(server.port, server.password, 1.5, 0.3, traffic)
    assert row.verdict == "NO_DATA" and "end of the window could not be sampled" in row.reason


# -- Azure stand-in -------------------------------------------------------------------------------


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeAzure]:
    server = FakeAzure(tmp_path).start()
    yield server
    server.stop()


def access_for(fake: FakeAzure, **overrides: float) -> AzureAccess:
    credential = FakeCredential()
    profile = cloud_profile("public", arm_endpoint=fake.url, metrics_endpoint=fake.url, logs_endpoint=fake.url)
    settings = {"timeout_seconds": 5.0, "retries": 2, "backoff_factor": 0.01, "backoff_max_seconds": 0.2}
    settings.update(overrides)
    return AzureAccess(profile, lambda: credential, client_kwargs={"connection_verify": str(fake.cert)}, **settings)


def azure_run(fake: FakeAzure, stack: StackOutputs, *only: str, **access: float):
    options = CheckOptions(source="azure", only=list(only), conformance=False)
    return run_check(stack, load_targets(), Endpoints(), options, access_for(fake, **access))


# -- 6. truncated metric batches ------------------------------------------------------------------


def _replicas(hot_position: int, count: int = 12) -> list[Series]:
    series = [Series({"podName": f"backend--rev{i // 6}-{i:02d}"}, [30.0, 32.0]) for i in range(count)]
    series[hot_position] = Series({"podName": "backend--rev1-hot"}, [96.0, 97.0])
    return series


@pytest.mark.parametrize("hot_position", [11, 0, 5])
def test_more_than_ten_replicas_are_all_judged_whatever_their_order(fake: FakeAzure, hot_position: int) -> None:
    stack = outputs("staging")
    backend, web = stack.services["backend"].resource_ids[0], stack.services["web"].resource_ids[0]
    fake.metric(backend, "CpuPercentage", "Percent", *_replicas(hot_position))
    fake.metric(web, "CpuPercentage", "Percent", Series({"podName": "web-1"}, [10.0]))
    report = azure_run(fake, stack, "container-cpu")
    cpu = result(report, "container-cpu")
    assert cpu.verdict == "FAIL", f"the hot replica at position {hot_position} was lost"
    assert len([e for e in cpu.evidence if "backend" in e.label]) == 12


def test_a_full_page_that_stays_full_is_partial_never_pass(fake: FakeAzure) -> None:
    stack = outputs("staging")
    backend, web = stack.services["backend"].resource_ids[0], stack.services["web"].resource_ids[0]
    fake.metric(backend, "CpuPercentage", "Percent", *_replicas(11))  # 12 pods, the hot one last
    fake.metric(web, "CpuPercentage", "Percent", Series({"podName": "w"}, [10.0]))
    jobs = [j for js in jobs_for(load_targets(), stack, ["container-cpu"]).values() for j in js]
    jobs = [j for j in jobs if j.measure.source == "metrics"]
    # Pages of 5, then 10 series: both come back full, so the answer is known to be partial.
    rows = MetricsSource(access_for(fake), stack, WINDOW, series_per_resource=(5, 10)).collect(jobs)
    [job] = jobs
    cpu = decide("container-cpu", "containers", "cpu", job.thresholds, [("azure-metrics", rows[job.key])])
    assert [c.query["top"] for c in fake.calls("metrics")] == [["5"], ["10"]]
    assert cpu.verdict == "NO_DATA" and "partial data" in cpu.summary and cpu.value is None


# -- 7. a missing container is missing ------------------------------------------------------------


def test_a_container_without_series_in_a_group_is_no_data(fake: FakeAzure) -> None:
    stack = outputs("dev")
    rid = stack.services["backend"].resource_ids[0]
    fake.metric(rid, "CpuUsage", "Count", Series({"containerName": "backend"}, [400, 400]))
    cpu = result(azure_run(fake, stack, "container-cpu"), "container-cpu")
    assert cpu.verdict == "NO_DATA"
    web = next(e for e in cpu.evidence if "web" in e.label)
    assert web.verdict == "NO_DATA" and "containerName=web" in web.label
    assert cpu.value is None, "a NO_DATA target shows no measured number as its value"


# -- 8. boundaries without float drift ------------------------------------------------------------


def test_exactly_95_percent_fails_against_critical_95_and_prints_so(fake: FakeAzure) -> None:
    stack = outputs("staging")
    backend, web = stack.services["backend"].resource_ids[0], stack.services["web"].resource_ids[0]
    drifting = [95.1, 95.3, 94.9, 94.7]  # the mean is 95.0; plain sum()/len gives 94.99999999999999
    assert sum(drifting) / len(drifting) != 95.0, "the values drift with plain sum()/len"
    fake.metric(backend, "MemoryPercentage", "Percent", Series({"podName": "backend-1"}, drifting))
    fake.metric(web, "MemoryPercentage", "Percent", Series({"podName": "web-1"}, [10.0]))
    report = azure_run(fake, stack, "container-memory")
    memory = result(report, "container-memory")
    assert memory.verdict == "FAIL" and memory.value == 95.0
    assert "95.0 %" in memory.summary and "94.9" not in RENDERERS["table"](report)


# -- 9. honest bounds and reasons -----------------------------------------------------------------


def test_the_total_time_of_an_azure_call_is_a_deadline_across_retries(fake: FakeAzure) -> None:
    stack = outputs("dev")
    fake.fault("metrics", Fault(status=503, delay=1.2), always=True)
    started = time.monotonic()
    rows = MetricsSource(
        access_for(
            fake, timeout_seconds=5, retries=3, backoff_factor=0.4, backoff_max_seconds=5, total_timeout_seconds=2
        ),
        stack,
        WINDOW,
    ).collect(
        [
            j
            for js in jobs_for(load_targets(), stack, ["container-cpu"]).values()
            for j in js
            if j.measure.source == "metrics"
        ]
    )
    elapsed = time.monotonic() - started
    [row] = rows["container-cpu#1"]
    assert row.verdict == "NO_DATA"
    assert elapsed < 2.5, f"a 2 s bound took {elapsed:.1f} s"


def test_a_metric_error_code_goes_into_the_reason(fake: FakeAzure) -> None:
    stack = outputs("dev")
    rid = stack.services["backend"].resource_ids[0]
    fake.metric(rid, "CpuUsage", "Count")
    fake.metric_error(rid, "CpuUsage", "InvalidSamplingType", "the metric has no such aggregation")
    cpu = result(azure_run(fake, stack, "container-cpu"), "container-cpu")
    assert cpu.verdict == "NO_DATA" and "InvalidSamplingType" in cpu.summary


def test_a_metric_error_code_beside_other_series_is_never_pass(fake: FakeAzure) -> None:
    stack = outputs("dev")
    rid = stack.services["backend"].resource_ids[0]
    fake.metric(rid, "CpuUsage", "Count", Series({"containerName": "backend"}, [1.0]))
    fake.metric_error(rid, "CpuUsage", "InvalidSamplingType", "the metric has no such aggregation")
    cpu = result(azure_run(fake, stack, "container-cpu"), "container-cpu")
    assert cpu.verdict == "NO_DATA" and "InvalidSamplingType" in cpu.summary


def test_series_order_does_not_change_the_verdict(fake: FakeAzure) -> None:
    stack = outputs("staging")
    backend, web = stack.services["backend"].resource_ids[0], stack.services["web"].resource_ids[0]
    fake.metric(web, "CpuPercentage", "Percent", Series({"podName": "web-1"}, [10.0]))
    verdicts = set()
    for seed in range(3):
        series = _replicas(3, count=8)
        random.Random(seed).shuffle(series)
        fake.metric(backend, "CpuPercentage", "Percent", *series)
        verdicts.add(result(azure_run(fake, stack, "container-cpu"), "container-cpu").verdict)
    assert verdicts == {"FAIL"}
