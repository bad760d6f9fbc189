"""From the target table to alert definitions: which alert watches what, at which threshold.

Pure logic, no resources: given the table, the deployed shape (platform, cache tier) and what
was deployed (`WatchScope`s), produce one warning and one critical alert per watched scope,
a log alert where only logs can see a target, or a post-deploy-only entry with the reason.
`infra.components.alerts` turns these into Azure Monitor resources; the offline plan and the
tests read them too. Every threshold comes from `checks/targets.yaml`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pulumi

from checks.targets import (
    Conversion,
    LogAlertWatch,
    MetricAlertWatch,
    PostDeployOnlyWatch,
    Target,
    TargetTable,
    iso_minutes,
)
from checks.telemetry import TelemetryContract, fill, single_line

Level = Literal["warning", "critical"]
# Application Insights standard metrics split by the role name on this dimension (Learn,
# supported metrics, microsoft.insights/components: requests/duration "cloud/roleName").
ROLE_DIMENSION = "cloud/roleName"
# Azure Monitor severities: 0 critical, 1 error, 2 warning, 3 informational, 4 verbose.
SEVERITY: dict[Level, int] = {"critical": 1, "warning": 2}


@dataclass(frozen=True)
class WatchScope:
    """One deployed thing an alert can watch."""

    label: str  # short, for names: "backend", "01-web", "app-insights", "cache"
    resource_id: pulumi.Input[str]
    # The configured limits (vCPU, GB) for percent-of-limit thresholds.
    cpu_limit: float | None = None
    memory_limit_gb: float | None = None
    # Metric dimension that selects this scope's rows, e.g. ("containerName", "backend").
    dimension: tuple[str, str] | None = None

    def limit(self, kind: str | None) -> float | None:
        return {"cpu": self.cpu_limit, "memory": self.memory_limit_gb}.get(kind or "")


@dataclass(frozen=True)
class MetricAlertSpec:
    target: Target
    level: Level
    scope: WatchScope
    watch: MetricAlertWatch
    operator: str
    threshold: float  # in the metric's own unit
    window: str
    frequency: str
    # The judged service's role name when the watch names a service (Application Insights).
    role_name: str | None = None

    @property
    def dimensions(self) -> list[tuple[str, str]]:
        """Dimension filters (name, value): the scope's own, then the role name's."""
        filters = [self.scope.dimension] if self.scope.dimension is not None else []
        if self.role_name is not None:
            filters.append((ROLE_DIMENSION, self.role_name))
        return filters

    @property
    def table_value(self) -> float:
        return self.target.target if self.level == "warning" else self.target.critical

    @property
    def severity(self) -> int:
        return SEVERITY[self.level]


@dataclass(frozen=True)
class LogAlertSpec:
    target: Target
    level: Level
    scope: WatchScope
    watch: LogAlertWatch
    operator: str
    threshold: float
    window: str
    frequency: str
    # The table's query on one line, with the role name and dependency types filled in.
    query: str
    role_name: str | None = None

    @property
    def severity(self) -> int:
        return SEVERITY[self.level]


@dataclass(frozen=True)
class PostDeployOnly:
    target: Target
    reason: str


WatchSpec = MetricAlertSpec | LogAlertSpec | PostDeployOnly


class MissingScopeError(KeyError):
    pass


def breach_operator(target: Target, conversion: Conversion | None = None) -> str:
    """The operator that fires when the table value is reached or passed.

    A value equal to the target is already a warning (the table says "< 200 ms"), so the
    comparison includes equality. A complement conversion (hit rate -> miss rate) flips it.
    """
    lower_is_better = target.better == "lower"
    if conversion is not None and conversion.convert == "complement":
        lower_is_better = not lower_is_better
    return "GreaterThanOrEqual" if lower_is_better else "LessThanOrEqual"


def _frequency(target: Target, window: str) -> str:
    return target.frequency if iso_minutes(target.frequency) <= iso_minutes(window) else window


def _scopes(scopes: dict[str, list[WatchScope]], key: str, target: Target) -> list[WatchScope]:
    if key not in scopes:
        raise MissingScopeError(f"target {target.id} watches '{key}', which this stack does not deploy")
    return scopes[key]


def watch_plan(
    table: TargetTable,
    platform: str,
    cache_tier: str,
    scopes: dict[str, list[WatchScope]],
    *,
    telemetry: TelemetryContract,
) -> list[WatchSpec]:
    """Every alert (or post-deploy-only entry) the table asks for on this deployed shape.

    `telemetry` gives the role names and database dependency types the alerts that judge one
    service's telemetry filter on.
    """
    specs: list[WatchSpec] = []
    for target in table.targets:
        watches = target.watches_for(platform, cache_tier)
        if not watches:
            specs.append(PostDeployOnly(target, "no watch entry applies to this platform and cache tier"))
        for watch in watches:
            if isinstance(watch, PostDeployOnlyWatch):
                specs.append(PostDeployOnly(target, " ".join(watch.reason.split())))
                continue
            for scope in _scopes(scopes, watch.scope, target):
                for level in ("warning", "critical"):
                    specs.append(_spec(target, watch, scope, level, telemetry))
    return specs


def _spec(
    target: Target,
    watch: MetricAlertWatch | LogAlertWatch,
    scope: WatchScope,
    level: Level,
    telemetry: TelemetryContract,
) -> WatchSpec:
    value = target.target if level == "warning" else target.critical
    role_name = telemetry.role_name(watch.service) if watch.service is not None else None
    if isinstance(watch, MetricAlertWatch):
        window = watch.window or target.window
        conversion = watch.threshold
        return MetricAlertSpec(
            target=target,
            level=level,
            scope=scope,
            watch=watch,
            operator=breach_operator(target, conversion),
            threshold=round(conversion.metric_threshold(value, scope.limit(conversion.limit)), 6),
            window=window,
            frequency=_frequency(target, window),
            role_name=role_name,
        )
    return LogAlertSpec(
        target=target,
        level=level,
        scope=scope,
        watch=watch,
        operator=breach_operator(target),
        threshold=value,
        window=target.window,
        frequency=_frequency(target, target.window),
        # Whitespace is normalised before the values go in, so a value keeps its spaces.
        query=fill(single_line(watch.query), telemetry.values(watch.service)),
        role_name=role_name,
    )
