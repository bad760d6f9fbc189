"""Diagnostic settings: send a resource's platform logs and metrics to the Log Analytics workspace.

Logs use the `allLogs` category group (every category the resource type has, now and later);
metrics use `AllMetrics`. A type without resource-log categories (the Managed Redis cluster,
whose connection logs belong to its database) gets metrics only: ARM refuses a category or
group the type does not have. What each type offers is the sourced catalogue
`infra/policy/preconditions/data/diagnostic_categories.yaml`, which the `diagnostic-categories`
precondition checks every setting against.

Container groups have had two resource-log categories since 2024, `ContainerEvent` and
`ContainerInstanceLog` (Learn, supported logs for Microsoft.ContainerInstance/containerGroups).
They are deliberately not sent: the group's own `diagnostics.logAnalytics` block already
delivers the same container output and events to the workspace (tables ContainerInstanceLog_CL
and ContainerEvent_CL); sending `allLogs` as well would ingest (and bill) every line a second
time, into the resource-specific tables ContainerInstanceLog and ContainerEvent. The group's setting
carries metrics only. Moving container logs to diagnostic settings (and dropping the block and
its workspace key) is a separate, deliberate migration of the queries that read them.
"""

from __future__ import annotations

import pulumi
from pulumi_azure_native import monitor

SETTING_NAME = "diag-to-log-analytics"


def send_to_workspace(
    name: str,
    *,
    resource_id: pulumi.Input[str],
    workspace_id: pulumi.Input[str],
    logs: bool,
    parent: pulumi.Resource,
    metrics: bool = True,
) -> monitor.DiagnosticSetting:
    return monitor.DiagnosticSetting(
        name,
        name=SETTING_NAME,
        resource_uri=resource_id,
        workspace_id=workspace_id,
        log_analytics_destination_type="Dedicated",
        logs=[monitor.DiagnosticsLogSettingsArgs(category_group="allLogs", enabled=True)] if logs else None,
        metrics=[monitor.DiagnosticsMetricSettingsArgs(category="AllMetrics", enabled=True)] if metrics else None,
        opts=pulumi.ResourceOptions(parent=parent),
    )
