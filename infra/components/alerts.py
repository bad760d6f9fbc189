"""Azure Monitor alerts from the target table, and the action group they notify.

One warning alert (target breached, severity 2) and one critical alert (critical breached,
severity 1) per watched scope: static, single-resource metric criteria with the operator the
target's direction implies, the table's window and frequency, auto-mitigation on. Where only
logs can see a target, a scheduled log query alert does the same. With no receivers
configured there is no action group: the alerts still exist (visible in the portal and to
`fin-infra check`), and the plan says that nobody is notified.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import monitor
from pydantic import SecretStr

from infra.naming import Naming
from infra.settings.model import MonitoringSettings
from infra.watch import LogAlertSpec, MetricAlertSpec, WatchSpec

TARGET_TAG = "fin-agent-target"
LEVEL_TAG = "fin-agent-level"
SCOPE_TAG = "fin-agent-scope"


@dataclass(frozen=True)
class AlertsArgs:
    monitoring: MonitoringSettings
    naming: Naming
    resource_group_name: pulumi.Input[str]
    tags: dict[str, str]
    specs: list[WatchSpec]
    log_scope_id: pulumi.Input[str]  # the Log Analytics workspace log alerts query
    location: str
    secret_values: dict[str, SecretStr] = field(default_factory=dict)


def _describe(spec: MetricAlertSpec | LogAlertSpec) -> str:
    target = spec.target
    value = target.target if spec.level == "warning" else target.critical
    bound = "target" if spec.level == "warning" else "critical"
    return (
        f"{target.component} {target.statistic} reached its {bound} ({value:g} {target.unit}) on "
        f"{spec.scope.label}: target {target.target:g}, critical {target.critical:g} "
        f"(checks/targets.yaml, {target.id})"
    )


class Alerts(pulumi.ComponentResource):
    def __init__(self, name: str, args: AlertsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("fin-agent:monitoring:Alerts", name, None, opts)
        self.action_group = self._action_group(name, args)
        actions = [monitor.MetricAlertActionArgs(action_group_id=self.action_group.id)] if self.action_group else None
        self.metric_alerts: list[monitor.MetricAlert] = []
        self.log_alerts: list[monitor.ScheduledQueryRule] = []
        for spec in args.specs:
            if isinstance(spec, MetricAlertSpec):
                self.metric_alerts.append(self._metric_alert(name, args, spec, actions))
            elif isinstance(spec, LogAlertSpec):
                self.log_alerts.append(self._log_alert(name, args, spec))
        self.register_outputs({"actionGroupId": self.action_group.id if self.action_group else None})

    def _action_group(self, name: str, args: AlertsArgs) -> monitor.ActionGroup | None:
        receivers = args.monitoring.receivers
        if not receivers.emails and not receivers.webhooks:
            return None
        return monitor.ActionGroup(
            f"{name}-action-group",
            action_group_name=args.naming.name("action_group"),
            resource_group_name=args.resource_group_name,
            location="global",
            group_short_name=f"finagent{args.naming.environment_code}"[:12],
            enabled=True,
            email_receivers=[
                monitor.MicrosoftCommonEmailReceiverArgs(
                    name=email.name, email_address=email.address, use_common_alert_schema=True
                )
                for email in receivers.emails
            ],
            webhook_receivers=[
                monitor.WebhookReceiverArgs(
                    name=hook.name,
                    service_uri=pulumi.Output.secret(args.secret_values[hook.url_secret].get_secret_value()),
                    use_common_alert_schema=True,
                )
                for hook in receivers.webhooks
            ],
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _tags(self, args: AlertsArgs, spec: MetricAlertSpec | LogAlertSpec) -> dict[str, str]:
        return {**args.tags, TARGET_TAG: spec.target.id, LEVEL_TAG: spec.level, SCOPE_TAG: spec.scope.label}

    def _metric_alert(
        self,
        name: str,
        args: AlertsArgs,
        spec: MetricAlertSpec,
        actions: list[monitor.MetricAlertActionArgs] | None,
    ) -> monitor.MetricAlert:
        qualifier = f"{spec.target.id}-{spec.level}-{spec.scope.label}"
        dimensions = [
            monitor.MetricDimensionArgs(name=dimension, operator="Include", values=[value])
            for dimension, value in spec.dimensions
        ] or None
        return monitor.MetricAlert(
            f"{name}-{qualifier}",
            rule_name=args.naming.name("metric_alert", qualifier),
            resource_group_name=args.resource_group_name,
            location="global",
            description=_describe(spec),
            severity=spec.severity,
            enabled=True,
            scopes=[spec.scope.resource_id],
            evaluation_frequency=spec.frequency,
            window_size=spec.window,
            auto_mitigate=True,
            criteria=monitor.MetricAlertSingleResourceMultipleMetricCriteriaArgs(
                odata_type="Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
                all_of=[
                    monitor.MetricCriteriaArgs(
                        criterion_type="StaticThresholdCriterion",
                        name=f"{spec.target.id}-{spec.level}",
                        metric_namespace=spec.watch.namespace,
                        metric_name=spec.watch.metric,
                        time_aggregation=spec.watch.aggregation,
                        operator=spec.operator,
                        threshold=spec.threshold,
                        dimensions=dimensions,
                    )
                ],
            ),
            actions=actions,
            tags=self._tags(args, spec),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _log_alert(self, name: str, args: AlertsArgs, spec: LogAlertSpec) -> monitor.ScheduledQueryRule:
        qualifier = f"{spec.target.id}-{spec.level}"
        return monitor.ScheduledQueryRule(
            f"{name}-{qualifier}",
            rule_name=args.naming.name("log_alert", qualifier),
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="LogAlert",
            description=_describe(spec),
            display_name=f"{spec.target.component} {spec.target.statistic} ({spec.level})",
            severity=spec.severity,
            enabled=True,
            scopes=[args.log_scope_id],
            evaluation_frequency=spec.frequency,
            window_size=spec.window,
            auto_mitigate=True,
            # The App* tables appear in the workspace only once telemetry arrives.
            skip_query_validation=True,
            criteria=monitor.ScheduledQueryRuleCriteriaArgs(
                all_of=[
                    monitor.ConditionArgs(
                        query=spec.query,
                        time_aggregation="Average",
                        metric_measure_column="value",
                        operator=spec.operator,
                        threshold=spec.threshold,
                        failing_periods=monitor.ConditionFailingPeriodsArgs(
                            number_of_evaluation_periods=1, min_failing_periods_to_alert=1
                        ),
                    )
                ]
            ),
            actions=monitor.ActionsArgs(action_groups=[self.action_group.id]) if self.action_group else None,
            tags=self._tags(args, spec),
            opts=pulumi.ResourceOptions(parent=self),
        )
