"""Reports: JSON (documented schema), JUnit XML, Markdown, HTML with charts, the terminal table."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from checks.model import ConformanceRow, Point, Policy, Report, Thresholds, Window, decide, measured, no_data
from checks.render import (
    RENDERERS,
    SCHEMA_FILE,
    chart,
    junit_status,
    render_html,
    render_json,
    render_junit,
    render_markdown,
    render_table,
    report_schema,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
WINDOW = Window(start=NOW - timedelta(minutes=15), end=NOW)
LATENCY = Thresholds(unit="ms", better="lower", target=200, critical=500)
HIT_RATE = Thresholds(unit="percent", better="higher", target=80, critical=60)


def series(values: list[float]) -> list[Point]:
    return [Point(time=WINDOW.start + timedelta(minutes=i), value=v) for i, v in enumerate(values)]


def sample_report(policy: Policy | None = None) -> Report:
    latency = measured(
        source="probe:http",
        resource="http://127.0.0.1:8080/health",
        label="backend GET /health",
        query={"probe": "http", "url": "http://127.0.0.1:8080/health", "requests": 20},
        window=WINDOW,
        thresholds=LATENCY,
        value=230.0,
        samples=20,
        no_data_reason="none",
        stats={"mean": 230.0, "p95": 410.0},
        series=series([200, 220, 250, 240]),
    )
    hits = measured(
        source="azure-metrics",
        resource="/subscriptions/s/resourceGroups/g/providers/Microsoft.Cache/redisEnterprise/c",
        label="cache (c) | odd label",
        query={
            "api": "metrics:getBatch",
            "namespace": "Microsoft.Cache/redisEnterprise",
            "metrics": ["cachehits", "cachemisses"],
            "aggregation": "Total",
            "grain": "PT5M",
        },
        window=WINDOW,
        thresholds=HIT_RATE,
        value=91.0,
        samples=3,
        no_data_reason="none",
        series=series([90, 92, 91]),
    )
    missing = no_data(
        source="azure-logs",
        resource="w",
        label="AppDependencies",
        query={"kql": "AppDependencies | summarize"},
        window=WINDOW,
        thresholds=LATENCY,
        reason="HTTP 500 <Internal>",
    )
    targets = [
        decide("api-latency", "API response", "average latency", LATENCY, [("probe", [latency])]),
        decide("cache-hit-rate", "Redis", "hit rate", HIT_RATE, [("azure-metrics", [hits])]),
        decide("db-query-time", "database", "average query time", LATENCY, [("azure-logs", [missing])]),
    ]
    conformance = [
        ConformanceRow(
            check="cache eviction policy",
            resource="/x/databases/default",
            source="arm",
            declared="allkeys-lru",
            live="VolatileLRU",
            verdict="FAIL",
        ),
        ConformanceRow(
            check="backend: CPU / memory",
            resource="/x/ca-backend",
            source="arm",
            declared="2 vCPU / 4 Gi",
            live="2 vCPU / 4 Gi",
            verdict="PASS",
        ),
    ]
    return Report(
        project="fin-agent",
        stack="dev",
        platform="containerinstances",
        cache_tier="managed",
        sources=["azure-metrics", "azure-logs", "probe"],
        window=WINDOW,
        generated_at=NOW,
        policy=policy or Policy(),
        targets=targets,
        conformance=conformance,
        notes=["target page-load skipped (--skip)"],
    )


def test_the_schema_file_is_the_models_schema() -> None:
    on_disk = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert on_disk == json.loads(json.dumps(report_schema())), (
        "checks/report.schema.json is stale: run "
        ".venv/bin/python -c 'from checks.render import write_schema; write_schema()'"
    )


def test_json_report_round_trips_and_uses_the_documented_keys() -> None:
    document = json.loads(render_json(sample_report()))
    assert Report.model_validate(document).exit_code == 2
    assert document["schemaVersion"] == 1 and document["exitCode"] == 2 and document["outcome"] == "failed"
    assert set(document) >= {"project", "stack", "window", "policy", "targets", "conformance", "notes", "calls"}
    row = document["targets"][0]["evidence"][0]
    assert set(row) >= {"source", "resource", "query", "value", "samples", "thresholds", "verdict", "series", "stats"}
    assert row["thresholds"] == {"unit": "ms", "better": "lower", "target": 200.0, "critical": 500.0}
    required = set(report_schema()["required"])
    assert required <= set(document)


@pytest.mark.parametrize(
    ("verdict", "fail_on", "no_data_policy", "status"),
    [
        ("FAIL", "critical", "fail", "failure"),
        ("WARN", "critical", "fail", "passed"),
        ("WARN", "warn", "fail", "failure"),
        ("NO_DATA", "critical", "fail", "error"),
        ("NO_DATA", "warn", "warn", "failure"),
        ("NO_DATA", "critical", "ignore", "skipped"),
        ("PASS", "warn", "fail", "passed"),
    ],
)
def test_junit_statuses_agree_with_the_exit_code_policy(verdict, fail_on, no_data_policy, status) -> None:
    assert junit_status(verdict, Policy(fail_on=fail_on, no_data=no_data_policy)) == status


def test_junit_has_a_test_case_per_target_and_conformance_row() -> None:
    root = ET.fromstring(render_junit(sample_report(Policy(fail_on="warn"))).encode())
    assert root.tag == "testsuites"
    targets, conformance = root.findall("testsuite")
    cases = {case.get("name").split(":")[0]: case for case in targets.findall("testcase")}
    assert set(cases) == {"api-latency", "cache-hit-rate", "db-query-time"}
    assert cases["api-latency"].find("failure") is not None, "WARN fails with --fail-on warn"
    assert cases["cache-hit-rate"].find("failure") is None and cases["cache-hit-rate"].find("error") is None
    assert cases["db-query-time"].find("error") is not None
    assert "HTTP 500 <Internal>" in cases["db-query-time"].find("system-out").text
    assert (targets.get("tests"), targets.get("failures"), targets.get("errors")) == ("3", "1", "1")
    assert len(conformance.findall("testcase")) == 2 and conformance.get("failures") == "1"
    assert root.get("tests") == "5"


def test_markdown_fits_a_job_summary() -> None:
    text = render_markdown(sample_report())
    assert text.startswith("### ❌ Check: fin-agent / dev: failed (exit 2)")
    assert (
        "| ⚠️ WARN | **api-latency** (API response, average latency) | 230 ms | < 200 ms | < 500 ms | probe | 20 |"
        in text
    )
    assert "cache (c) \\| odd label" in text, "pipes in cells are escaped"
    assert "| ❌ FAIL | cache eviction policy | `default` | allkeys-lru | VolatileLRU |" in text
    assert "(p95 410 ms)" in text
    assert "<details><summary>1 matching</summary>" in text
    assert "- target page-load skipped (--skip)" in text


def test_html_has_a_chart_per_target_with_threshold_lines() -> None:
    report = sample_report()
    html = render_html(report)
    assert html.count("<svg") == 2, "a chart for each target with data (db-query-time has none)"
    assert html.count("<polyline") == 2
    assert "HTTP 500 &lt;Internal&gt;" in html, "escaped"
    geometry = chart(report.targets[0])
    assert geometry is not None
    assert geometry["critical_y"] < geometry["target_y"], "critical (500 ms) is drawn above target (200 ms)"
    assert len(geometry["lines"][0]["points"].split()) == 4


def test_table_lists_every_target_and_conformance_problem() -> None:
    text = render_table(sample_report())
    for expected in ("api-latency", "cache-hit-rate", "db-query-time", "VolatileLRU", "failed (exit 2)"):
        assert expected in text
    assert set(RENDERERS) == {"table", "json", "junit", "markdown", "html"}


def test_markdown_counts_the_samples_of_a_row_whose_value_is_zero() -> None:
    """A measured 0 (e.g. 0 % errors) is data: its samples count, it is not 'missing'."""
    zero = measured(
        source="probe:http",
        resource="http://127.0.0.1:8080/health",
        label="backend GET /health",
        query={"probe": "http", "url": "http://127.0.0.1:8080/health", "requests": 12},
        window=WINDOW,
        thresholds=LATENCY,
        value=0.0,
        samples=12,
        no_data_reason="none",
    )
    report = Report(
        project="fin-agent",
        stack="dev",
        platform="containerinstances",
        cache_tier="managed",
        sources=["probe"],
        window=WINDOW,
        generated_at=NOW,
        policy=Policy(),
        targets=[decide("api-latency", "API response", "average latency", LATENCY, [("probe", [zero])])],
    )
    row = next(line for line in render_markdown(report).splitlines() if "**api-latency**" in line)
    assert row.split("|")[7].strip() == "12"
