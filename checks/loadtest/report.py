"""Artillery's JSON report, judged: the load test's rows in the checks' verdict model.

Two targets, each decided by one row measured on the client side over the whole run:

- latency (the table's `loadTest.latencyTarget`, e.g. `api-latency`): the mean of
  `aggregate.summaries["http.total"]` (the full response time, headers and body: the config
  turns on Artillery's extended metrics) over every response, with its percentiles as detail,
  the time to first byte (`http.response_time`) and per-request times to first byte
  (`plugins.metrics-by-endpoint.response_time.<request name>`) as context, and the mean of every
  reporting period as the series. `http.response_time` alone would pass a server that sends
  its headers at once and the body much later;
- `error-rate`: failed virtual users, % of created, from the counters `vusers.created` and
  `vusers.completed` (the same expression the config's `ensure` checks use); requests,
  responses, status codes and `errors.*` as detail (in `raw`: `stats` hold values in the
  row's unit only, as the renderers show them so).

The table's optional `loadTest.criteria` add a target each: a statistic (p95, p99, ...) of
the full response time (`http.total`) over every response, or, with `endpoint`, of that
request's time to first byte (`plugins.metrics-by-endpoint.response_time.<request name>`, the
only per-request time Artillery reports). They leave the two targets above unchanged.

A row without samples (no response at all, no virtual user created) is NO_DATA with the
reason, never a PASS. The report's exit code comes from the same `Policy` as the checks'.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from checks.loadtest.artillery import ArtilleryRun
from checks.loadtest.config import ERROR_RATE_EXPRESSION, LATENCY_METRIC, LATENCY_SUMMARY, LoadTestPlan
from checks.model import (
    Evidence,
    Point,
    Policy,
    Report,
    TargetResult,
    Thresholds,
    Window,
    decide,
    format_value,
    measured,
)
from checks.outputs import StackOutputs
from checks.targets import LoadTestCriterion

SOURCE = "artillery"
ENDPOINT_PREFIX = "plugins.metrics-by-endpoint.response_time."
LATENCY_STATS = ("min", "p50", "p90", "p95", "p99", "max")


class ArtilleryReportError(ValueError):
    """Artillery's report is missing or not the JSON document Artillery 2 writes."""


def read_artillery_report(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtilleryReportError(f"Artillery report {path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ArtilleryReportError(f"Artillery report {path} is not JSON: {error}") from None
    aggregate = data.get("aggregate") if isinstance(data, dict) else None
    if not isinstance(aggregate, dict) or not isinstance(aggregate.get("counters", {}), dict):
        raise ArtilleryReportError(f"Artillery report {path} has no aggregate section with counters")
    return data


def _moment(milliseconds: Any) -> datetime | None:
    """Artillery's epoch milliseconds (a number, or a string in `intermediate[].period`)."""
    if isinstance(milliseconds, str) and milliseconds.isdigit():
        milliseconds = int(milliseconds)
    if isinstance(milliseconds, int | float) and not isinstance(milliseconds, bool) and milliseconds > 0:
        return datetime.fromtimestamp(milliseconds / 1000, UTC)
    return None


def _period_moment(period: dict[str, Any]) -> datetime | None:
    """When a reporting period's values were last recorded (its 10 s bucket may start before the run)."""
    return _moment(period.get("lastMetricAt")) or _moment(period.get("period"))


def report_window(aggregate: dict[str, Any], run: ArtilleryRun) -> Window:
    """From the first to the last metric Artillery recorded; the run's wall clock when it recorded none."""
    start = _moment(aggregate.get("firstMetricAt"))
    end = _moment(aggregate.get("lastMetricAt"))
    if start is None or end is None or end < start:
        return Window(start=run.started, end=run.ended)
    return Window(start=start, end=end)


def _counter(counters: dict[str, Any], name: str) -> int:
    value = counters.get(name, 0)
    return int(value) if isinstance(value, int | float) else 0


def _prefixed(counters: dict[str, Any], prefix: str) -> dict[str, int]:
    return {name[len(prefix) :]: _counter(counters, name) for name in sorted(counters) if name.startswith(prefix)}


def _query(plan: LoadTestPlan, run: ArtilleryRun, statistic: str) -> dict[str, Any]:
    return {
        "tool": f"artillery {run.version}" if run.version else "artillery",
        "statistic": statistic,
        "target": plan.target_url,
        "requests": "; ".join(plan.requests),
        "phases": plan.phases_text() + (f" (guide's phases scaled by {plan.scale:g})" if plan.scale != 1 else ""),
    }


def latency_row(plan: LoadTestPlan, run: ArtilleryRun, data: dict[str, Any], window: Window) -> Evidence:
    summaries = data["aggregate"].get("summaries") or {}
    summary = summaries.get(LATENCY_SUMMARY) or {}
    first_byte = summaries.get("http.response_time") or {}
    counters = data["aggregate"].get("counters") or {}
    series = []
    for period in data.get("intermediate") or []:
        moment = _period_moment(period)
        mean = ((period.get("summaries") or {}).get(LATENCY_SUMMARY) or {}).get("mean")
        if moment is not None and isinstance(mean, int | float):
            series.append(Point(time=moment, value=float(mean)))
    endpoints = {
        name[len(ENDPOINT_PREFIX) :]: values
        for name, values in sorted(summaries.items())
        if name.startswith(ENDPOINT_PREFIX) and isinstance(values, dict)
    }
    errors = _prefixed(counters, "errors.")
    reason = "Artillery recorded no HTTP response (no full response time, http.total)"
    if errors:
        reason += " (errors: " + ", ".join(f"{name} {count}" for name, count in errors.items()) + ")"
    value = summary.get("mean")
    return measured(
        source=SOURCE,
        resource=plan.target_url,
        label="client side, full response time",
        query=_query(plan, run, LATENCY_METRIC),
        window=window,
        thresholds=plan.latency.thresholds,
        value=float(value) if isinstance(value, int | float) else None,
        samples=int(summary.get("count") or 0),
        no_data_reason=reason,
        stats={name: float(summary[name]) for name in LATENCY_STATS if isinstance(summary.get(name), int | float)},
        raw={
            "summary": summary,
            "timeToFirstByte": first_byte,
            "byRequestTimeToFirstByte": {name: values.get("mean") for name, values in endpoints.items()},
        },
        series=series,
        note=_by_request_note(endpoints, plan),
    )


def criterion_row(
    plan: LoadTestPlan, run: ArtilleryRun, data: dict[str, Any], window: Window, criterion: LoadTestCriterion
) -> Evidence:
    """One `loadTest.criteria` entry measured from the report: its statistic of its summary."""
    name = ENDPOINT_PREFIX + criterion.endpoint if criterion.endpoint else LATENCY_SUMMARY
    summaries = data["aggregate"].get("summaries") or {}
    summary = summaries.get(name) or {}
    value = summary.get(criterion.statistic)
    if criterion.endpoint and name not in summaries:
        known = sorted(k[len(ENDPOINT_PREFIX) :] for k in summaries if k.startswith(ENDPOINT_PREFIX))
        reason = (
            f"no response time of request {criterion.endpoint!r} in Artillery's report (requests: {known or 'none'})"
        )
    else:
        reason = f"Artillery recorded no {criterion.statistic} of {name}"
    series = []
    for period in data.get("intermediate") or []:
        moment = _period_moment(period)
        point = ((period.get("summaries") or {}).get(name) or {}).get(criterion.statistic)
        if moment is not None and isinstance(point, int | float):
            series.append(Point(time=moment, value=float(point)))
    what = f"{criterion.endpoint}, time to first byte" if criterion.endpoint else "full response time"
    return measured(
        source=SOURCE,
        resource=plan.target_url,
        label=f"client side, {what}, {criterion.statistic}",
        query=_query(plan, run, f"{name} {criterion.statistic}"),
        window=window,
        thresholds=Thresholds(
            unit=criterion.unit, better=criterion.better, target=criterion.target, critical=criterion.critical
        ),
        value=float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None,
        samples=int(summary.get("count") or 0),
        no_data_reason=reason,
        stats={k: float(summary[k]) for k in LATENCY_STATS if isinstance(summary.get(k), int | float)},
        series=series,
    )


def _criterion_statistic(criterion: LoadTestCriterion) -> str:
    return f"{criterion.statistic} response time" + (f" of {criterion.endpoint}" if criterion.endpoint else "")


def _by_request_note(endpoints: dict[str, dict[str, Any]], plan: LoadTestPlan) -> str | None:
    means = [
        f"{name} {format_value(float(values['mean']), plan.latency.thresholds.unit)}"
        for name, values in endpoints.items()
        if isinstance(values.get("mean"), int | float)
    ]
    return "mean time to first byte by request: " + ", ".join(means) if means else None


def error_rate_row(plan: LoadTestPlan, run: ArtilleryRun, data: dict[str, Any], window: Window) -> Evidence:
    counters = data["aggregate"].get("counters") or {}
    created = _counter(counters, "vusers.created")
    completed = _counter(counters, "vusers.completed")
    failed = _counter(counters, "vusers.failed")
    codes = _prefixed(counters, "http.codes.")
    errors = _prefixed(counters, "errors.")
    series = []
    for period in data.get("intermediate") or []:
        moment = _period_moment(period)
        period_counters = period.get("counters") or {}
        ended = _counter(period_counters, "vusers.completed") + _counter(period_counters, "vusers.failed")
        if moment is not None and ended:
            series.append(Point(time=moment, value=100 * _counter(period_counters, "vusers.failed") / ended))
    value = 100 * (created - completed) / created if created else None
    note = f"{created - completed} of {created} virtual users failed"
    if errors:
        note += " (" + ", ".join(f"{name} {count}" for name, count in errors.items()) + ")"
    return measured(
        source=SOURCE,
        resource=plan.target_url,
        label="failed virtual users",
        query=_query(plan, run, ERROR_RATE_EXPRESSION),
        window=window,
        thresholds=plan.error_rate.thresholds,
        value=value,
        samples=created,
        no_data_reason="Artillery created no virtual user",
        raw={
            "vusers": {"created": created, "completed": completed, "failed": failed},
            "requests": _counter(counters, "http.requests"),
            "responses": _counter(counters, "http.responses"),
            "codes": codes,
            "errors": errors,
        },
        series=series,
        note=note,
    )


def _ensure_notes(run: ArtilleryRun, targets: list[TargetResult]) -> list[str]:
    notes = []
    if run.ensure:
        listed = "; ".join(
            f"{'ok' if c.ok else 'fail'}: {c.check}{'' if c.strict else ' (optional)'}" for c in run.ensure
        )
        notes.append(f"Artillery exited {run.exit_code}; its ensure checks: {listed}")
    else:
        notes.append(f"Artillery exited {run.exit_code} and printed no ensure checks")
    verdict_fails = any(t.verdict == "FAIL" for t in targets)
    if bool(run.ensure_failed) != verdict_fails:
        notes.append(
            "Artillery's strict ensure checks and the verdict disagree "
            f"(ensure {'failed' if run.ensure_failed else 'passed'}, verdict "
            f"{'FAIL' if verdict_fails else 'no FAIL'}): the verdict is computed from the report"
        )
    elif run.exit_code == 1 and not run.ensure_failed:
        notes.append("Artillery exited 1 although no strict ensure check failed: see its output")
    return notes


def loadtest_report(
    plan: LoadTestPlan,
    outputs: StackOutputs,
    run: ArtilleryRun,
    data: dict[str, Any],
    policy: Policy,
    criteria: Sequence[LoadTestCriterion] = (),
) -> Report:
    window = report_window(data["aggregate"], run)
    elapsed = max(0.0, (run.ended - run.started).total_seconds())
    results = []
    for limit, row in (
        (plan.latency, latency_row(plan, run, data, window)),
        (plan.error_rate, error_rate_row(plan, run, data, window)),
    ):
        results.append(decide(limit.id, limit.component, limit.statistic, limit.thresholds, [(SOURCE, [row])]))
    for criterion in criteria:
        row = criterion_row(plan, run, data, window, criterion)
        statistic = _criterion_statistic(criterion)
        results.append(decide(criterion.id, plan.latency.component, statistic, row.thresholds, [(SOURCE, [row])]))
    notes = [f"target {plan.target_url} ({plan.target_from}); phases {plan.phases_text()}"]
    if plan.scale != 1:
        notes.append(f"scaled run (--scale {plan.scale:g}): not the guide's full load, a smoke test")
    if run.aborted:
        notes.append(
            f"stopped early by the watchdog, {run.aborted}; the verdict is computed from Artillery's "
            "periodic reports up to then (its JSON report is written only at the end of a run)"
        )
    else:
        notes += _ensure_notes(run, results)
    return Report(
        kind="loadtest",
        project=outputs.project,
        stack=outputs.stack,
        environment=outputs.environment,
        platform=outputs.platform,
        cache_tier=outputs.cache.tier,
        sources=[SOURCE],
        window=window,
        generated_at=datetime.now(UTC).replace(microsecond=0),
        policy=policy,
        targets=[r.model_copy(update={"seconds": round(elapsed / len(results), 3)}) for r in results],
        notes=notes,
        elapsed_seconds=round(elapsed, 3),
        calls=[
            {
                "source": SOURCE,
                "command": run.command,
                "version": run.version,
                "exitCode": run.exit_code,
                "aborted": run.aborted,
                "seconds": round((run.ended - run.started).total_seconds(), 1),
                "ensure": [{"check": c.check, "ok": c.ok, "strict": c.strict} for c in run.ensure],
            }
        ],
    )
