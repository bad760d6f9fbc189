"""The verdict model: judging, the worst-decides order, fallback, and the exit-code policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from checks.model import (
    EXIT_FAIL,
    EXIT_INCONCLUSIVE,
    EXIT_PASS,
    EXIT_WARN,
    ConformanceRow,
    Evidence,
    Policy,
    Report,
    Thresholds,
    Window,
    decide,
    judge,
    measured,
    no_data,
    worst,
)
from checks.targets import load_targets

LOWER = Thresholds(unit="ms", better="lower", target=200, critical=500)
HIGHER = Thresholds(unit="percent", better="higher", target=80, critical=60)
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
WINDOW = Window(start=NOW - timedelta(minutes=15), end=NOW)


def row(value: float | None, thresholds: Thresholds = LOWER, samples: int = 10, source: str = "s") -> Evidence:
    return measured(
        source=source,
        resource="r",
        label="r",
        query={},
        window=WINDOW,
        thresholds=thresholds,
        value=value,
        samples=samples,
        no_data_reason="nothing",
    )


@pytest.mark.parametrize(
    ("value", "thresholds", "expected"),
    [
        (199.9, LOWER, "PASS"),
        (200, LOWER, "WARN"),
        (499.9, LOWER, "WARN"),
        (500, LOWER, "FAIL"),
        (80.1, HIGHER, "PASS"),
        (80, HIGHER, "WARN"),
        (60.1, HIGHER, "WARN"),
        (60, HIGHER, "FAIL"),
    ],
)
def test_judge_follows_the_table_boundaries(value: float, thresholds: Thresholds, expected: str) -> None:
    assert judge(value, thresholds) == expected


def test_judge_agrees_with_the_target_table_for_every_target() -> None:
    for target in load_targets().targets:
        thresholds = Thresholds(unit=target.unit, better=target.better, target=target.target, critical=target.critical)
        for value in (0, target.target, (target.target + target.critical) / 2, target.critical, 10_000):
            assert judge(value, thresholds) == target.judge(value), (target.id, value)


def test_no_row_passes_without_data() -> None:
    assert row(None).verdict == "NO_DATA"
    assert row(100, samples=0).verdict == "NO_DATA"
    assert row(float("nan")).verdict == "NO_DATA"
    assert row(float("inf")).verdict == "NO_DATA"
    with pytest.raises(ValidationError, match="needs a finite value"):
        Evidence(source="s", resource="r", label="r", query={}, window=WINDOW, thresholds=LOWER, verdict="PASS")
    with pytest.raises(ValidationError, match="needs a reason"):
        Evidence(source="s", resource="r", label="r", query={}, window=WINDOW, thresholds=LOWER, verdict="NO_DATA")


def test_worst_orders_fail_then_no_data_then_warn_then_pass() -> None:
    assert worst(["PASS", "WARN"]) == "WARN"
    assert worst(["WARN", "NO_DATA", "PASS"]) == "NO_DATA"
    assert worst(["NO_DATA", "FAIL"]) == "FAIL"
    assert worst([]) == "NO_DATA"


def test_the_first_source_with_data_decides_and_earlier_ones_are_kept_as_attempts() -> None:
    empty = no_data(
        source="azure-metrics",
        resource="r",
        label="r",
        query={},
        window=WINDOW,
        thresholds=LOWER,
        reason="empty series",
    )
    result = decide(
        "api-latency",
        "API",
        "average latency",
        LOWER,
        [("azure-metrics", [empty]), ("azure-logs", [row(150), row(300)])],
    )
    assert result.verdict == "WARN"
    assert result.source == "azure-logs"
    assert [a.source for a in result.attempts] == ["azure-metrics", "azure-logs"]
    assert result.attempts[0].reason == "empty series" and not result.attempts[0].decided
    assert result.evidence[0].value == 300  # worst row first
    assert "300 ms" in result.summary and "worst of 2 rows" in result.summary


def test_a_target_without_any_data_is_no_data_with_every_reason() -> None:
    a = no_data(source="x", resource="r", label="r", query={}, window=WINDOW, thresholds=LOWER, reason="HTTP 500")
    b = no_data(source="y", resource="r", label="r", query={}, window=WINDOW, thresholds=LOWER, reason="no URL")
    result = decide("t", "c", "s", LOWER, [("x", [a]), ("y", [b])])
    assert result.verdict == "NO_DATA"
    assert result.source is None
    assert "x: HTTP 500" in result.summary and "y: no URL" in result.summary
    assert decide("t", "c", "s", LOWER, []).verdict == "NO_DATA"


def test_a_replica_without_data_outranks_a_warning_of_another() -> None:
    missing = no_data(source="s", resource="r2", label="r2", query={}, window=WINDOW, thresholds=LOWER, reason="empty")
    assert decide("t", "c", "s", LOWER, [("s", [row(300), missing])]).verdict == "NO_DATA"
    assert decide("t", "c", "s", LOWER, [("s", [row(600), missing])]).verdict == "FAIL"


@pytest.mark.parametrize(
    ("verdicts", "fail_on", "no_data_policy", "code"),
    [
        (["PASS"], "critical", "fail", EXIT_PASS),
        (["PASS", "WARN"], "critical", "fail", EXIT_PASS),
        (["PASS", "WARN"], "warn", "fail", EXIT_WARN),
        (["WARN", "FAIL"], "warn", "fail", EXIT_FAIL),
        (["PASS", "NO_DATA"], "critical", "fail", EXIT_INCONCLUSIVE),
        (["FAIL", "NO_DATA"], "critical", "fail", EXIT_FAIL),
        (["PASS", "NO_DATA"], "critical", "warn", EXIT_PASS),
        (["PASS", "NO_DATA"], "warn", "warn", EXIT_WARN),
        (["PASS", "NO_DATA"], "warn", "ignore", EXIT_PASS),
    ],
)
def test_policy_maps_verdicts_to_exit_codes(verdicts: list[str], fail_on: str, no_data_policy: str, code: int) -> None:
    assert Policy(fail_on=fail_on, no_data=no_data_policy).exit_code(verdicts) == code


def test_report_applies_the_policy_to_targets_and_conformance() -> None:
    target = decide("api-latency", "API", "average latency", LOWER, [("s", [row(100)])])
    mismatch = ConformanceRow(
        check="cache eviction policy",
        resource="r",
        source="arm",
        declared="allkeys-lru",
        live="volatile-lru",
        verdict="FAIL",
    )
    report = Report(
        project="fin-agent",
        stack="dev",
        sources=["probe"],
        window=WINDOW,
        generated_at=NOW,
        policy=Policy(),
        targets=[target],
        conformance=[mismatch],
    )
    assert report.exit_code == EXIT_FAIL and report.outcome == "failed"
    assert report.counts() == {"PASS": 1, "WARN": 0, "FAIL": 1, "NO_DATA": 0}
    empty = Report(
        project="fin-agent", stack="dev", sources=[], window=WINDOW, generated_at=NOW, policy=Policy(), targets=[]
    )
    assert empty.exit_code == EXIT_INCONCLUSIVE


def test_a_conformance_row_shows_both_values_or_a_reason() -> None:
    with pytest.raises(ValidationError, match="needs the live value"):
        ConformanceRow(check="c", resource="r", source="arm", declared="1", verdict="FAIL")
    with pytest.raises(ValidationError, match="needs a reason"):
        ConformanceRow(check="c", resource="r", source="arm", declared="1", verdict="NO_DATA")
