"""Direct probes against real servers started by the tests: HTTP, Redis, PostgreSQL, Chromium."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from checks.endpoints import parse_endpoints
from checks.jobs import jobs_for
from checks.outputs import StackOutputs, read_outputs_file
from checks.probes import http as http_probe
from checks.probes import postgres as pg_probe
from checks.probes import redis as redis_probe
from checks.probes.pageload import load_pages
from checks.sources.probes import ProbeSource
from checks.targets import load_targets
from tests.fixtures.checks.fake_azure import self_signed_cert
from tests.fixtures.checks.servers import (
    PostgresServer,
    RedisServer,
    latency_server,
    page_server,
    postgres_server,
    redis_server,
)

pytestmark = pytest.mark.servers
FIXTURES = Path(__file__).parent / "fixtures" / "checks"


@pytest.fixture(scope="module")
def redis_srv() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


@pytest.fixture(scope="module")
def pg_srv() -> Iterator[PostgresServer]:
    with postgres_server() as server:
        with psycopg.connect(server.dsn(), autocommit=True) as connection:
            connection.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            connection.execute("CREATE DATABASE bare")  # no extension there
        yield server


def dev_outputs() -> StackOutputs:
    return read_outputs_file(FIXTURES / "outputs-dev.json")


def probe_jobs(stack: StackOutputs, *target_ids: str):
    selected = jobs_for(load_targets(), stack, list(target_ids))
    return [job for jobs in selected.values() for job in jobs if job.measure.source == "probe"]


# -- HTTP -----------------------------------------------------------------------------------------


def test_http_probe_measures_a_known_latency_within_five_percent() -> None:
    injected = 0.200
    with latency_server(injected) as server:
        result = http_probe.probe_http(server.url + "/health", requests=20, rate=10, timeout=5)
    mean = result.mean_ms()
    assert len(result.successes) == 20
    assert mean == pytest.approx(injected * 1000, rel=0.05), f"measured {mean:.1f} ms for {injected * 1000:.0f} ms"
    assert result.percentile_ms(95) >= injected * 1000


def test_probes_leave_the_callers_event_loop_alone() -> None:
    # Pulumi's runtime (and any asyncio caller) relies on the thread's current loop.
    previous_policy = asyncio.get_event_loop_policy()
    asyncio.set_event_loop_policy(asyncio.DefaultEventLoopPolicy())  # a scratch policy: the suite's stays untouched
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        with latency_server(0.01) as server:
            http_probe.probe_http(server.url + "/", requests=2, rate=20, timeout=5)
        assert asyncio.get_event_loop() is loop
    finally:
        loop.close()
        asyncio.set_event_loop_policy(previous_policy)


def test_http_probe_keeps_its_rate_when_the_server_is_slow() -> None:
    # 10 requests at 20/s against 500 ms answers: a closed-loop probe would need 5 s; fixed rate needs ~1 s.
    with latency_server(0.5) as server:
        started = time.monotonic()
        result = http_probe.probe_http(server.url + "/", requests=10, rate=20, timeout=5)
        elapsed = time.monotonic() - started
    assert len(result.successes) == 10
    assert elapsed < 2.0
    sent = sorted(s.sent_at for s in result.samples)
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(sent)]
    assert max(gaps) == pytest.approx(0.05, abs=0.01)


def test_http_probe_counts_timeouts_and_error_statuses_as_failures() -> None:
    with latency_server(0.3, degraded_paths=("/health",)) as server:
        degraded = http_probe.probe_http(server.url + "/health", requests=3, rate=10, timeout=5)
        slow = http_probe.probe_http(server.url + "/", requests=2, rate=10, timeout=0.1)
    assert degraded.mean_ms() is None and {s.status for s in degraded.samples} == {503}
    assert degraded.failure_summary() == "3 of 3 requests failed (3x HTTP 503)"
    assert slow.successes == [] and "timeout" in (slow.failure_summary() or "")


def test_a_degraded_health_endpoint_is_never_a_silent_pass() -> None:
    stack = dev_outputs()
    with latency_server(0.01, degraded_paths=("/api/ready",)) as server:
        endpoints = parse_endpoints(
            {
                "services": {"backend": {"url": server.url, "paths": ["/api/ready"]}},
                "probes": {"http": {"requests": 4, "ratePerSecond": 20}},
            }
        )
        rows = ProbeSource(stack, endpoints, timedelta(seconds=0)).collect(
            probe_jobs(stack, "api-latency"), want_eviction_policy=False
        )
    by_path = {row.label: row for row in rows["api-latency#2"]}
    assert by_path["backend GET /health"].verdict == "PASS"
    assert by_path["backend GET /api/ready"].verdict == "NO_DATA"
    assert "4 of 4 requests failed (4x HTTP 503)" in by_path["backend GET /api/ready"].reason


# -- Redis ----------------------------------------------------------------------------------------


def test_redis_hit_rate_over_the_window_and_the_live_eviction_policy(redis_srv: RedisServer) -> None:
    stack = dev_outputs()
    endpoints = parse_endpoints(
        {
            "redis": {
                "host": "127.0.0.1",
                "port": redis_srv.port,
                "tls": False,
                "auth": "password",
                "passwordEnv": "TEST_REDIS_PW",
            },
            "probes": {"counterSampleSeconds": 0.3},
        }
    )
    client = redis_srv.client()
    client.set("present", "1")
    for _ in range(50):  # before the window: must not count
        client.get("absent")

    def traffic() -> None:
        time.sleep(0.2)
        for _ in range(3):
            for _ in range(30):
                client.get("present")
            for _ in range(10):
                client.get("absent")
            time.sleep(0.3)

    worker = threading.Thread(target=traffic)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TEST_REDIS_PW", redis_srv.password)
        source = ProbeSource(stack, endpoints, timedelta(seconds=1.8))
        worker.start()
        rows = source.collect(probe_jobs(stack, "cache-hit-rate"), want_eviction_policy=True)
        worker.join()
    [row] = rows["cache-hit-rate#2"]
    assert row.value == pytest.approx(75.0) and row.verdict == "WARN"
    assert row.samples == 120 and row.raw["hits"] == 90 and row.raw["misses"] == 30
    assert len(row.series) >= 2, "intermediate samples give the chart"
    assert redis_srv.password not in row.model_dump_json()
    policy = source.eviction_row()
    assert policy.verdict == "PASS" and policy.live == "allkeys-lru"


def test_redis_over_tls_verifies_the_server_certificate(tmp_path: Path) -> None:
    cert, key = self_signed_cert(tmp_path)
    stack = dev_outputs()
    with redis_server(tls=(cert, key)) as server, pytest.MonkeyPatch.context() as patch:
        patch.setenv("TEST_REDIS_PW", server.password)
        endpoints = parse_endpoints(
            {"redis": {"host": "127.0.0.1", "port": server.port, "auth": "password", "passwordEnv": "TEST_REDIS_PW"}}
        )  # tls: from the stack outputs (true)
        untrusted = ProbeSource(stack, endpoints, timedelta(0))
        untrusted.collect([], want_eviction_policy=True)
        assert untrusted.eviction_row().verdict == "NO_DATA"
        assert "CERTIFICATE_VERIFY_FAILED" in (untrusted.eviction_row().reason or "")
        patch.setenv("SSL_CERT_FILE", str(cert))  # the system trust store, as a CI runner would extend it
        trusted = ProbeSource(stack, endpoints, timedelta(0))
        trusted.collect([], want_eviction_policy=True)
    row = trusted.eviction_row()
    assert row.verdict == "PASS" and row.live == "allkeys-lru"


def test_no_lookups_in_the_window_is_no_data(redis_srv: RedisServer) -> None:
    stack = dev_outputs()
    endpoints = parse_endpoints(
        {
            "redis": {
                "host": "127.0.0.1",
                "port": redis_srv.port,
                "tls": False,
                "auth": "password",
                "passwordEnv": "TEST_REDIS_PW",
            }
        }
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TEST_REDIS_PW", redis_srv.password)
        rows = ProbeSource(stack, endpoints, timedelta(seconds=0.3)).collect(
            probe_jobs(stack, "cache-hit-rate"), want_eviction_policy=False
        )
    [row] = rows["cache-hit-rate#2"]
    assert row.verdict == "NO_DATA" and "no cache lookups" in row.reason


def test_a_different_live_eviction_policy_fails_conformance() -> None:
    stack = dev_outputs()
    with redis_server(policy="volatile-lru") as server, pytest.MonkeyPatch.context() as patch:
        patch.setenv("TEST_REDIS_PW", server.password)
        endpoints = parse_endpoints(
            {
                "redis": {
                    "host": "127.0.0.1",
                    "port": server.port,
                    "tls": False,
                    "auth": "password",
                    "passwordEnv": "TEST_REDIS_PW",
                }
            }
        )
        source = ProbeSource(stack, endpoints, timedelta(0))
        source.collect([], want_eviction_policy=True)
    row = source.eviction_row()
    assert row.verdict == "FAIL" and (row.declared, row.live) == ("allkeys-lru", "volatile-lru")


def test_wrong_password_or_missing_variable_is_no_data_with_the_reason(redis_srv: RedisServer) -> None:
    stack = dev_outputs()
    base = {
        "host": "127.0.0.1",
        "port": redis_srv.port,
        "tls": False,
        "auth": "password",
        "passwordEnv": "TEST_REDIS_PW",
    }
    endpoints = parse_endpoints({"redis": base})
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("TEST_REDIS_PW", raising=False)
        [row] = ProbeSource(stack, endpoints, timedelta(0)).collect(
            probe_jobs(stack, "cache-hit-rate"), want_eviction_policy=False
        )["cache-hit-rate#2"]
        assert row.verdict == "NO_DATA" and "TEST_REDIS_PW" in row.reason
        patch.setenv("TEST_REDIS_PW", "not-the-password")
        [row] = ProbeSource(stack, endpoints, timedelta(0)).collect(
            probe_jobs(stack, "cache-hit-rate"), want_eviction_policy=False
        )["cache-hit-rate#2"]
        assert row.verdict == "NO_DATA" and "cannot reach the cache" in row.reason
        assert "not-the-password" not in row.reason


def test_entra_auth_uses_the_token_and_its_object_id() -> None:
    import base64
    import json

    claims = (
        base64.urlsafe_b64encode(json.dumps({"oid": "0f1e2d3c-aaaa-bbbb-cccc-1234567890ab"}).encode())
        .decode()
        .rstrip("=")
    )
    token = f"eyJhbGciOiJub25lIn0.{claims}.sig"
    assert redis_probe.token_object_id(token) == "0f1e2d3c-aaaa-bbbb-cccc-1234567890ab"
    with pytest.raises(ValueError, match="oid"):
        redis_probe.token_object_id("not-a-jwt")


# -- PostgreSQL -----------------------------------------------------------------------------------


def test_postgres_mean_statement_time_over_the_window_weighted_by_calls(pg_srv: PostgresServer) -> None:
    with psycopg.connect(pg_srv.dsn(), autocommit=True) as app:
        connection = pg_probe.connect(pg_srv.dsn())
        schema = pg_probe.statements_schema(connection)
        app.execute("SELECT pg_sleep(0.2)")  # before the window: must not count
        before = pg_probe.snapshot(connection, schema)
        for _ in range(4):
            app.execute("SELECT pg_sleep(0.05)")
        app.execute("SELECT 1")
        app.execute("BEGIN")
        app.execute("COMMIT")
        after = pg_probe.snapshot(connection, schema)
        connection.close()
    timing = pg_probe.query_time([before, after])
    assert timing.calls == 5, "4 sleeps and 1 select; BEGIN/COMMIT and the probe's own queries left out"
    assert timing.mean_ms == pytest.approx(4 * 50 / 5, rel=0.1)


def test_postgres_probe_through_the_source_with_the_dsn_from_the_environment(pg_srv: PostgresServer) -> None:
    stack = dev_outputs()
    endpoints = parse_endpoints({"database": {"dsnEnv": "TEST_DB_DSN"}, "probes": {"counterSampleSeconds": 0.3}})

    def traffic() -> None:
        time.sleep(0.2)
        with psycopg.connect(pg_srv.dsn(), autocommit=True) as app:
            for _ in range(6):
                app.execute("SELECT pg_sleep(0.03)")

    worker = threading.Thread(target=traffic)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TEST_DB_DSN", pg_srv.dsn())
        worker.start()
        rows = ProbeSource(stack, endpoints, timedelta(seconds=1.2)).collect(
            probe_jobs(stack, "db-query-time"), want_eviction_policy=False
        )
        worker.join()
    [row] = rows["db-query-time#1"]
    assert row.samples == 6
    assert row.value == pytest.approx(30, rel=0.2) and row.verdict == "PASS"
    assert row.resource == f"postgresql://127.0.0.1:{pg_srv.port}/postgres"
    assert "unused-secret-pw" not in row.model_dump_json()


def test_a_database_without_pg_stat_statements_is_no_data_with_the_fix(pg_srv: PostgresServer) -> None:
    stack = dev_outputs()
    endpoints = parse_endpoints({"database": {"dsnEnv": "TEST_DB_DSN"}})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TEST_DB_DSN", pg_srv.dsn("bare"))
        [row] = ProbeSource(stack, endpoints, timedelta(0)).collect(
            probe_jobs(stack, "db-query-time"), want_eviction_policy=False
        )["db-query-time#1"]
    assert row.verdict == "NO_DATA" and "CREATE EXTENSION pg_stat_statements" in row.reason
    assert (
        pg_probe.describe_dsn("postgresql://u:secret@db.example.com:6543/postgres")
        == "postgresql://db.example.com:6543/postgres"
    )


# -- page load ------------------------------------------------------------------------------------


def test_page_load_in_headless_chromium_waits_for_the_load_event() -> None:
    with page_server(script_delay_seconds=0.4) as server:
        result = load_pages(server.url + "/", loads=2, timeout_seconds=20)
    assert len(result.successes) == 2
    for load in result.successes:
        assert 400 <= load.load_ms < 2000
        assert load.dom_interactive_ms is not None and load.dom_interactive_ms <= load.load_ms


def test_page_load_rows_say_what_they_measure() -> None:
    stack = dev_outputs()
    with page_server(script_delay_seconds=0.1) as server:
        endpoints = parse_endpoints({"services": {"web": {"url": server.url}}, "probes": {"pageLoad": {"loads": 1}}})
        rows = ProbeSource(stack, endpoints, timedelta(0)).collect(
            probe_jobs(stack, "page-load"), want_eviction_policy=False
        )
    [row] = rows["page-load#1"]
    assert row.verdict == "PASS" and row.samples == 1
    assert "loadEventEnd" in row.reason and "time to interactive proxy" in row.reason
    assert "domInteractive" in row.stats
