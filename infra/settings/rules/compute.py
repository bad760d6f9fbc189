"""Compute rules: sizes and scaling as Azure Container Apps and Container Instances accept them.

Container Apps (Microsoft.App): an app's CPU and memory are one allocation, the sum over its
containers; on Consumption it must be one of the pairs 0.25 vCPU / 0.5 Gi ... 4 vCPU / 8 Gi
(0.25 vCPU steps, 2 Gi per vCPU); on a Dedicated profile it must fit the profile's node. The
guide's limits are that allocation, and its requests must not exceed them.

Container groups (Microsoft.ContainerInstance): each container has a request and an optional
limit; the group is allocated the sum of requests, which must stay within 4 vCPU / 16 GB; every
limit must be at least its request and at most the group's total request. Azure Monitor
autoscale does not support container groups, so autoscale settings are refused there.

Sources: ../shared/reference/azure-facts.md §1a, §1b, §2.
"""

from __future__ import annotations

from decimal import Decimal

from infra.settings.model import StackSettings
from infra.settings.problems import Problem
from infra.settings.regions import has_availability_zones

CPU_STEP = Decimal("0.25")
CONSUMPTION_MAX_CPU = Decimal("4")
GIB_PER_VCPU_CONSUMPTION = Decimal("2")
# Dedicated workload profile sizes: vCPU, GiB per node.
DEDICATED_PROFILES: dict[str, tuple[int, int]] = {
    "D4": (4, 16),
    "D8": (8, 32),
    "D16": (16, 64),
    "D32": (32, 128),
    "E4": (4, 32),
    "E8": (8, 64),
    "E16": (16, 128),
    "E32": (32, 256),
}
GROUP_MAX_CPU = Decimal("4")
GROUP_MAX_MEMORY_GB = Decimal("16")


# The settings sections (field names) these rules read.
SECTIONS = frozenset({"compute", "services", "autoscale", "location"})


def _dec(value: float) -> Decimal:
    return Decimal(str(value))


def check(settings: StackSettings) -> list[Problem]:
    problems: list[Problem] = []
    problems += _check_requests_within_limits(settings)
    if settings.uses_container_apps:
        problems += _check_container_apps(settings)
    else:
        problems += _check_container_groups(settings)
    return problems


def _check_requests_within_limits(settings: StackSettings) -> list[Problem]:
    problems = []
    for name, service in settings.services.items():
        requests, limits = service.resources.requests, service.resources.limits
        if limits.cpu < requests.cpu:
            problems.append(
                Problem(
                    f"services.{name}.resources.limits.cpu",
                    f"is below its request ({requests.cpu} vCPU); a limit must be at least the request",
                    limits.cpu,
                )
            )
        if limits.memory_gb < requests.memory_gb:
            problems.append(
                Problem(
                    f"services.{name}.resources.limits.memoryGb",
                    f"is below its request ({requests.memory_gb} GB); a limit must be at least the request",
                    limits.memory_gb,
                )
            )
    return problems


def container_apps_allocation_problems(profile: str, cpu: float, memory_gb: float, path: str) -> list[Problem]:
    """Whether Container Apps accepts `cpu` vCPU with `memory_gb` Gi on `profile`."""
    problems = []
    cpu_d, mem_d = _dec(cpu), _dec(memory_gb)
    if profile == "Consumption":
        if cpu_d % CPU_STEP != 0 or cpu_d > CONSUMPTION_MAX_CPU:
            problems.append(
                Problem(
                    f"{path}.cpu",
                    "is not a Container Apps Consumption size: allowed are 0.25 to 4 vCPU in "
                    "0.25 steps (values are never rounded)",
                    cpu,
                )
            )
        elif mem_d != cpu_d * GIB_PER_VCPU_CONSUMPTION:
            problems.append(
                Problem(
                    f"{path}.memoryGb",
                    f"does not pair with {cpu} vCPU on Consumption, which requires exactly "
                    f"{cpu_d * GIB_PER_VCPU_CONSUMPTION} Gi (2 Gi per vCPU)",
                    memory_gb,
                )
            )
    else:
        max_cpu, max_mem = DEDICATED_PROFILES[profile]
        if cpu_d % CPU_STEP != 0 or cpu_d > max_cpu:
            problems.append(
                Problem(
                    f"{path}.cpu",
                    f"does not fit a {profile} node: allowed are 0.25 steps up to {max_cpu} vCPU",
                    cpu,
                )
            )
        if mem_d > max_mem:
            problems.append(Problem(f"{path}.memoryGb", f"exceeds a {profile} node ({max_mem} Gi)", memory_gb))
    return problems


def _check_container_apps(settings: StackSettings) -> list[Problem]:
    problems: list[Problem] = []
    apps = settings.compute.container_apps
    profile = apps.workload_profile if apps else "Consumption"
    for name, service in settings.services.items():
        limits = service.resources.limits
        problems += container_apps_allocation_problems(
            profile, limits.cpu, limits.memory_gb, f"services.{name}.resources.limits"
        )
    if settings.compute.container_instances is not None:
        problems.append(
            Problem(
                "compute.containerInstances",
                "applies to platform containerinstances only, but compute.platform is containerapps",
            )
        )
    if apps is not None and apps.workload_profile_min_nodes > apps.workload_profile_max_nodes:
        problems.append(
            Problem(
                "compute.containerApps.workloadProfileMinNodes",
                f"is above workloadProfileMaxNodes ({apps.workload_profile_max_nodes})",
                apps.workload_profile_min_nodes,
            )
        )
    if apps is not None and apps.zone_redundant and not has_availability_zones(settings.location):
        problems.append(
            Problem(
                "compute.containerApps.zoneRedundant",
                f"region {settings.location} has no availability zones",
                True,
            )
        )
    scale = settings.autoscale
    if scale is not None:
        if scale.min_replicas > scale.max_replicas:
            problems.append(
                Problem("autoscale.minReplicas", f"is above maxReplicas ({scale.max_replicas})", scale.min_replicas)
            )
        if scale.min_replicas == 0:
            problems.append(
                Problem(
                    "autoscale.minReplicas",
                    "must be at least 1: a CPU scale rule cannot scale to zero on Container Apps",
                    0,
                )
            )
    return problems


def autoscale_refused() -> Problem:
    return Problem(
        "autoscale",
        "container groups (platform containerinstances) cannot autoscale: Azure Monitor "
        "autoscale does not support Azure Container Instances. Use compute.platform: "
        "containerapps for autoscaling, or compute.containerInstances.groupCount for a "
        "fixed number of groups",
    )


def _check_container_groups(settings: StackSettings) -> list[Problem]:
    problems: list[Problem] = []
    if settings.autoscale is not None:
        problems.append(autoscale_refused())
    if settings.compute.container_apps is not None:
        problems.append(
            Problem(
                "compute.containerApps",
                "applies to platform containerapps only, but compute.platform is containerinstances",
            )
        )
    services = settings.services.items()
    total_cpu = sum(_dec(s.resources.requests.cpu) for _, s in services)
    total_mem = sum(_dec(s.resources.requests.memory_gb) for _, s in services)
    if total_cpu > GROUP_MAX_CPU:
        problems.append(
            Problem(
                "services",
                f"container group requests {total_cpu} vCPU in total; a group may have at most "
                f"{GROUP_MAX_CPU} vCPU (sum of services.*.resources.requests.cpu)",
                float(total_cpu),
            )
        )
    if total_mem > GROUP_MAX_MEMORY_GB:
        problems.append(
            Problem(
                "services",
                f"container group requests {total_mem} GB in total; a group may have at most "
                f"{GROUP_MAX_MEMORY_GB} GB (sum of services.*.resources.requests.memoryGb)",
                float(total_mem),
            )
        )
    for name, service in services:
        limits = service.resources.limits
        if _dec(limits.cpu) > total_cpu:
            problems.append(
                Problem(
                    f"services.{name}.resources.limits.cpu",
                    f"exceeds the group's total CPU request ({total_cpu} vCPU); Azure refuses a "
                    "container limit above the group's total request",
                    limits.cpu,
                )
            )
        if _dec(limits.memory_gb) > total_mem:
            problems.append(
                Problem(
                    f"services.{name}.resources.limits.memoryGb",
                    f"exceeds the group's total memory request ({total_mem} GB); Azure refuses a "
                    "container limit above the group's total request",
                    limits.memory_gb,
                )
            )
    if settings.services.web.port == settings.services.backend.port:
        problems.append(
            Problem(
                "services.web.port",
                "equals services.backend.port; containers of one group share a network namespace",
                settings.services.web.port,
            )
        )
    return problems


def notices(settings: StackSettings) -> list[str]:
    scale = settings.autoscale
    if scale is None or not settings.uses_container_apps:
        return []
    found = []
    if scale.scale_out_step is not None:
        found.append(
            f"autoscale.scaleOutStep={scale.scale_out_step} has no Container Apps setting and is not sent: "
            "KEDA sets the replica count to what the CPU utilization asks for (docs/configuration.md, autoscale)"
        )
    if scale.cpu_window_minutes is not None:
        found.append(
            f"autoscale.cpuWindowMinutes={scale.cpu_window_minutes} has no Container Apps setting and is not "
            f"sent: the CPU rule reads current utilization every pollingSeconds ({scale.polling_seconds} s); "
            f"the cooldown ({scale.cooldown_seconds} s) damps scale-in"
        )
    return found
