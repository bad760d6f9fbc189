"""Per-request statistics of any engine (Locust, Azure Load Testing), judged as Artillery's report is.

Engines other than Artillery report per request name: how many were sent, how many failed,
their full response times. This module turns those into the same two rows
`checks.loadtest.report` builds from Artillery's report, with the same thresholds and verdict
model (`checks.model.measured` / `decide`):

- latency: the mean full response time over every request (weighted by count), with
  percentiles where the engine gives them;
- error rate: failed virtual users, % of created. Every virtual user sends the first request
  (`GET /health`) once and stops at its first failure (as Artillery's `failOnServerError`), so
  created = the first request's count and failed = the failures over all requests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from checks.loadtest.config import LoadTestPlan
from checks.model import Evidence, Point, Policy, Report, Window, decide, format_value, measured
from checks.outputs import StackOutputs


@dataclass(frozen=True)
class RequestStats:
    name: str
    count: int
    failures: int
    mean_ms: float | None
    percentiles: dict[str, float] = field(default_factory=dict)  # "p50", "p95", ... in ms


@dataclass
class EngineResult:
    """What an engine measured, in the engine-neutral shape the verdict is computed from."""

    source: str  # "locust", "azure-load-testing"
    tool: str  # e.g. "locust 2.47.0"
    window: Window
    requests: list[RequestStats]
    latency_percentiles: dict[str, float] = field(default_factory=dict)
    series: list[Point] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)

    def by_name(self, name: str) -> RequestStats | None:
        return next((r for r in self.requests if r.name == name), None)


def mean_latency(result: EngineResult) -> tuple[float | None, int]:
    """The count-weighted mean of the requests' means, and the number of timed requests."""
    timed = [r for r in result.requests if r.mean_ms is not None and r.count > 0]
    count = sum(r.count for r in timed)
    if not count:
        return None, 0
    return sum(r.mean_ms * r.count for r in timed) / count, count  # type: ignore[operator]


def virtual_users(plan: LoadTestPlan, result: EngineResult) -> tuple[int, int]:
    """(created, failed): the first request's count, and the failures over the scenario's requests."""
    first = result.by_name(plan.requests[0])
    created = first.count if first else 0
    failed = sum(r.failures for r in result.requests if r.name in plan.requests)
    return created, min(failed, created)


def _query(plan: LoadTestPlan, result: EngineResult, statistic: str) -> dict[str, Any]:
    return {
        "tool": result.tool,
        "statistic": statistic,
        "target": plan.target_url,
        "requests": "; ".join(plan.requests),
        "phases": plan.phases_text() + (f" (guide's phases scaled by {plan.scale:g})" if plan.scale != 1 else ""),
    }


def latency_row(plan: LoadTestPlan, result: EngineResult) -> Evidence:
    value, count = mean_latency(result)
    unit = plan.latency.thresholds.unit
    by_request = [f"{r.name} {format_value(r.mean_ms, unit)}" for r in result.requests if r.mean_ms is not None]
    return measured(
        source=result.source,
        resource=plan.target_url,
        label="client side, full response time",
        query=_query(plan, result, "mean response time over every request"),
        window=result.window,
        thresholds=plan.latency.thresholds,
        value=value,
        samples=count,
        no_data_reason=f"{result.source} recorded no timed response",
        stats=dict(result.latency_percentiles),
        raw={
            "byRequest": {
                r.name: {"count": r.count, "failures": r.failures, "mean": r.mean_ms} for r in result.requests
            }
        },
        series=result.series,
        note="mean full response time by request: " + ", ".join(by_request) if by_request else None,
    )


def error_rate_row(plan: LoadTestPlan, result: EngineResult) -> Evidence:
    created, failed = virtual_users(plan, result)
    return measured(
        source=result.source,
        resource=plan.target_url,
        label="failed virtual users",
        query=_query(plan, result, "failed virtual users / created * 100"),
        window=result.window,
        thresholds=plan.error_rate.thresholds,
        value=100 * failed / created if created else None,
        samples=created,
        no_data_reason=f"{result.source} started no virtual user ({plan.requests[0]} was never sent)",
        raw={
            "vusers": {"created": created, "completed": created - failed, "failed": failed},
            "requests": sum(r.count for r in result.requests),
            "failures": sum(r.failures for r in result.requests),
            **result.raw,
        },
        note=f"{failed} of {created} virtual users failed",
    )


def engine_report(plan: LoadTestPlan, outputs: StackOutputs, result: EngineResult, policy: Policy) -> Report:
    """The load-test report of a non-Artillery engine: same rows, same verdicts, same exit codes."""
    results = [
        decide(limit.id, limit.component, limit.statistic, limit.thresholds, [(result.source, [row])])
        for limit, row in ((plan.latency, latency_row(plan, result)), (plan.error_rate, error_rate_row(plan, result)))
    ]
    notes = [f"target {plan.target_url} ({plan.target_from}); phases {plan.phases_text()}; engine {result.tool}"]
    if plan.scale != 1:
        notes.append(f"scaled run (--scale {plan.scale:g}): not the guide's full load, a smoke test")
    return Report(
        kind="loadtest",
        project=outputs.project,
        stack=outputs.stack,
        environment=outputs.environment,
        platform=outputs.platform,
        cache_tier=outputs.cache.tier,
        sources=[result.source],
        window=result.window,
        generated_at=datetime.now(UTC).replace(microsecond=0),
        policy=policy,
        targets=results,
        notes=notes + result.notes,
        calls=result.calls,
    )
