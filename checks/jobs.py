"""What to measure: the target table's `measure` entries applied to one stack's outputs.

A `Job` is one measure of one target, filtered for the deployed shape (platform, cache tier).
A `Subject` is one Azure resource a metrics job reads, with the service it belongs to (for
percent-of-limit) and a readable label. Scopes resolve as the stack outputs name them:
`service:<name>` the service's resources; `services` every service's; `container-groups` every
container group once (the per-container split tells the services apart); `cache` the cache;
`app-insights` the Application Insights component; `database` the external database (no Azure
resource; only the probe reaches it).
"""

from __future__ import annotations

from dataclasses import dataclass

from checks.model import Thresholds
from checks.outputs import ServiceOut, StackOutputs
from checks.targets import LogsMeasure, MetricsMeasure, ProbeMeasure, Target, TargetTable

Measure = MetricsMeasure | LogsMeasure | ProbeMeasure

SOURCE_LABELS = {"metrics": "azure-metrics", "logs": "azure-logs", "probe": "probe"}


@dataclass(frozen=True)
class Job:
    target: Target
    measure: Measure
    index: int

    @property
    def key(self) -> str:
        return f"{self.target.id}#{self.index}"

    @property
    def thresholds(self) -> Thresholds:
        return thresholds_of(self.target)


@dataclass(frozen=True)
class Subject:
    resource_id: str
    label: str
    service: str | None = None
    revision: str | None = None  # judge only this Container Apps revision (a rollout step)


def thresholds_of(target: Target) -> Thresholds:
    return Thresholds(unit=target.unit, better=target.better, target=target.target, critical=target.critical)


def jobs_for(table: TargetTable, outputs: StackOutputs, target_ids: list[str] | None = None) -> dict[str, list[Job]]:
    """Every target's jobs (in the table's order) for this stack's platform and cache tier."""
    selected: dict[str, list[Job]] = {}
    for target in table.targets:
        if target_ids is not None and target.id not in target_ids:
            continue
        selected[target.id] = [
            Job(target, measure, index)
            for index, measure in enumerate(target.measure)
            if measure.when.matches(outputs.platform, outputs.cache.tier)
        ]
    return selected


def resource_name(resource_id: str) -> str:
    return resource_id.rstrip("/").rsplit("/", 1)[-1]


def subjects_for(scope: str, outputs: StackOutputs) -> list[Subject]:
    """The Azure resources a metrics scope names (empty for the external database)."""
    if scope.startswith("service:"):
        name = scope.split(":", 1)[1]
        service = outputs.services.get(name)
        if service is None:
            return []
        return [Subject(rid, f"{name} ({resource_name(rid)})", name, service.revision) for rid in service.resource_ids]
    if scope == "services":
        return [
            Subject(rid, f"{name} ({resource_name(rid)})", name, service.revision)
            for name, service in outputs.services.items()
            for rid in service.resource_ids
        ]
    if scope == "container-groups":
        seen: dict[str, Subject] = {}
        for service in outputs.services.values():
            if service.kind != "containergroup":
                continue
            for rid in service.resource_ids:
                seen.setdefault(rid.lower(), Subject(rid, resource_name(rid)))
        return list(seen.values())
    if scope == "cache":
        return [Subject(outputs.cache.resource_id, f"cache ({resource_name(outputs.cache.resource_id)})")]
    if scope == "app-insights":
        rid = outputs.monitoring.app_insights_id
        return [Subject(rid, f"app insights ({resource_name(rid)})")]
    return []


def service_for_container(
    outputs: StackOutputs, resource_id: str, container_name: str
) -> tuple[str, ServiceOut] | None:
    """The service whose container `container_name` runs in `resource_id` (container groups)."""
    for name, service in outputs.services.items():
        if service.container_name == container_name and any(
            rid.lower() == resource_id.lower() for rid in service.resource_ids
        ):
            return name, service
    return None
