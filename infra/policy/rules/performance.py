"""Performance: LRU eviction, sizes the platform accepts, autoscale on the target table's CPU value.

None of PSRule, Checkov or Azure Policy checks these (eviction policy, container sizes, scale
rules): see ../../../shared/reference/gates-and-rules-anchors.md, B1 gaps.

Sizes reuse the settings rules, so the plan and the pack accept exactly the same pairs:
Container Apps allocations through `container_apps_allocation_problems`, container-group limits
through the group maxima in `infra.settings.rules.compute`. The CPU threshold comes from the
target table (`container-cpu`), never from this module.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

from infra.policy.model import (
    NotApplicable,
    Rule,
    Severity,
    StackContext,
    Subject,
    entries,
    field_of,
    lookup,
    number,
    shown,
)
from infra.policy.rules.types import CLASSIC_REDIS, CONTAINER_APP, CONTAINER_GROUP, MANAGED_REDIS_DATABASE
from infra.settings.rules.compute import (
    DEDICATED_PROFILES,
    GROUP_MAX_CPU,
    GROUP_MAX_MEMORY_GB,
    container_apps_allocation_problems,
)

MANAGED_LRU = "AllKeysLRU"
CLASSIC_LRU = "allkeys-lru"
CPU_TARGET_ID = "container-cpu"
CONSUMPTION = "Consumption"
_GI = re.compile(r"^(?P<amount>[0-9]+(\.[0-9]+)?)Gi$")


def _eviction(resource: Subject, context: StackContext) -> Iterator[str]:
    if resource.kind == MANAGED_REDIS_DATABASE:
        policy = lookup(resource.props, "evictionPolicy")
        if policy != MANAGED_LRU:
            default = " (Azure's default is VolatileLRU)" if policy is None else ""
            yield f"evictionPolicy is {shown(policy)}{default}; it must be '{MANAGED_LRU}'"
    else:
        policy = lookup(resource.props, "redisConfiguration.maxmemoryPolicy")
        if policy != CLASSIC_LRU:
            default = " (Azure's default is volatile-lru)" if policy is None else ""
            yield f"redisConfiguration.maxmemoryPolicy is {shown(policy)}{default}; it must be '{CLASSIC_LRU}'"


def _gibibytes(memory: object) -> float | None:
    match = _GI.match(str(memory)) if isinstance(memory, str) else None
    return float(match["amount"]) if match else None


def _sizes(resource: Subject, context: StackContext) -> Iterator[str]:
    if resource.kind == CONTAINER_APP:
        yield from _app_allocation(resource)
    else:
        yield from _group_sizes(resource)


def _app_allocation(resource: Subject) -> Iterator[str]:
    profile = lookup(resource.props, "workloadProfileName") or CONSUMPTION
    if profile != CONSUMPTION and profile not in DEDICATED_PROFILES:
        raise NotApplicable(
            f"workload profile '{profile}' is sized on the environment (workloadProfiles); the settings check it"
        )
    cpu_total, memory_total = Decimal(0), Decimal(0)
    containers = [*entries(resource.props, "template.initContainers"), *entries(resource.props, "template.containers")]
    for index, container in enumerate(containers):
        where = f"containers[{index}]"
        name = field_of(container, "name", where) or f"#{index}"
        cpu = number(field_of(container, "resources.cpu", where))
        memory = field_of(container, "resources.memory", where)
        gib = _gibibytes(memory)
        if cpu is None:
            yield f"container '{name}' states no resources.cpu"
            return
        if gib is None:
            yield f"container '{name}' resources.memory is {shown(memory)}; Container Apps takes Gi, e.g. '4Gi'"
            return
        cpu_total += Decimal(str(cpu))
        memory_total += Decimal(str(gib))
    for problem in container_apps_allocation_problems(profile, float(cpu_total), float(memory_total), "allocation"):
        yield f"{float(cpu_total):g} vCPU / {float(memory_total):g} Gi on {profile}: {problem.message}"


def _group_sizes(resource: Subject) -> Iterator[str]:
    total_cpu, total_memory = Decimal(0), Decimal(0)
    limits: list[tuple[str, Decimal | None, Decimal | None]] = []
    for index, container in enumerate(entries(resource.props, "containers")):
        where = f"containers[{index}]"
        name = field_of(container, "name", where) or f"#{index}"
        request_cpu = number(field_of(container, "resources.requests.cpu", where))
        request_memory = number(field_of(container, "resources.requests.memoryInGB", where))
        if request_cpu is None or request_memory is None:
            yield f"container '{name}' states no resources.requests (cpu and memoryInGB)"
            continue
        limit_cpu = number(field_of(container, "resources.limits.cpu", where))
        limit_memory = number(field_of(container, "resources.limits.memoryInGB", where))
        if limit_cpu is not None and limit_cpu < request_cpu:
            yield f"container '{name}': CPU limit {limit_cpu:g} is below its request {request_cpu:g}"
        if limit_memory is not None and limit_memory < request_memory:
            yield f"container '{name}': memory limit {limit_memory:g} GB is below its request {request_memory:g} GB"
        total_cpu += Decimal(str(request_cpu))
        total_memory += Decimal(str(request_memory))
        limits.append(
            (
                name,
                None if limit_cpu is None else Decimal(str(limit_cpu)),
                None if limit_memory is None else Decimal(str(limit_memory)),
            )
        )
    if total_cpu > GROUP_MAX_CPU:
        yield f"the group requests {total_cpu} vCPU; a container group may have at most {GROUP_MAX_CPU}"
    if total_memory > GROUP_MAX_MEMORY_GB:
        yield f"the group requests {total_memory} GB; a container group may have at most {GROUP_MAX_MEMORY_GB}"
    for name, limit_cpu, limit_memory in limits:
        if limit_cpu is not None and limit_cpu > total_cpu:
            yield f"container '{name}': CPU limit {limit_cpu} exceeds the group's total request ({total_cpu} vCPU)"
        if limit_memory is not None and limit_memory > total_memory:
            yield (
                f"container '{name}': memory limit {limit_memory} GB exceeds the group's total request "
                f"({total_memory} GB)"
            )


def _cpu_threshold(resource: Subject, context: StackContext) -> Iterator[str]:
    target = context.targets.get(CPU_TARGET_ID).target
    rules = entries(resource.props, "template.scale.rules")
    cpu_rules = [
        rule
        for index, rule in enumerate(rules)
        if field_of(rule, "custom.type", f"template.scale.rules[{index}]") == "cpu"
    ]
    if not cpu_rules:
        yield f"template.scale.rules has no cpu rule; the app must scale out at {target:g} % CPU ({CPU_TARGET_ID})"
        return
    for rule in cpu_rules:
        name = rule.get("name", "?")
        kind = field_of(rule, "custom.metadata.type", "cpu rule")
        value = number(field_of(rule, "custom.metadata.value", "cpu rule"))
        if kind != "Utilization":
            yield f"cpu rule '{name}' has metadata.type {shown(kind)}; it must be 'Utilization' (percent of the limit)"
        elif value != target:
            yield (
                f"cpu rule '{name}' scales at {shown(value)} %; the target table's {CPU_TARGET_ID} target "
                f"is {target:g} %"
            )


RULES: tuple[Rule, ...] = (
    Rule(
        id="cache-eviction-lru",
        pillar="performance",
        severity=Severity.MEDIUM,
        title="The cache evicts least-recently-used keys (allkeys-lru)",
        remediation="Keep redis.evictionPolicy: allkeys-lru (the default).",
        check=_eviction,
        types=frozenset({MANAGED_REDIS_DATABASE, CLASSIC_REDIS}),
        scope="Managed Redis database `evictionPolicy` AllKeysLRU; Azure Cache for Redis `maxmemoryPolicy` allkeys-lru",
    ),
    Rule(
        id="container-size",
        pillar="performance",
        severity=Severity.HIGH,
        title="Container sizes are ones the platform accepts",
        remediation=(
            "Choose services.<name>.resources.limits from the allowed Container Apps pairs (0.25 vCPU steps, "
            "2 Gi per vCPU on Consumption); on container groups keep limits ≥ requests and within the group."
        ),
        check=_sizes,
        types=frozenset({CONTAINER_APP, CONTAINER_GROUP}),
        scope=(
            "Container app: the sum of `resources.cpu`/`memory` is an allowed pair on its workload profile; "
            "container group: limits ≥ requests, total requests ≤ 4 vCPU / 16 GB, limits ≤ the total"
        ),
    ),
    Rule(
        id="autoscale-cpu-target",
        pillar="performance",
        severity=Severity.MEDIUM,
        title="Autoscale's CPU threshold is the target table's container-cpu target",
        remediation=(
            "Set autoscale.cpuUtilization to the `container-cpu` target in checks/targets.yaml (or change both "
            "together)."
        ),
        check=_cpu_threshold,
        types=frozenset({CONTAINER_APP}),
        scope="A `cpu` scale rule (Utilization) whose value equals `container-cpu`'s target in checks/targets.yaml",
    ),
)
