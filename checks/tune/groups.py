"""Container groups (Azure Container Instances): each container's request and limit.

Evidence per service, over every group running its container (`containerName` split), worst
group per hour: `CpuUsage` (millicores) and `MemoryUsage` (bytes), Average per hour for the p95
and Maximum for the peak, against the container's request and limit from the stack outputs.

Rule: the limit is the smallest value on tune's grid (0.25 vCPU, 0.5 GB) at which the p95 is
below the `container-cpu` / `container-memory` target and the peak below the critical
threshold, as % of the limit (the targets are % of limit); the request is the p95 on the same
grid, never above the limit. Azure's group rules (infra.settings.rules.compute) then hold: a
limit above the group's total request raises the request of that container to fit, and a group
above 4 vCPU / 16 GB of requests gets no recommendation (Azure would refuse it).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from checks.outputs import ServiceOut
from checks.targets import TargetTable
from checks.tune.model import Finding, SettingChange
from checks.tune.read import MetricAsk, Readings, Series
from checks.tune.stats import per_bucket, percentile

NAMESPACE = "Microsoft.ContainerInstance/containerGroups"
CPU_GRID = 0.25
MEMORY_GRID = 0.5


def asks() -> list[MetricAsk]:
    return [MetricAsk(NAMESPACE, ("CpuUsage", "MemoryUsage"), ("Average", "Maximum"), split="containerName")]


def _up(value: float, grid: float) -> float:
    return max(grid, math.ceil(round(value / grid, 6)) * grid)


def _mine(readings: Readings, service: ServiceOut, metric: str) -> list[Series]:
    return [
        s
        for rid in service.resource_ids
        for s in readings.of(rid, metric)
        if (s.dimension or "").lower() == service.container_name.lower()
    ]


def evidence(readings: Readings, service: ServiceOut) -> dict[str, float] | str:
    cpu, memory = _mine(readings, service, "CpuUsage"), _mine(readings, service, "MemoryUsage")
    cpu_avg, mem_avg = per_bucket(cpu, "Average"), per_bucket(memory, "Average")
    if not cpu_avg or not mem_avg:
        failed = next(
            (readings.error(r, "CpuUsage") for r in service.resource_ids if readings.error(r, "CpuUsage")), None
        )
        return (
            f"the metrics call failed: {failed}"
            if failed
            else (f"no CpuUsage/MemoryUsage series for container {service.container_name} in the window")
        )
    return {
        "hours": len(cpu_avg),
        "cpuP95": (percentile(list(cpu_avg.values()), 95) or 0.0) / 1000.0,
        "cpuMax": max([*per_bucket(cpu, "Maximum").values(), *cpu_avg.values()]) / 1000.0,
        "memoryGbP95": (percentile(list(mem_avg.values()), 95) or 0.0) / 1e9,
        "memoryGbMax": max([*per_bucket(memory, "Maximum").values(), *mem_avg.values()]) / 1e9,
    }


def proposals(ev: dict[str, float], table: TargetTable) -> dict[str, float]:
    cpu_t, mem_t = table.get("container-cpu"), table.get("container-memory")
    cpu_limit = _up(max(ev["cpuP95"] * 100 / cpu_t.target, ev["cpuMax"] * 100 / cpu_t.critical), CPU_GRID)
    mem_limit = _up(max(ev["memoryGbP95"] * 100 / mem_t.target, ev["memoryGbMax"] * 100 / mem_t.critical), MEMORY_GRID)
    return {
        "requests.cpu": min(cpu_limit, _up(ev["cpuP95"], CPU_GRID)),
        "requests.memoryGb": min(mem_limit, _up(ev["memoryGbP95"], MEMORY_GRID)),
        "limits.cpu": cpu_limit,
        "limits.memoryGb": mem_limit,
    }


def fit_group(sizes: dict[str, dict[str, float]]) -> str | None:
    """Make every limit fit the group's total request (raising requests); why not, when impossible."""
    from infra.settings.rules.compute import GROUP_MAX_CPU, GROUP_MAX_MEMORY_GB

    for kind, cap in (("cpu", GROUP_MAX_CPU), ("memoryGb", GROUP_MAX_MEMORY_GB)):
        total = sum(s[f"requests.{kind}"] for s in sizes.values())
        for size in sizes.values():
            if size[f"limits.{kind}"] > total:
                size[f"requests.{kind}"] += size[f"limits.{kind}"] - total
                total = sum(s[f"requests.{kind}"] for s in sizes.values())
        if Decimal(str(total)) > cap:
            return f"the group would request {total:g} {kind} in total, above Azure's {cap} per group"
    return None


def recommend(
    outputs_services: dict[str, ServiceOut], current: Any, readings: Readings, table: TargetTable
) -> list[Finding]:
    cpu_t, mem_t = table.get("container-cpu"), table.get("container-memory")
    rule = (
        f"limit: smallest 0.25 vCPU / 0.5 GB step with p95 < target and peak < critical as % of limit (container-cpu "
        f"{cpu_t.target:g}/{cpu_t.critical:g} %, container-memory {mem_t.target:g}/{mem_t.critical:g} %); request: the "
        "p95 on the same grid; every limit within the group's total request, at most 4 vCPU / 16 GB per group"
    )
    findings: list[Finding] = []
    sizes: dict[str, dict[str, float]] = {}
    figures: dict[str, dict[str, Any]] = {}
    for name, service in outputs_services.items():
        ev = evidence(readings, service)
        if isinstance(ev, str):
            findings.append(
                Finding(
                    subject=f"service {name}",
                    knob="requests/limits",
                    kind="no-data",
                    rule=rule,
                    summary=f"no recommendation: {ev}",
                )
            )
            continue
        sizes[name] = proposals(ev, table)
        figures[name] = {k: round(v, 3) if isinstance(v, float) else v for k, v in ev.items()}
    if not sizes:
        return findings
    # Services without data keep their current sizes in the group's totals.
    for name, settings in current.services.items():
        if name not in sizes:
            res = settings.resources
            sizes[name] = {
                "requests.cpu": res.requests.cpu,
                "requests.memoryGb": res.requests.memory_gb,
                "limits.cpu": res.limits.cpu,
                "limits.memoryGb": res.limits.memory_gb,
            }
    refused = fit_group(sizes)
    for name in figures:
        findings.append(_finding(name, current, sizes[name], figures[name], rule, refused))
    return findings


def _finding(
    name: str, current: Any, size: dict[str, float], ev: dict[str, Any], rule: str, refused: str | None
) -> Finding:
    res = getattr(current.services, name).resources
    now = {
        "requests.cpu": res.requests.cpu,
        "requests.memoryGb": res.requests.memory_gb,
        "limits.cpu": res.limits.cpu,
        "limits.memoryGb": res.limits.memory_gb,
    }
    subject = f"service {name}"
    ev = {**ev, "current": now}
    if refused:
        return Finding(
            subject=subject,
            knob="requests/limits",
            kind="no-change",
            rule=rule,
            evidence=ev,
            summary=f"no valid size: {refused}",
        )
    changes = [
        SettingChange(path=f"services.{name}.resources.{k}", current=now[k], proposed=v)
        for k, v in size.items()
        if float(v) != float(now[k])
    ]
    if not changes:
        return Finding(
            subject=subject,
            knob="requests/limits",
            kind="no-change",
            rule=rule,
            evidence=ev,
            summary="requests and limits already fit the measured use",
        )
    text = ", ".join(f"{c.path.rsplit('resources.', 1)[1]} {c.current:g} -> {c.proposed:g}" for c in changes)
    return Finding(
        subject=subject,
        knob="requests/limits",
        kind="change",
        rule=rule,
        evidence=ev,
        changes=changes,
        summary=f"{text} (CPU p95 {ev['cpuP95']:g} / peak {ev['cpuMax']:g} vCPU, memory p95 "
        f"{ev['memoryGbP95']:g} / peak {ev['memoryGbMax']:g} GB)",
    )
