"""Load-test criteria beyond averages: p95/p99 and per-request limits in the target table (issue 18, item 7)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from checks.loadtest.config import plan_load_test
from checks.loadtest.report import loadtest_report
from checks.model import EXIT_FAIL, Policy
from checks.outputs import parse_outputs
from checks.targets import TARGETS_FILE, TargetsError, load_targets, parse_targets
from tests.test_loadtest import _run, outputs_document

PORTFOLIO = "GET /api/portfolio/{userId}"
CRITERIA = """
  criteria:
    - {id: api-latency-p95, statistic: p95, unit: ms, better: lower, target: 400, critical: 1000}
    - {id: api-latency-p99, statistic: p99, unit: ms, better: lower, target: 800, critical: 1000}
    - {id: portfolio-p95, statistic: p95, endpoint: "GET /api/portfolio/{userId}",
       unit: ms, better: lower, target: 300, critical: 900}
    - {id: market-p95, statistic: p95, endpoint: "POST /api/nowhere",
       unit: ms, better: lower, target: 300, critical: 900}
"""


def table_with(extra: str):
    return parse_targets(TARGETS_FILE.read_text() + extra, "targets.yaml")


def artillery_data() -> dict[str, Any]:
    summary = {"min": 20, "mean": 150, "p50": 120, "p90": 380, "p95": 450, "p99": 1200, "max": 1500, "count": 300}
    portfolio = {"min": 10, "mean": 60, "p50": 50, "p90": 80, "p95": 90, "p99": 140, "max": 200, "count": 100}
    return {
        "aggregate": {
            "counters": {"vusers.created": 100, "vusers.completed": 100, "http.requests": 300},
            "rates": {},
            "firstMetricAt": 1795643971061,
            "lastMetricAt": 1795644031061,
            "summaries": {
                "http.total": summary,
                "http.response_time": summary,
                f"plugins.metrics-by-endpoint.response_time.{PORTFOLIO}": portfolio,
            },
        },
        "intermediate": [
            {"period": "1795643980000", "summaries": {"http.total": {**summary, "p95": 430}}},
            {"period": "1795643990000", "summaries": {"http.total": {**summary, "p95": 470}}},
        ],
    }


def judged(table) -> dict[str, Any]:
    outputs = parse_outputs(outputs_document())
    load = plan_load_test(outputs, table)
    criteria = table.load_test.criteria if table.load_test else ()
    report = loadtest_report(load, outputs, _run(0, [], load), copy.deepcopy(artillery_data()), Policy(), criteria)
    return report


def test_percentile_and_per_request_criteria_are_judged() -> None:
    report = judged(table_with(CRITERIA))
    results = {t.id: t for t in report.targets}
    assert results["api-latency-p95"].verdict == "WARN" and results["api-latency-p95"].value == 450
    assert [p.value for p in results["api-latency-p95"].evidence[0].series] == [430, 470]
    assert results["api-latency-p99"].verdict == "FAIL" and results["api-latency-p99"].value == 1200
    assert results["portfolio-p95"].verdict == "PASS" and results["portfolio-p95"].value == 90
    assert results["portfolio-p95"].statistic == f"p95 response time of {PORTFOLIO}"
    missing = results["market-p95"]
    assert missing.verdict == "NO_DATA" and "POST /api/nowhere" in missing.summary and PORTFOLIO in missing.summary
    assert report.exit_code == EXIT_FAIL


def test_criteria_leave_the_guides_averages_unchanged() -> None:
    plain = judged(load_targets())
    extended = judged(table_with(CRITERIA))
    assert [t.id for t in plain.targets] == ["api-latency", "error-rate"]
    for before, after in zip(plain.targets, extended.targets[:2], strict=True):
        assert (before.id, before.verdict, before.value) == (after.id, after.verdict, after.value)
    assert plain.targets[0].value == 150 and plain.targets[0].verdict == "PASS"


@pytest.mark.parametrize(
    ("criterion", "named"),
    [
        ("{id: x-p95, statistic: p42, unit: ms, better: lower, target: 1, critical: 2}", "statistic"),
        ("{id: x-p95, statistic: p95, unit: ms, better: lower, target: 5, critical: 2}", "target (5.0)"),
        ("{id: api-latency, statistic: p95, unit: ms, better: lower, target: 1, critical: 2}", "already used"),
        (
            "{id: x-p95, statistic: p95, endpoint: portfolio, unit: ms, better: lower, target: 1, critical: 2}",
            "endpoint",
        ),
        ("{id: x-p95, statistic: p95, unit: s, better: lower, target: 1, critical: 2}", "unit"),
        ("{id: x-p95, statistic: p95, unit: ms, better: lower, target: 1, critical: 2, window: PT1M}", "window"),
    ],
)
def test_bad_criteria_are_refused_naming_the_key(criterion: str, named: str) -> None:
    with pytest.raises(TargetsError) as raised:
        table_with(f"\n  criteria:\n    - {criterion}\n")
    assert named in str(raised.value)
