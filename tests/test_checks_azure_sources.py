"""Azure sources through the real client libraries, against a local server with documented shapes.

`MetricsClient` (azure-monitor-querymetrics), `LogsQueryClient` (azure-monitor-query) and
`ResourceManagementClient` (azure-mgmt-resource) talk HTTPS to `FakeAzure` on 127.0.0.1 with a
self-signed certificate and a fake credential: the same pipelines, retry policy, URL building
and deserialisation as against Azure.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from checks.clouds import cloud_profile
from checks.endpoints import Endpoints
from checks.jobs import Job, Subject, jobs_for
from checks.model import Window
from checks.outputs import StackOutputs, read_outputs_file
from checks.runner import CheckOptions, run_check
from checks.sources.azure import AzureAccess
from checks.sources.logs import LogsSource
from checks.sources.metrics import Ask, MetricsSource, plan_batches
from checks.targets import load_targets
from tests.fixtures.checks.fake_azure import FakeAzure, FakeCredential, Fault, Series

FIXTURES = Path(__file__).parent / "fixtures" / "checks"
NOW = datetime.now(UTC).replace(microsecond=0)
WINDOW = Window(start=NOW - timedelta(minutes=15), end=NOW)


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeAzure]:
    server = FakeAzure(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def credential() -> FakeCredential:
    return FakeCredential()


def access_for(fake: FakeAzure, credential: FakeCredential, cloud: str = "public", **overrides: float) -> AzureAccess:
    profile = cloud_profile(cloud, arm_endpoint=fake.url, metrics_endpoint=fake.url, logs_endpoint=fake.url)
    settings = {"timeout_seconds": 5.0, "retries": 2, "backoff_factor": 0.01, "backoff_max_seconds": 0.2}
    settings.update(overrides)
    return AzureAccess(profile, lambda: credential, client_kwargs={"connection_verify": str(fake.cert)}, **settings)


def outputs(name: str) -> StackOutputs:
    return read_outputs_file(FIXTURES / f"outputs-{name}.json")


def metric_jobs(stack: StackOutputs, *target_ids: str) -> list[Job]:
    selected = jobs_for(load_targets(), stack, list(target_ids))
    return [job for jobs in selected.values() for job in jobs if job.measure.source == "metrics"]


def logs_jobs(stack: StackOutputs, *target_ids: str) -> list[Job]:
    selected = jobs_for(load_targets(), stack, list(target_ids))
    return [job for jobs in selected.values() for job in jobs if job.measure.source == "logs"]


def group_id(stack: StackOutputs) -> str:
    return stack.services["backend"].resource_ids[0]


def container_series(fake: FakeAzure, rid: str, cpu: dict[str, list], memory: dict[str, list]) -> None:
    fake.metric(rid, "CpuUsage", "Count", *(Series({"containerName": c}, v) for c, v in cpu.items()))
    fake.metric(rid, "MemoryUsage", "Bytes", *(Series({"containerName": c}, v) for c, v in memory.items()))


# -- planning -----------------------------------------------------------------------------------


def test_batches_merge_metrics_per_namespace_and_cut_at_50_resources() -> None:
    stack = outputs("dev")
    jobs = metric_jobs(stack, "container-cpu", "container-memory")
    rid = group_id(stack)
    subjects = [Subject(rid.replace("cg-fin-agent-dev-abc", f"cg-{i:03d}"), f"cg-{i:03d}") for i in range(120)]
    asks = [Ask(job, subject) for job in jobs for subject in subjects]
    batches, owner = plan_batches(asks, "westeurope", WINDOW)
    assert [len(b.resource_ids) for b in batches] == [50, 50, 20]
    assert all(sorted(b.metric_names) == ["CpuUsage", "MemoryUsage"] for b in batches)
    assert {b.key.filter for b in batches} == {"containerName eq '*'"}
    assert len(owner) == len(asks)


def test_a_different_dimension_split_is_a_separate_call() -> None:
    stack = outputs("staging")
    jobs = metric_jobs(stack, "api-latency", "container-cpu", "container-memory")
    asks = [Ask(job, Subject(rid, "x")) for job in jobs for rid in stack.services["backend"].resource_ids]
    batches, _ = plan_batches(asks, "northeurope", WINDOW)
    by_filter = {b.key.filter: sorted(b.metric_names) for b in batches}
    assert by_filter == {None: ["ResponseTime"], "podName eq '*'": ["CpuPercentage", "MemoryPercentage"]}


def test_the_metrics_endpoint_is_regional_in_every_cloud() -> None:
    assert cloud_profile("public").metrics_endpoint_for("westeurope") == "https://westeurope.metrics.monitor.azure.com"
    assert (
        cloud_profile("usgov").metrics_endpoint_for("usgovvirginia") == "https://usgovvirginia.metrics.monitor.azure.us"
    )
    assert cloud_profile("china").metrics_endpoint_for("chinanorth3") == "https://chinanorth3.metrics.monitor.azure.cn"


# -- metrics through MetricsClient --------------------------------------------------------------


def test_container_group_rows_per_container_as_percent_of_their_limits(
    fake: FakeAzure, credential: FakeCredential
) -> None:
    stack = outputs("dev")
    rid = group_id(stack)
    # backend: 1000 millicores of a 2 vCPU limit = 50 %; web: 900 of 1 vCPU = 90 % (critical).
    container_series(
        fake, rid, {"backend": [900, 1100, 1000], "web": [900, 900, 900]}, {"backend": [2e9], "web": [1e9]}
    )
    source = MetricsSource(access_for(fake, credential), stack, WINDOW)
    rows = source.collect(metric_jobs(stack, "container-cpu", "container-memory"))
    cpu = {r.label.rsplit("=", 1)[-1]: r for rows_ in rows.values() for r in rows_ if "CpuUsage" in r.query["metrics"]}
    assert cpu["backend"].value == pytest.approx(50.0) and cpu["backend"].verdict == "PASS"
    assert cpu["web"].value == pytest.approx(90.0) and cpu["web"].verdict == "FAIL"
    assert cpu["backend"].raw == {
        "value": 1000.0,
        "unit": "Count",
        "limit": 2.0,
        "limitKind": "cpu",
        "unitsPerLimitUnit": 1000.0,
    }
    assert cpu["backend"].samples == 3
    assert cpu["backend"].query["filter"] == "containerName eq '*'"
    assert cpu["backend"].query["aggregation"] == "Average" and cpu["backend"].query["grain"] == "PT1M"
    memory = [r for r in rows["container-memory#1"]]
    assert {r.label.rsplit("=", 1)[-1]: r.value for r in memory} == {
        "backend": pytest.approx(50.0),
        "web": pytest.approx(50.0),
    }
    calls = fake.calls("metrics")
    assert len(calls) == 1, "CPU and memory of the same containers are one batch call"
    assert calls[0].body == {"resourceids": [rid]}
    assert calls[0].query["metricnamespace"] == ["Microsoft.ContainerInstance/containerGroups"]
    assert calls[0].authorization == "Bearer fake-token"
    assert credential.scopes == ["https://metrics.monitor.azure.com/.default"]


def test_null_aggregations_are_skipped_and_an_all_null_series_is_no_data(
    fake: FakeAzure, credential: FakeCredential
) -> None:
    stack = outputs("dev")
    container_series(fake, group_id(stack), {"backend": [None, 1600, None], "web": [None, None, None]}, {})
    rows = MetricsSource(access_for(fake, credential), stack, WINDOW).collect(metric_jobs(stack, "container-cpu"))
    by_container = {r.label.rsplit("=", 1)[-1]: r for r in rows["container-cpu#1"]}
    assert by_container["backend"].value == pytest.approx(80.0) and by_container["backend"].samples == 1
    assert by_container["web"].verdict == "NO_DATA"
    assert "null aggregations" in by_container["web"].reason


def test_an_empty_response_is_no_data_never_pass(fake: FakeAzure, credential: FakeCredential) -> None:
    stack = outputs("dev")
    rows = MetricsSource(access_for(fake, credential), stack, WINDOW).collect(metric_jobs(stack, "container-cpu"))
    [row] = rows["container-cpu#1"]
    assert row.verdict == "NO_DATA"
    assert "no time series" in row.reason


def test_managed_redis_hit_rate_is_hits_over_lookups_at_five_minute_grain(
    fake: FakeAzure, credential: FakeCredential
) -> None:
    stack = outputs("dev")
    fake.metric(stack.cache.resource_id, "cachehits", "Count", Series({}, [90, 80, None]))
    fake.metric(stack.cache.resource_id, "cachemisses", "Count", Series({}, [10, 20, None]))
    short = Window(start=NOW - timedelta(minutes=2), end=NOW)
    rows = MetricsSource(access_for(fake, credential), stack, short).collect(metric_jobs(stack, "cache-hit-rate"))
    [row] = rows["cache-hit-rate#0"]
    assert row.value == pytest.approx(85.0) and row.verdict == "PASS"
    assert row.raw["numerator"] == 170 and row.raw["denominator"] == 200
    assert [round(p.value, 1) for p in row.series] == [90.0, 80.0]
    assert fake.calls("metrics")[0].query["interval"] == ["PT5M"]
    assert row.window.duration == timedelta(minutes=5)
    assert "widened to PT5M" in row.reason


def test_no_cache_lookups_is_no_data(fake: FakeAzure, credential: FakeCredential) -> None:
    stack = outputs("dev")
    fake.metric(stack.cache.resource_id, "cachehits", "Count", Series({}, [0, 0]))
    fake.metric(stack.cache.resource_id, "cachemisses", "Count", Series({}, [0, 0]))
    rows = MetricsSource(access_for(fake, credential), stack, WINDOW).collect(metric_jobs(stack, "cache-hit-rate"))
    assert rows["cache-hit-rate#0"][0].verdict == "NO_DATA"
    assert "was 0 over the window" in rows["cache-hit-rate#0"][0].reason


def test_container_apps_give_a_row_per_replica_and_the_worst_decides(
    fake: FakeAzure, credential: FakeCredential
) -> None:
    stack = outputs("staging")
    backend, web = stack.services["backend"].resource_ids[0], stack.services["web"].resource_ids[0]
    fake.metric(
        backend,
        "CpuPercentage",
        "Percent",
        Series({"podName": "backend-1"}, [40, 50]),
        Series({"podName": "backend-2"}, [75, 75]),
    )
    fake.metric(web, "CpuPercentage", "Percent", Series({"podName": "web-1"}, [10]))
    fake.metric(backend, "ResponseTime", "MilliSeconds", Series({}, [120, 180]))
    report = run_check(
        stack,
        load_targets(),
        Endpoints(),
        CheckOptions(source="azure", only=["container-cpu", "api-latency"], conformance=False),
        access_for(fake, credential),
    )
    cpu = next(t for t in report.targets if t.id == "container-cpu")
    assert cpu.verdict == "WARN"
    assert [round(e.value) for e in cpu.evidence] == [75, 45, 10]
    assert "podName=backend-2" in cpu.evidence[0].label
    latency = next(t for t in report.targets if t.id == "api-latency")
    assert latency.source == "azure-metrics" and latency.evidence[0].value == pytest.approx(150.0)
    assert {tuple(c.query.get("filter", [None])) for c in fake.calls("metrics")} == {("podName eq '*'",), (None,)}


def test_a_429_is_retried_then_the_answer_is_used(fake: FakeAzure, credential: FakeCredential) -> None:
    stack = outputs("dev")
    container_series(fake, group_id(stack), {"backend": [1000], "web": [100]}, {})
    # No Retry-After: azure-core's stock policy would not retry a POST on 429; the checks' policy does.
    fake.fault("metrics", Fault(status=429), Fault(status=429, headers={"Retry-After": "0"}))
    rows = MetricsSource(access_for(fake, credential), stack, WINDOW).collect(metric_jobs(stack, "container-cpu"))
    assert len(fake.calls("metrics")) == 3
    assert {r.verdict for r in rows["container-cpu#1"]} == {"PASS"}


def test_a_server_that_keeps_failing_gives_no_data_for_its_rows_only(
    fake: FakeAzure, credential: FakeCredential
) -> None:
    stack = outputs("dev")
    fake.fault("metrics", Fault(status=500), always=True)
    fake.log("AppRequests", 150.0, 1200)
    report = run_check(
        stack,
        load_targets(),
        Endpoints(),
        CheckOptions(source="azure", conformance=False),
        access_for(fake, credential),
    )
    verdicts = {t.id: t.verdict for t in report.targets}
    assert verdicts["api-latency"] == "PASS", "logs still answer while metrics fail"
    for target_id in ("container-cpu", "container-memory", "cache-hit-rate"):
        assert verdicts[target_id] == "NO_DATA"
        result = next(t for t in report.targets if t.id == target_id)
        assert "HTTP 500" in result.summary
    assert len(fake.calls("metrics")) == 2 * 3, "two batch calls, each tried once and retried twice"
    assert report.exit_code == 3


def test_a_malformed_body_is_no_data_with_the_reason(fake: FakeAzure, credential: FakeCredential) -> None:
    stack = outputs("dev")
    fake.fault("metrics", Fault(status=200, body=b'{"values": [{"value": "not-a-list'))
    rows = MetricsSource(access_for(fake, credential), stack, WINDOW).collect(metric_jobs(stack, "container-cpu"))
    [row] = rows["container-cpu#1"]
    assert row.verdict == "NO_DATA"
    assert "malformed" in row.reason.lower() or "decode" in row.reason.lower()


def test_a_slow_answer_times_out_within_the_bounded_time(fake: FakeAzure, credential: FakeCredential) -> None:
    stack = outputs("dev")
    fake.fault("metrics", Fault(delay=3.0), always=True)
    access = access_for(fake, credential, timeout_seconds=0.4, retries=1, total_timeout_seconds=1.5)
    started = time.monotonic()
    rows = MetricsSource(access, stack, WINDOW).collect(metric_jobs(stack, "container-cpu"))
    elapsed = time.monotonic() - started
    [row] = rows["container-cpu#1"]
    assert row.verdict == "NO_DATA"
    assert "timed out" in row.reason or "timeout" in row.reason.lower()
    assert elapsed < 2.5


# -- logs through LogsQueryClient ---------------------------------------------------------------


def test_log_queries_go_to_the_workspace_with_the_window_filled_in(fake: FakeAzure, credential: FakeCredential) -> None:
    stack = outputs("dev")
    fake.log("AppRequests", 250.0, 4000)
    rows = LogsSource(access_for(fake, credential), stack, WINDOW).collect(logs_jobs(stack, "api-latency"))
    [row] = rows["api-latency#1"]
    assert row.verdict == "WARN" and row.value == 250.0 and row.samples == 4000
    [call] = fake.calls("logs")
    assert call.path == f"/v1/workspaces/{stack.monitoring.log_analytics_customer_id}/query"
    assert "{start}" not in call.body["query"] and WINDOW.start.strftime("%Y-%m-%dT%H:%M:%SZ") in call.body["query"]
    assert "sum(DurationMs * ItemCount) / sum(ItemCount)" in call.body["query"]
    assert call.body["timespan"]
    assert credential.scopes == ["https://api.loganalytics.io/.default"], "the audience, not the custom endpoint"


@pytest.mark.parametrize(("value", "samples"), [(None, 0), (120.0, 0), ("NaN", 5)])
def test_a_log_query_without_data_is_no_data_naming_the_telemetry_contract(
    fake: FakeAzure, credential: FakeCredential, value, samples
) -> None:
    stack = outputs("dev")
    fake.log("AppRequests", value, samples)
    [row] = LogsSource(access_for(fake, credential), stack, WINDOW).collect(logs_jobs(stack, "api-latency"))[
        "api-latency#1"
    ]
    assert row.verdict == "NO_DATA"
    assert row.reason == (
        "no AppRequests rows with AppRoleName 'backend' in the window: is the backend sending telemetry "
        "with its role name (OTEL_SERVICE_NAME=backend)?"
    )


def test_a_partial_log_result_is_used_and_flagged_never_pass(fake: FakeAzure, credential: FakeCredential) -> None:
    stack = outputs("dev")
    fake.log("AppBrowserTimings", 2100.0, 30, partial_error="query exceeded the result size limit")
    [row] = LogsSource(access_for(fake, credential), stack, WINDOW).collect(logs_jobs(stack, "page-load"))[
        "page-load#0"
    ]
    assert row.verdict == "WARN" and row.value == 2100.0
    assert "partial result" in row.reason


@pytest.mark.parametrize(
    ("fault", "reason"),
    [(Fault(status=500), "HTTP 500"), (Fault(status=200, body=b"<html>gateway</html>"), "failed")],
)
def test_a_failing_log_query_is_no_data_with_the_reason(
    fake: FakeAzure, credential: FakeCredential, fault: Fault, reason: str
) -> None:
    stack = outputs("dev")
    fake.fault("logs", fault, always=True)
    [row] = LogsSource(access_for(fake, credential), stack, WINDOW).collect(logs_jobs(stack, "api-latency"))[
        "api-latency#1"
    ]
    assert row.verdict == "NO_DATA"
    assert reason in row.reason


def test_sovereign_clouds_request_their_own_audiences(fake: FakeAzure, credential: FakeCredential) -> None:
    stack = outputs("dev")
    container_series(fake, group_id(stack), {"backend": [1000]}, {})
    fake.log("AppRequests", 100.0, 10)
    access = access_for(fake, credential, cloud="usgov")
    MetricsSource(access, stack, WINDOW).collect(metric_jobs(stack, "container-cpu"))
    LogsSource(access, stack, WINDOW).collect(logs_jobs(stack, "api-latency"))
    assert credential.scopes == ["https://metrics.monitor.azure.us/.default", "https://api.loganalytics.us/.default"]


def test_auto_falls_back_from_failing_metrics_to_logs(fake: FakeAzure, credential: FakeCredential) -> None:
    stack = outputs("staging")
    fake.fault("metrics", Fault(status=503), always=True)
    fake.log("AppRequests", 140.0, 900)
    report = run_check(
        stack,
        load_targets(),
        Endpoints(),
        CheckOptions(source="azure", only=["api-latency"], conformance=False),
        access_for(fake, credential),
    )
    [latency] = report.targets
    assert latency.verdict == "PASS" and latency.source == "azure-logs"
    assert latency.attempts[0].source == "azure-metrics" and "HTTP 503" in latency.attempts[0].reason


def test_a_revision_named_in_the_outputs_scopes_the_metrics_to_it(fake: FakeAzure, credential: FakeCredential) -> None:
    """A rollout step judges one revision: only its pods count, and ResponseTime (no revision
    dimension) is NO_DATA for it rather than the whole app's latency (docs/rollout.md)."""
    stack = outputs("staging")
    canary = "ca-finagent-backend-staging--r0123456789"
    backend = stack.services["backend"]
    scoped = stack.model_copy(
        update={"services": {**stack.services, "backend": backend.model_copy(update={"revision": canary})}}
    )
    rid = backend.resource_ids[0]
    fake.metric(
        rid,
        "CpuPercentage",
        "Percent",
        Series({"podName": "ca-finagent-backend-staging--r9999999999-5d8f-abcde"}, [95, 95]),
        Series({"podName": f"{canary}-7c9d-x2x4z"}, [30, 40]),
    )
    fake.metric(rid, "ResponseTime", "MilliSeconds", Series({}, [120, 180]))
    report = run_check(
        scoped,
        load_targets(),
        Endpoints(),
        CheckOptions(source="azure", only=["container-cpu", "api-latency"], conformance=False),
        access_for(fake, credential),
    )
    cpu = next(t for t in report.targets if t.id == "container-cpu")
    backend_rows = [e for e in cpu.evidence if "backend" in e.label]
    assert [round(e.value) for e in backend_rows] == [35]  # the stable pod's 95 % is not the canary's
    assert canary in backend_rows[0].label
    latency = next(t for t in report.targets if t.id == "api-latency")
    assert latency.verdict == "NO_DATA"
    assert "no dimension that tells revisions apart" in latency.evidence[0].reason
