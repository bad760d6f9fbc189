"""Stop a load test early, with the reason, once it is clearly past critical.

Like k6's `abortOnFail` and Azure Load Testing's auto-stop, a run whose error rate or full
response time is already past its critical limit need not load the target for minutes more.
Artillery prints a report of every 10-second period while it runs (artillery 2.0.34,
dist/lib/console-reporter.js `printReport`: "Metrics for period to: ...", then one
`name: ..... value` line per counter and a `name:` line with `  min:`/`  max:`/`  mean:`/...
lines per summary). The watchdog reads those lines as they come and, after each complete
period, judges the run so far:

- error rate: failed virtual users, % of those that ended (`vusers.failed` over
  `vusers.completed + vusers.failed`), summed over the periods;
- latency: the mean full response time (`http.total`), the periods' means weighted by their
  `http.responses`.

A period is judged as soon as the figures it needs are printed (metrics come in alphabetical
order, `vusers.failed` after `http.*`), else at the next period's header. It aborts when a
figure is at or past critical both in the last period and over the run so far, with at least
`MIN_SAMPLES` samples behind it: one slow start does not stop a run, a
sustained failure does. The periods it read become the data the verdict is computed from
(`report_data`), so an aborted run is judged by the same code as a complete one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from checks.model import Thresholds

MIN_SAMPLES = 20
PERIOD_HEADER = re.compile(r"^Metrics for period to: ")
END_MARKERS = ("Summary report @", "All VUs finished")
COUNTER_LINE = re.compile(r"^(?P<name>[A-Za-z0-9_.$/{}\- ]+?): \.* ?(?P<value>-?[0-9.]+)(?:/sec)?$")
SUMMARY_HEAD = re.compile(r"^(?P<name>[A-Za-z0-9_.$/{}\- ]+?):$")
SUMMARY_STAT = re.compile(r"^  (?P<stat>min|max|mean|median|p95|p99): \.* ?(?P<value>-?[0-9.]+)$")
LATENCY_SUMMARY = "http.total"


@dataclass
class Period:
    seen_at: datetime
    counters: dict[str, float] = field(default_factory=dict)
    summaries: dict[str, dict[str, float]] = field(default_factory=dict)

    def counter(self, name: str) -> float:
        return self.counters.get(name, 0.0)


@dataclass
class Figures:
    """The run so far (or one period): the two figures the limits judge and their sample counts."""

    failed: float = 0.0
    ended: float = 0.0
    latency_sum: float = 0.0
    responses: float = 0.0

    def add(self, period: Period) -> Figures:
        mean = period.summaries.get(LATENCY_SUMMARY, {}).get("mean")
        responses = period.counter("http.responses")
        return Figures(
            failed=self.failed + period.counter("vusers.failed"),
            ended=self.ended + period.counter("vusers.failed") + period.counter("vusers.completed"),
            latency_sum=self.latency_sum + (mean * responses if mean is not None else 0.0),
            responses=self.responses + (responses if mean is not None else 0.0),
        )

    @property
    def error_rate(self) -> float | None:
        return 100 * self.failed / self.ended if self.ended else None

    @property
    def latency(self) -> float | None:
        return self.latency_sum / self.responses if self.responses else None


def _past(value: float | None, thresholds: Thresholds) -> bool:
    if value is None:
        return False
    return value >= thresholds.critical if thresholds.better == "lower" else value <= thresholds.critical


class Watchdog:
    """Feed it Artillery's output line by line; `abort_reason` is set once the run should stop."""

    def __init__(self, latency: Thresholds, error_rate: Thresholds, min_samples: int = MIN_SAMPLES) -> None:
        self.latency = latency
        self.error_rate = error_rate
        self.min_samples = min_samples
        self.periods: list[Period] = []
        self.current: Period | None = None
        self.summary_name: str | None = None
        self.abort_reason: str | None = None
        self.started = datetime.now(UTC)

    def feed(self, line: str) -> str | None:
        """Read one line; returns the abort reason the first time the run should stop."""
        if self.abort_reason is not None:
            return None
        if PERIOD_HEADER.match(line) or line.startswith(END_MARKERS):
            self._close()
            if PERIOD_HEADER.match(line):
                self.current = Period(seen_at=datetime.now(UTC))
            return self.abort_reason
        if self.current is None:
            return None
        self._read_metric(line)
        if "vusers.failed" in self.current.counters or "p99" in self.current.summaries.get("vusers.session_length", {}):
            # Metrics print in alphabetical order: once `vusers.failed` (or, when no virtual user
            # failed, the last line of `vusers.session_length`) is read, every figure judged is in.
            self._close()
        return self.abort_reason

    def _read_metric(self, line: str) -> None:
        assert self.current is not None
        stat = SUMMARY_STAT.match(line)
        if stat and self.summary_name:
            self.current.summaries.setdefault(self.summary_name, {})[stat["stat"]] = float(stat["value"])
            return
        head = SUMMARY_HEAD.match(line)
        if head:
            self.summary_name = head["name"]
            return
        counter = COUNTER_LINE.match(line)
        if counter:
            self.summary_name = None
            self.current.counters[counter["name"]] = float(counter["value"])

    def _close(self) -> None:
        if self.current is None:
            return
        period, self.current, self.summary_name = self.current, None, None
        if not period.counters and not period.summaries:
            return
        self.periods.append(period)
        self.abort_reason = self._judge(period)

    def totals(self) -> Figures:
        figures = Figures()
        for period in self.periods:
            figures = figures.add(period)
        return figures

    def _judge(self, last: Period) -> str | None:
        run, now = self.totals(), Figures().add(last)
        seconds = (last.seen_at - self.started).total_seconds()
        if (
            run.ended >= self.min_samples
            and _past(run.error_rate, self.error_rate)
            and _past(now.error_rate, self.error_rate)
        ):
            return (
                f"aborted after {seconds:.0f} s: error rate {run.error_rate:.1f} % "
                f"({run.failed:.0f} of {run.ended:.0f} virtual users failed) is past critical "
                f"{self.error_rate.critical:g} % in the last period and over the run so far"
            )
        if run.responses >= self.min_samples and _past(run.latency, self.latency) and _past(now.latency, self.latency):
            return (
                f"aborted after {seconds:.0f} s: mean full response time {run.latency:.1f} ms over "
                f"{run.responses:.0f} responses is past critical {self.latency.critical:g} ms in the last "
                "period and over the run so far"
            )
        return None

    def report_data(self) -> dict[str, Any]:
        """The periods read so far in the shape of Artillery's JSON report (`aggregate`, `intermediate`)."""
        counters: dict[str, float] = {}
        for period in self.periods:
            for name, value in period.counters.items():
                if not name.endswith("_rate"):
                    counters[name] = counters.get(name, 0.0) + value
        run = self.totals()
        summaries = {}
        if run.latency is not None:
            summaries[LATENCY_SUMMARY] = {"mean": round(run.latency, 1), "count": int(run.responses)}
        moments = [int(p.seen_at.timestamp() * 1000) for p in self.periods]
        return {
            "aggregate": {
                "counters": {name: int(value) for name, value in counters.items()},
                "summaries": summaries,
                "firstMetricAt": int(self.started.timestamp() * 1000),
                "lastMetricAt": moments[-1] if moments else None,
            },
            "intermediate": [
                {"lastMetricAt": moment, "counters": period.counters, "summaries": period.summaries}
                for moment, period in zip(moments, self.periods, strict=True)
            ],
        }
