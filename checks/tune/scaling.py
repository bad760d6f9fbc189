"""Container Apps replica bounds and the autoscale threshold, from replicas, CPU and latency.

The stack's autoscale settings (`autoscale.*`) are shared by both apps, so each app's finding
proposes a value and the larger bound wins when both propose one (`merge_changes`). The rules
are stated in `checks.tune.apps`' docstring and repeated in each finding.
"""

from __future__ import annotations

import math
from typing import Any

from checks.targets import TargetTable
from checks.tune.apps import LAG_HOURS, MAX_REPLICAS_ALLOWED, PINNED_SHARE, AppEvidence
from checks.tune.model import Finding, SettingChange
from checks.tune.stats import percentile, rounded


def pinned_hours(ev: AppEvidence, max_replicas: int) -> list[Any]:
    return [t for t, v in ev.replicas_max.items() if v >= max_replicas]


def share_at_min(ev: AppEvidence, min_replicas: int) -> float:
    """The share of hours the app never left its min replicas."""
    if not ev.replicas_max:
        return 0.0
    return sum(1 for v in ev.replicas_max.values() if v <= min_replicas) / len(ev.replicas_max)


def is_pinned(ev: AppEvidence, scale: Any) -> tuple[bool, float | None, float]:
    """(pinned at max with CPU above the threshold, p95 CPU in the pinned hours, share of hours)."""
    hours = pinned_hours(ev, scale.max_replicas)
    share = len(hours) / len(ev.replicas_max) if ev.replicas_max else 0.0
    cpu = percentile([ev.cpu_hourly[t] for t in hours if t in ev.cpu_hourly], 95)
    return share >= PINNED_SHARE and cpu is not None and cpu > scale.cpu_utilization, cpu, share


def max_replicas(name: str, ev: AppEvidence, scale: Any) -> Finding:
    pinned, cpu_at_max, share = is_pinned(ev, scale)
    rule = (
        f"raise maxReplicas when the app sat at max in >= {PINNED_SHARE:.0%} of the hours with p95 CPU in those hours "
        f"above the autoscale threshold ({scale.cpu_utilization} %); new max = ceil(max x p95 / threshold), "
        "at least max + 1"
    )
    figures = {
        "maxReplicas": scale.max_replicas,
        "shareOfHoursAtMax": round(share, 3),
        "shareOfHoursAtMin": round(share_at_min(ev, scale.min_replicas), 3),
        "cpuPercentP95AtMax": rounded(cpu_at_max),
        "hoursWithReplicaData": len(ev.replicas_max),
    }
    subject = f"service {name}"
    if not ev.replicas_max:
        return Finding(
            subject=subject,
            knob="maxReplicas",
            kind="no-data",
            rule=rule,
            evidence=figures,
            summary="no Replicas series in the window: replica bounds are not tuned",
        )
    if not pinned:
        return Finding(
            subject=subject,
            knob="maxReplicas",
            kind="no-change",
            rule=rule,
            evidence=figures,
            summary=f"at max in {share:.0%} of the hours"
            + (f", p95 CPU there {cpu_at_max:.1f} %" if cpu_at_max is not None else "")
            + ": the max was not what held the app back",
        )
    assert cpu_at_max is not None
    proposed = min(
        MAX_REPLICAS_ALLOWED,
        max(scale.max_replicas + 1, math.ceil(scale.max_replicas * cpu_at_max / scale.cpu_utilization)),
    )
    return Finding(
        subject=subject,
        knob="maxReplicas",
        kind="change",
        rule=rule,
        evidence=figures,
        changes=[SettingChange(path="autoscale.maxReplicas", current=scale.max_replicas, proposed=proposed)],
        summary=f"maxReplicas {scale.max_replicas} -> {proposed}: at max in {share:.0%} of the hours with p95 CPU "
        f"{cpu_at_max:.1f} % there, above the {scale.cpu_utilization} % threshold",
    )


def lag_hours(ev: AppEvidence, scale: Any, latency_target: float) -> list[Any]:
    """Hours that started at min, scaled out within the hour, and missed the latency target."""
    return [
        t
        for t, low in ev.replicas_min.items()
        if low <= scale.min_replicas
        and ev.replicas_max.get(t, low) > scale.min_replicas
        and ev.latency.get(t, 0.0) > latency_target
    ]


def min_replicas(name: str, ev: AppEvidence, scale: Any, table: TargetTable) -> Finding:
    latency = table.get("api-latency")
    rule = (
        f"raise minReplicas by one when scale-out lagged demand in >= {LAG_HOURS} hours: the hour started at min, "
        f"scaled out within it, and average latency exceeded the api-latency target ({latency.target:g} ms)"
    )
    lagged = lag_hours(ev, scale, latency.target)
    figures = {"minReplicas": scale.min_replicas, "lagHours": len(lagged), "hoursWithLatencyData": len(ev.latency)}
    subject = f"service {name}"
    if not ev.replicas_min or not ev.latency:
        return Finding(
            subject=subject,
            knob="minReplicas",
            kind="no-data",
            rule=rule,
            evidence=figures,
            summary="no Replicas or ResponseTime series in the window: the min is not tuned",
        )
    if len(lagged) < LAG_HOURS or scale.min_replicas >= scale.max_replicas:
        return Finding(
            subject=subject,
            knob="minReplicas",
            kind="no-change",
            rule=rule,
            evidence=figures,
            summary=f"scale-out lagged demand in {len(lagged)} hour(s): the min is not what slowed the app",
        )
    proposed = scale.min_replicas + 1
    return Finding(
        subject=subject,
        knob="minReplicas",
        kind="change",
        rule=rule,
        evidence=figures,
        changes=[SettingChange(path="autoscale.minReplicas", current=scale.min_replicas, proposed=proposed)],
        summary=f"minReplicas {scale.min_replicas} -> {proposed}: {len(lagged)} hours started at min and missed the "
        f"{latency.target:g} ms latency target while scaling out",
    )


def threshold(scale: Any, table: TargetTable) -> Finding:
    cpu = table.get("container-cpu")
    rule = f"the autoscale CPU threshold must not exceed the container-cpu target ({cpu.target:g} %)"
    figures = {"cpuUtilization": scale.cpu_utilization, "containerCpuTarget": cpu.target}
    if scale.cpu_utilization <= cpu.target:
        return Finding(
            subject="autoscale",
            knob="cpuUtilization",
            kind="no-change",
            rule=rule,
            evidence=figures,
            summary=f"threshold {scale.cpu_utilization} % is within the {cpu.target:g} % target",
        )
    proposed = int(cpu.target)
    return Finding(
        subject="autoscale",
        knob="cpuUtilization",
        kind="change",
        rule=rule,
        evidence=figures,
        changes=[SettingChange(path="autoscale.cpuUtilization", current=scale.cpu_utilization, proposed=proposed)],
        summary=f"cpuUtilization {scale.cpu_utilization} -> {proposed}: replicas could sit above the CPU target",
    )


def merge_changes(findings: list[Finding]) -> list[SettingChange]:
    """Every change once per path; for a path proposed twice (shared autoscale) the larger value wins."""
    chosen: dict[str, SettingChange] = {}
    for finding in findings:
        for change in finding.changes:
            held = chosen.get(change.path)
            if held is None or (isinstance(change.proposed, (int, float)) and change.proposed > held.proposed):
                chosen[change.path] = change
    return list(chosen.values())
