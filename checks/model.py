"""The verdict model every gate of this project reports in: evidence, results, policy, report.

Independent of where numbers come from (Azure Monitor, logs, probes, or a load test): a
source produces `Evidence` rows, `judge` turns a measured value into a verdict with the target
table's thresholds, `decide` picks a target's verdict from its rows, and `Policy` turns the
verdicts of a run into one exit code. Renderers (`checks.render`) read only this model.

Verdicts:

- `PASS`, `WARN`, `FAIL`: a value was measured (at least one sample) and judged against the
  target and critical thresholds of `checks/targets.yaml`.
- `NO_DATA`: nothing to judge (no sample, empty series, a source error); `reason` says why.
  A row without data is never a PASS: the model refuses to build one.

Numbers are judged as printed: a value is rounded once to its unit's precision
(`round_to_unit`: 0.1 % for percentages; 0.1 ms below 100 ms, 1 ms from there) and that
rounded value is compared, so exactly 95.0 % fails a critical of 95 % and is shown as 95.0 %.
A value marked `lowerBound` (some samples timed out and count as the timeout) can prove a
WARN or a FAIL, never a PASS: a lower bound on the better side of the target is a WARN.

Across the rows of one target the worst decides, in this order: FAIL, NO_DATA, WARN, PASS
(a replica without data is less reassuring than a warning on another one).
"""

from __future__ import annotations

import math
import signal
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

REPORT_SCHEMA_VERSION = 1

Verdict = Literal["PASS", "WARN", "FAIL", "NO_DATA"]
VERDICTS: tuple[Verdict, ...] = ("PASS", "WARN", "FAIL", "NO_DATA")
# Higher is worse: the order in which one row's verdict overrides another's.
SEVERITY: dict[str, int] = {"PASS": 0, "WARN": 1, "NO_DATA": 2, "FAIL": 3}

EXIT_PASS = 0
EXIT_WARN = 1
EXIT_FAIL = 2
EXIT_INCONCLUSIVE = 3
EXIT_USAGE = 4


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class Point(_Model):
    """One value of a series (a metric bucket, a probe sample, a counter interval)."""

    time: datetime
    value: float


class Window(_Model):
    start: datetime
    end: datetime

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


class Thresholds(_Model):
    """A target's thresholds as the table states them (copied into every row for the reader)."""

    unit: str
    better: Literal["lower", "higher"]
    target: float
    critical: float


def round_to_unit(value: float, unit: str) -> float:
    """`value` at the precision it is printed with (see `format_value`), the one it is judged at."""
    if unit == "percent":
        return round(value, 1)
    if unit == "ms":
        return float(round(value)) if abs(value) >= 99.95 else round(value, 1)
    return value


def judge(value: float, thresholds: Thresholds) -> Verdict:
    """PASS better than target, WARN between target and critical, FAIL at or beyond critical.

    The same rule as `checks.targets.Target.judge`, on the copy of the thresholds a row carries.
    """
    if thresholds.better == "lower":
        if value < thresholds.target:
            return "PASS"
        return "WARN" if value < thresholds.critical else "FAIL"
    if value > thresholds.target:
        return "PASS"
    return "WARN" if value > thresholds.critical else "FAIL"


def worst(verdicts: Iterable[str]) -> Verdict:
    """The worst of `verdicts` (FAIL > NO_DATA > WARN > PASS); NO_DATA when there are none."""
    found = list(verdicts)
    if not found:
        return "NO_DATA"
    return max(found, key=lambda v: SEVERITY[v])  # type: ignore[return-value]


class Evidence(_Model):
    """One measured (or unmeasurable) row: what was asked, of what, and what came back.

    `query` describes the question exactly enough to repeat it: for metrics the namespace,
    metric names, aggregation, grain, filter and window; for logs the KQL; for probes the
    probe, its target (never a credential) and its bounds. `value` is in `thresholds.unit`;
    `raw` keeps the source's own numbers (e.g. millicores and the limit they were divided by).
    """

    source: str
    resource: str
    label: str
    query: dict[str, Any]
    window: Window
    value: float | None = None
    samples: int = 0
    thresholds: Thresholds
    verdict: Verdict
    reason: str | None = None
    lower_bound: bool = False
    stats: dict[str, float] = Field(default_factory=dict)
    raw: dict[str, Any] = Field(default_factory=dict)
    series: list[Point] = Field(default_factory=list)

    @model_validator(mode="after")
    def _never_pass_without_data(self) -> Evidence:
        has_value = self.value is not None and math.isfinite(self.value)
        if self.verdict != "NO_DATA" and (not has_value or self.samples < 1):
            raise ValueError(f"a {self.verdict} row needs a finite value and at least one sample")
        if self.verdict == "NO_DATA" and not self.reason:
            raise ValueError("a NO_DATA row needs a reason")
        return self


def measured(
    *,
    source: str,
    resource: str,
    label: str,
    query: dict[str, Any],
    window: Window,
    thresholds: Thresholds,
    value: float | None,
    samples: int,
    no_data_reason: str,
    stats: dict[str, float] | None = None,
    raw: dict[str, Any] | None = None,
    series: list[Point] | None = None,
    note: str | None = None,
    lower_bound: bool = False,
) -> Evidence:
    """A row judged from `value`, or NO_DATA with `no_data_reason` when there is nothing to judge.

    The value is rounded once to its unit's precision and judged as rounded; a `lower_bound`
    value that would PASS is a WARN (the true value may be anywhere above it).
    """
    has_data = value is not None and math.isfinite(value) and samples > 0
    shown = round_to_unit(value, thresholds.unit) if has_data else None  # type: ignore[arg-type]
    verdict: Verdict = judge(shown, thresholds) if shown is not None else "NO_DATA"
    if lower_bound and verdict == "PASS":
        verdict = "WARN"
    return Evidence(
        source=source,
        resource=resource,
        label=label,
        query=query,
        window=window,
        value=shown,
        samples=samples if has_data else 0,
        thresholds=thresholds,
        verdict=verdict,
        lower_bound=lower_bound and has_data,
        reason=note if has_data else (f"{no_data_reason}; {note}" if note else no_data_reason),
        stats=stats or {},
        raw=raw or {},
        series=series or [],
    )


def no_data(
    *,
    source: str,
    resource: str,
    label: str,
    query: dict[str, Any],
    window: Window,
    thresholds: Thresholds,
    reason: str,
) -> Evidence:
    return Evidence(
        source=source,
        resource=resource,
        label=label,
        query=query,
        window=window,
        thresholds=thresholds,
        verdict="NO_DATA",
        reason=reason,
    )


class Attempt(_Model):
    """A source tried for a target, whether it decided the verdict, and why not if it did not."""

    source: str
    decided: bool
    rows: int
    reason: str | None = None


class TargetResult(_Model):
    id: str
    component: str
    statistic: str
    thresholds: Thresholds
    verdict: Verdict
    value: float | None = None
    lower_bound: bool = False
    source: str | None = None
    summary: str
    evidence: list[Evidence] = Field(default_factory=list)
    attempts: list[Attempt] = Field(default_factory=list)
    # Wall-clock seconds spent measuring this target: its share of each source phase that measured
    # it (targets measured together split the phase evenly). The JUnit case `time`.
    seconds: float = 0


def decide(
    target_id: str,
    component: str,
    statistic: str,
    thresholds: Thresholds,
    attempts: list[tuple[str, list[Evidence]]],
) -> TargetResult:
    """A target's result from the rows of each source tried, in fallback order.

    The first source with at least one measured row decides (its rows, worst first, give the
    verdict); rows of sources tried before it stay in `attempts` with their reasons. When no
    source measured anything, every row is kept and the verdict is NO_DATA. A target whose
    verdict is NO_DATA (a row without data outranks a WARN) shows no value: the number of a
    measured row is not the target's value.
    """
    records: list[Attempt] = []
    for source, rows in attempts:
        if any(row.verdict != "NO_DATA" for row in rows):
            records.append(Attempt(source=source, decided=True, rows=len(rows)))
            ordered = sorted(rows, key=lambda r: _rank(r, thresholds), reverse=True)
            deciding = next(r for r in ordered if r.value is not None)
            verdict = worst(row.verdict for row in rows)
            return TargetResult(
                id=target_id,
                component=component,
                statistic=statistic,
                thresholds=thresholds,
                verdict=verdict,
                value=None if verdict == "NO_DATA" else deciding.value,
                lower_bound=deciding.lower_bound and verdict != "NO_DATA",
                source=source,
                summary=_summary(deciding, rows, thresholds, verdict),
                evidence=ordered,
                attempts=records,
            )
        records.append(Attempt(source=source, decided=False, rows=len(rows), reason=_reasons(rows)))
    every_row = [row for _, rows in attempts for row in rows]
    reason = "; ".join(f"{a.source}: {a.reason}" for a in records) or "no source covers this target"
    return TargetResult(
        id=target_id,
        component=component,
        statistic=statistic,
        thresholds=thresholds,
        verdict="NO_DATA",
        source=None,
        summary=f"no data: {reason}",
        evidence=every_row,
        attempts=records,
    )


def _reasons(rows: list[Evidence]) -> str:
    if not rows:
        return "no rows"
    unique = list(dict.fromkeys(row.reason or "no data" for row in rows))
    return "; ".join(unique[:3]) + (f" (and {len(unique) - 3} more)" if len(unique) > 3 else "")


def format_value(value: float | None, unit: str, lower_bound: bool = False) -> str:
    if value is None:
        return "no data"
    if lower_bound:
        return "≥ " + format_value(value, unit)
    if unit == "percent":
        return f"{value:.1f} %"
    if unit == "ms":
        return f"{value:.0f} ms" if abs(value) >= 100 else f"{value:.1f} ms"
    return f"{value:g} {unit}"


def threshold_text(thresholds: Thresholds) -> str:
    sign = "<" if thresholds.better == "lower" else ">"
    return (
        f"target {sign} {format_value(thresholds.target, thresholds.unit)}, "
        f"critical {sign} {format_value(thresholds.critical, thresholds.unit)}"
    )


def _rank(row: Evidence, thresholds: Thresholds) -> tuple[int, float]:
    """Worst first: by verdict, then (among measured rows) by how far the value is from good."""
    if row.value is None:
        return (SEVERITY[row.verdict], float("-inf"))
    return (SEVERITY[row.verdict], row.value if thresholds.better == "lower" else -row.value)


def _summary(deciding: Evidence, rows: list[Evidence], thresholds: Thresholds, verdict: str = "") -> str:
    measured_text = format_value(deciding.value, thresholds.unit, deciding.lower_bound)
    text = f"{measured_text} ({deciding.label}) vs {threshold_text(thresholds)}"
    if deciding.lower_bound:
        text += f"; a lower bound: {deciding.reason}"
    elif deciding.reason and deciding.source.startswith("probe:") and deciding.raw.get("failed"):
        text += f"; {deciding.reason}"
    if verdict == "NO_DATA":
        missing_rows = [r for r in rows if r.verdict == "NO_DATA"]
        reasons = _reasons(missing_rows)
        return f"no data for {len(missing_rows)} of {len(rows)} rows ({reasons}); worst measured row: {text}"
    if len(rows) > 1:
        text += f"; worst of {len(rows)} rows"
    missing = sum(1 for r in rows if r.verdict == "NO_DATA")
    if missing:
        text += f", {missing} without data"
    return text


class ConformanceRow(_Model):
    """What is live matches what was declared: PASS, FAIL (both values shown) or NO_DATA."""

    check: str
    resource: str
    source: str
    declared: str
    live: str | None = None
    verdict: Literal["PASS", "FAIL", "NO_DATA"]
    reason: str | None = None
    # Its share of the wall-clock seconds of the conformance reads (run beside the metric reads).
    seconds: float = 0

    @model_validator(mode="after")
    def _explained(self) -> ConformanceRow:
        if self.verdict == "NO_DATA" and not self.reason:
            raise ValueError("a NO_DATA conformance row needs a reason")
        if self.verdict != "NO_DATA" and self.live is None:
            raise ValueError("a judged conformance row needs the live value")
        return self


FailOn = Literal["warn", "critical"]
NoDataPolicy = Literal["fail", "warn", "ignore"]


class Policy(_Model):
    """How a run's verdicts become one exit code (the only place that decides it).

    - any FAIL (a target or a conformance row): 2;
    - else any NO_DATA, when `noData` is `fail`: 3 (inconclusive);
    - else, when `failOn` is `warn`, any WARN (or NO_DATA with `noData: warn`): 1;
    - else 0. With `noData: ignore`, NO_DATA rows are reported and do not count.
    """

    fail_on: FailOn = "critical"
    no_data: NoDataPolicy = "fail"

    def exit_code(self, verdicts: Iterable[str]) -> int:
        found = set(verdicts)
        if "FAIL" in found:
            return EXIT_FAIL
        if "NO_DATA" in found and self.no_data == "fail":
            return EXIT_INCONCLUSIVE
        warns = "WARN" in found or ("NO_DATA" in found and self.no_data == "warn")
        if self.fail_on == "warn" and warns:
            return EXIT_WARN
        return EXIT_PASS

    def outcome(self, verdicts: Iterable[str]) -> str:
        """One word for the run: failed, inconclusive, warnings, passed (or `no data` when nothing ran)."""
        found = set(verdicts)
        if not found:
            return "no data"
        if "FAIL" in found:
            return "failed"
        if "NO_DATA" in found and self.no_data == "fail":
            return "inconclusive"
        if "WARN" in found or ("NO_DATA" in found and self.no_data == "warn"):
            return "warnings"
        return "passed"


class Report(_Model):
    """A whole run: what was checked, how, every result, and the exit code the policy gives."""

    schema_version: Literal[1] = REPORT_SCHEMA_VERSION
    kind: str = "check"
    project: str
    stack: str
    environment: str | None = None
    platform: str | None = None
    cache_tier: str | None = None
    # The stack's Azure Monitor workbook (the same queries charted over time), when the
    # outputs name one.
    workbook_url: str | None = None
    sources: list[str]
    window: Window
    bake_seconds: float = 0
    generated_at: datetime
    policy: Policy
    targets: list[TargetResult]
    conformance: list[ConformanceRow] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    calls: list[dict[str, Any]] = Field(default_factory=list)
    # Wall-clock seconds from the end of the bake to the report: the JUnit suite `time`.
    elapsed_seconds: float = 0
    # The signal that stopped the run ("SIGINT", "SIGTERM"): a partial report, no verdict, exit 128 + its number.
    interrupted: str | None = None
    outcome: str = ""
    exit_code: int = 0

    @model_validator(mode="after")
    def _apply_policy(self) -> Report:
        verdicts = self.verdicts()
        self.outcome = self.policy.outcome(verdicts)
        self.exit_code = self.policy.exit_code(verdicts)
        if not self.targets and not self.conformance:
            self.exit_code = EXIT_INCONCLUSIVE
        if self.interrupted:
            self.outcome = "interrupted"
            self.exit_code = 128 + int(getattr(signal, self.interrupted, signal.SIGINT))
        return self

    def verdicts(self) -> list[str]:
        return [t.verdict for t in self.targets] + [c.verdict for c in self.conformance]

    def counts(self) -> dict[str, int]:
        verdicts = self.verdicts()
        return {v: verdicts.count(v) for v in VERDICTS}

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)
