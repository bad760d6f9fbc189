"""The plan's "how each target is watched" section, read from the alerts the program declared.

For every target of the table: the metric or log alerts that watch it (with the warning and
critical thresholds as declared), or "post-deploy only" with the table's reason, and who is
notified. Built from the planned resources, so it shows what `pulumi up` would create.
"""

from __future__ import annotations

from typing import Any

from pulumi.runtime import rpc

from checks.targets import PostDeployOnlyWatch, Target
from infra.components.alerts import LEVEL_TAG, SCOPE_TAG, TARGET_TAG
from infra.plan.command.summaries import OPERATOR_SYMBOLS
from infra.plan.engine.runner import PlannedResource, PlanResult

METRIC_ALERT = "azure-native:monitor:MetricAlert"
LOG_ALERT = "azure-native:monitor:ScheduledQueryRule"


def _criterion(resource: PlannedResource) -> dict[str, Any]:
    criteria = rpc.unwrap_rpc_secret(resource.inputs.get("criteria") or {})
    return (criteria.get("allOf") or [{}])[0]


def _metric_threshold(value: float, metric: str) -> str:
    if metric == "MemoryUsage":
        return f"{value / 1e9:g} GB"
    if metric == "CpuUsage":
        return f"{value:g} millicores"
    return f"{value:g}"


def _converted_thresholds(alerts: list[PlannedResource], target: Target) -> str:
    """Per scope, the thresholds in the metric's unit where they differ from the table's."""
    per_scope: dict[str, dict[str, str]] = {}
    for alert in alerts:
        criterion = _criterion(alert)
        threshold = criterion.get("threshold")
        tags = alert.inputs.get("tags", {})
        table_value = target.target if tags.get(LEVEL_TAG) == "warning" else target.critical
        if threshold is None or threshold == table_value:
            continue
        per_scope.setdefault(tags.get(SCOPE_TAG, "?"), {})[tags.get(LEVEL_TAG, "?")] = _metric_threshold(
            threshold, str(criterion.get("metricName"))
        )
    return "; ".join(
        f"{scope} {levels.get('warning', '-')} / {levels.get('critical', '-')}"
        for scope, levels in sorted(per_scope.items())
    )


def _table_thresholds(target: Target, operator: str) -> str:
    symbol = OPERATOR_SYMBOLS.get(operator, "?")
    return f"{symbol} {target.target:g} / {symbol} {target.critical:g} ({target.unit})"


def watch_rows(result: PlanResult) -> list[dict[str, Any]]:
    settings = result.loaded.settings
    alerts = [r for r in result.resources if r.type in (METRIC_ALERT, LOG_ALERT)]
    receivers = settings.monitoring.receivers
    notifies = (
        ", ".join([e.address for e in receivers.emails] + [f"webhook {w.name}" for w in receivers.webhooks])
        or "nobody (no receivers configured)"
    )
    rows = []
    for target in result.targets.targets:
        mine = [a for a in alerts if a.inputs.get("tags", {}).get(TARGET_TAG) == target.id]
        row: dict[str, Any] = {"target": target.id, "statistic": f"{target.component} {target.statistic}"}
        if mine:
            kinds = {"metric alert" if a.type == METRIC_ALERT else "log alert" for a in mine}
            metric_names = sorted({str(_criterion(a).get("metricName") or "log query") for a in mine})
            converted = _converted_thresholds(mine, target)
            watched = ", ".join(metric_names) + (f" (in its unit: {converted})" if converted else "")
            row.update(
                how=" + ".join(sorted(kinds)),
                alerts=sorted(a.inputs.get("ruleName", a.name) for a in mine),
                thresholds=_table_thresholds(target, str(_criterion(mine[0]).get("operator", ""))),
                detail=f"{watched}; {len(mine)} alerts; notifies {notifies}",
            )
        else:
            reasons = [
                " ".join(w.reason.split())
                for w in target.watches_for(settings.compute.platform, settings.redis.tier)
                if isinstance(w, PostDeployOnlyWatch)
            ]
            row.update(
                how="post-deploy only",
                alerts=[],
                thresholds=f"target {target.target:g} / critical {target.critical:g} ({target.unit})",
                detail="; ".join(reasons) or "no alert applies on this platform; judged by fin-infra check",
            )
        rows.append(row)
    return rows
