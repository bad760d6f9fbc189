"""Container Apps: right-sized allocation, replica bounds and the autoscale threshold.

Evidence per app, from hourly buckets over the window (the worst replica per hour):
- CPU and memory as % of the allocation (`CpuPercentage`, `MemoryPercentage` split by
  `podName`; Average per hour for the p95, Maximum for the peak);
- replicas (`Replicas` Maximum and Minimum per hour): the share of hours at the max and at the
  min; requests (`Requests` Total) and latency (`ResponseTime` Average).

Rules (thresholds from the target table, `container-cpu`, `container-memory`, `api-latency`):
- allocation: the smallest allowed Consumption pair (0.25 vCPU steps, 2 Gi per vCPU, at most
  4 vCPU: `infra.settings.rules.compute`) at which the measured p95 stays below the target
  and the peak below the critical threshold, scaled from the deployed allocation. Requests are
  lowered to the new allocation when above it (a request may not exceed its limit). When the
  app was pinned at its max replicas, CPU does not drive the allocation: more replicas first.
- maxReplicas: raised when the app sat at max in at least `PINNED_SHARE` of the hours with
  its worst replica's p95 CPU in those hours above the autoscale threshold; the new max is
  the replica count that would bring that p95 down to the threshold, at least max + 1.
- minReplicas: raised by one when scale-out lagged demand: at least `LAG_HOURS` hours in which
  the app started at min, had to scale out within the hour, and the latency exceeded its target.
- cpuUtilization (autoscale threshold): lowered to the `container-cpu` target when above it
  (the scaler would otherwise let replicas sit above the target).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from checks.outputs import ServiceOut
from checks.targets import TargetTable
from checks.tune.model import Finding, SettingChange
from checks.tune.read import MetricAsk, Readings
from checks.tune.stats import per_bucket, percentile, rounded

NAMESPACE = "Microsoft.App/containerApps"
PINNED_SHARE = 0.10
LAG_HOURS = 3
MAX_REPLICAS_ALLOWED = 1000  # infra.settings.model.AutoscaleSettings.max_replicas


def asks() -> list[MetricAsk]:
    return [
        MetricAsk(NAMESPACE, ("CpuPercentage", "MemoryPercentage"), ("Average", "Maximum"), split="podName"),
        MetricAsk(NAMESPACE, ("Replicas",), ("Maximum", "Minimum")),
        MetricAsk(NAMESPACE, ("Requests",), ("Total",)),
        MetricAsk(NAMESPACE, ("ResponseTime",), ("Average",)),
    ]


@dataclass
class AppEvidence:
    hours: int
    cpu_p95: float
    cpu_max: float
    memory_p95: float
    memory_max: float
    replicas_max: dict[Any, float]
    replicas_min: dict[Any, float]
    cpu_hourly: dict[Any, float]
    latency: dict[Any, float]
    requests_total: float | None

    def figures(self) -> dict[str, Any]:
        latencies = list(self.latency.values())
        return {
            "hours": self.hours,
            "cpuPercentP95": rounded(self.cpu_p95),
            "cpuPercentMax": rounded(self.cpu_max),
            "memoryPercentP95": rounded(self.memory_p95),
            "memoryPercentMax": rounded(self.memory_max),
            "requests": self.requests_total,
            "latencyMsP95": rounded(percentile(latencies, 95)),
        }


def evidence(readings: Readings, rid: str) -> AppEvidence | str:
    """The app's figures, or why there are none (no series, or the call failed)."""
    cpu_avg = per_bucket(readings.of(rid, "CpuPercentage"), "Average")
    mem_avg = per_bucket(readings.of(rid, "MemoryPercentage"), "Average")
    if not cpu_avg or not mem_avg:
        failed = readings.error(rid, "CpuPercentage") or readings.error(rid, "MemoryPercentage")
        if failed:
            return f"the metrics call failed: {failed}"
        return "no CpuPercentage/MemoryPercentage series in the window (the app emitted no data)"
    cpu_peak = per_bucket(readings.of(rid, "CpuPercentage"), "Maximum")
    mem_peak = per_bucket(readings.of(rid, "MemoryPercentage"), "Maximum")
    requests = per_bucket(readings.of(rid, "Requests"), "Total", "sum")
    return AppEvidence(
        hours=len(cpu_avg),
        cpu_p95=percentile(list(cpu_avg.values()), 95) or 0.0,
        cpu_max=max([*cpu_peak.values(), *cpu_avg.values()]),
        memory_p95=percentile(list(mem_avg.values()), 95) or 0.0,
        memory_max=max([*mem_peak.values(), *mem_avg.values()]),
        replicas_max=per_bucket(readings.of(rid, "Replicas"), "Maximum"),
        replicas_min=per_bucket(readings.of(rid, "Replicas"), "Minimum", "min"),
        cpu_hourly=cpu_avg,
        latency=per_bucket(readings.of(rid, "ResponseTime"), "Average"),
        requests_total=math.fsum(requests.values()) if requests else None,
    )


def consumption_pairs() -> list[tuple[Decimal, Decimal]]:
    """Every Container Apps Consumption pair, smallest first, from the settings' rules."""
    from infra.settings.rules.compute import CONSUMPTION_MAX_CPU, CPU_STEP, GIB_PER_VCPU_CONSUMPTION

    count = int(CONSUMPTION_MAX_CPU / CPU_STEP)
    return [(CPU_STEP * n, CPU_STEP * n * GIB_PER_VCPU_CONSUMPTION) for n in range(1, count + 1)]


def _need(deployed: float, p95: float, peak: float, target: float, critical: float) -> float:
    """The allocation at which p95 sits at the target and the peak at the critical threshold."""
    return deployed * max(p95 / target, peak / critical)


def allocation(
    name: str, service: ServiceOut, current: Any, ev: AppEvidence, table: TargetTable, pinned: bool, profile: str
) -> Finding:
    cpu_t, mem_t = table.get("container-cpu"), table.get("container-memory")
    rule = (
        f"smallest allowed Consumption pair at which p95 < target and peak < critical "
        f"(container-cpu {cpu_t.target:g}/{cpu_t.critical:g} %, "
        f"container-memory {mem_t.target:g}/{mem_t.critical:g} %), "
        "scaled from the deployed allocation; 0.25 vCPU steps, 2 Gi per vCPU, at most 4 vCPU"
    )
    limits, requests = current.resources.limits, current.resources.requests
    need_cpu = _need(service.limits.cpu, ev.cpu_p95, ev.cpu_max, cpu_t.target, cpu_t.critical)
    need_mem = _need(service.limits.memory_gb, ev.memory_p95, ev.memory_max, mem_t.target, mem_t.critical)
    figures = {
        **ev.figures(),
        "deployed": {"cpu": service.limits.cpu, "memoryGb": service.limits.memory_gb},
        "needCpu": round(need_cpu, 3),
        "needMemoryGb": round(need_mem, 3),
    }
    subject = f"service {name}"
    if profile != "Consumption":
        return Finding(
            subject=subject,
            knob="allocation",
            kind="no-change",
            rule=rule,
            evidence=figures,
            summary=f"workload profile {profile}: tune proposes Consumption pairs only; size by hand",
        )
    if pinned:
        need_cpu = min(need_cpu, float(limits.cpu))
        figures["note"] = "pinned at max replicas: CPU is answered by more replicas, not a larger allocation"
    fitting = [p for p in consumption_pairs() if p[0] >= Decimal(str(need_cpu)) and p[1] >= Decimal(str(need_mem))]
    if not fitting:
        return Finding(
            subject=subject,
            knob="allocation",
            kind="no-change",
            rule=rule,
            evidence=figures,
            summary=f"needs {need_cpu:.2f} vCPU / {need_mem:.2f} Gi, above the largest Consumption pair "
            "(4 vCPU / 8 Gi):"
            " more replicas or a Dedicated profile, decided by hand",
        )
    cpu, memory = (float(v) for v in fitting[0])
    if cpu == float(limits.cpu) and memory == float(limits.memory_gb):
        return Finding(
            subject=subject,
            knob="allocation",
            kind="no-change",
            rule=rule,
            evidence=figures,
            summary=f"{cpu:g} vCPU / {memory:g} Gi is already the smallest pair that keeps CPU and memory "
            "within target",
        )
    base = f"services.{name}.resources"
    changes = [
        SettingChange(path=f"{base}.limits.cpu", current=limits.cpu, proposed=cpu),
        SettingChange(path=f"{base}.limits.memoryGb", current=limits.memory_gb, proposed=memory),
    ]
    if requests.cpu > cpu:
        changes.append(SettingChange(path=f"{base}.requests.cpu", current=requests.cpu, proposed=cpu))
    if requests.memory_gb > memory:
        changes.append(SettingChange(path=f"{base}.requests.memoryGb", current=requests.memory_gb, proposed=memory))
    direction = "smaller" if cpu < float(limits.cpu) else "larger"
    return Finding(
        subject=subject,
        knob="allocation",
        kind="change",
        rule=rule,
        evidence=figures,
        changes=changes,
        summary=f"{limits.cpu:g} vCPU / {limits.memory_gb:g} Gi -> {cpu:g} vCPU / {memory:g} Gi ({direction}): "
        f"CPU p95 {ev.cpu_p95:.1f} %, peak {ev.cpu_max:.1f} %; memory p95 {ev.memory_p95:.1f} %, "
        f"peak {ev.memory_max:.1f} % of {service.limits.cpu:g} vCPU / {service.limits.memory_gb:g} Gi",
    )
