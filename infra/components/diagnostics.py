"""Diagnostic settings: send a resource's platform logs and metrics to the Log Analytics workspace.

Logs use the `allLogs` category group (every category the resource type has, now and later);
metrics use `AllMetrics`. Resource types without resource-log categories (container groups,
whose container logs already flow through the group's own Log Analytics block) get metrics
only, because ARM refuses a category the type does not have.
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
