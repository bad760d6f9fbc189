"""Log Analytics workspace and workspace-based Application Insights: where logs and telemetry go.

The workspace keeps logs for `monitoring.logRetentionDays`. Its shared-key (local)
authentication stays on only where a consumer requires it: container groups send container
logs with the workspace key, Container Apps environments use diagnostic settings instead, so
Container Apps stacks turn local auth off.

Two Application Insights components share the workspace. The server component (the
services' telemetry) has local auth off: apps ingest with their managed identity (Monitoring
Metrics Publisher role). The browser component receives page-load telemetry from the web
app's JavaScript SDK, which cannot authenticate with Entra ID: its local auth must stay on,
and its connection string is public by nature (it ships to every browser). Keeping it a
separate component keeps server telemetry Entra-only.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import applicationinsights, operationalinsights

from infra.naming import Naming
from infra.settings.model import StackSettings

TELEMETRY_PURPOSE_TAG = "fin-agent-telemetry"
BROWSER_TELEMETRY = "browser"


@dataclass(frozen=True)
class MonitoringArgs:
    settings: StackSettings
    naming: Naming
    resource_group_name: pulumi.Input[str]
    tags: dict[str, str]


class Monitoring(pulumi.ComponentResource):
    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("fin-agent:monitoring:Monitoring", name, None, opts)
        settings = args.settings
        monitoring = settings.monitoring
        self.local_auth_needed = not settings.uses_container_apps
        self.workspace = operationalinsights.Workspace(
            f"{name}-workspace",
            workspace_name=args.naming.name("log_analytics"),
            resource_group_name=args.resource_group_name,
            location=settings.location,
            sku=operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
            retention_in_days=monitoring.log_retention_days,
            workspace_capping=(
                operationalinsights.WorkspaceCappingArgs(daily_quota_gb=monitoring.daily_quota_gb)
                if monitoring.daily_quota_gb is not None
                else None
            ),
            features=operationalinsights.WorkspaceFeaturesArgs(
                disable_local_auth=not self.local_auth_needed,
                enable_log_access_using_only_resource_permissions=True,
            ),
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.app_insights = applicationinsights.Component(
            f"{name}-app-insights",
            resource_name_=args.naming.name("app_insights"),
            resource_group_name=args.resource_group_name,
            location=settings.location,
            kind="web",
            application_type="web",
            workspace_resource_id=self.workspace.id,
            ingestion_mode="LogAnalytics",
            disable_local_auth=True,
            sampling_percentage=monitoring.sampling_percentage,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.browser_insights = applicationinsights.Component(
            f"{name}-browser-insights",
            resource_name_=args.naming.name("app_insights", "browser"),
            resource_group_name=args.resource_group_name,
            location=settings.location,
            kind="web",
            application_type="web",
            workspace_resource_id=self.workspace.id,
            ingestion_mode="LogAnalytics",
            # Browsers send with the connection string only; Entra ID is not available to them.
            disable_local_auth=False,
            sampling_percentage=monitoring.sampling_percentage,
            tags={**args.tags, TELEMETRY_PURPOSE_TAG: BROWSER_TELEMETRY},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.workspace_customer_id = self.workspace.customer_id
        self.register_outputs({"workspaceId": self.workspace.id, "appInsightsId": self.app_insights.id})

    def shared_key(self) -> pulumi.Output[str]:
        """The workspace's primary key (secret), for consumers that cannot use Entra ID."""
        keys = operationalinsights.get_shared_keys_output(
            resource_group_name=self.workspace.id.apply(lambda i: i.split("/")[4]),
            workspace_name=self.workspace.name,
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        return pulumi.Output.secret(keys.primary_shared_key.apply(lambda k: k or ""))
