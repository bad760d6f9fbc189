"""Observability under the mock engine: workspace, App Insights, diagnostics, and alerts from the table."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pulumi.runtime import rpc

from checks.targets import TARGETS_FILE, TargetsError, parse_targets
from infra.plan.command.render import plan_document
from infra.plan.engine.runner import PlannedResource, PlanResult
from tests.conftest import opened, plan

METRIC_ALERT = "azure-native:monitor:MetricAlert"
LOG_ALERT = "azure-native:monitor:ScheduledQueryRule"
DIAGNOSTIC = "azure-native:monitor:DiagnosticSetting"
ACTION_GROUP = "azure-native:monitor:ActionGroup"
WORKSPACE = "azure-native:operationalinsights:Workspace"
APP_INSIGHTS = "azure-native:applicationinsights:Component"
ACA = "Microsoft.App/containerApps"
ACI = "Microsoft.ContainerInstance/containerGroups"
APPI = "microsoft.insights/components"
GE = "GreaterThanOrEqual"
BACKEND_ROLE = "cloud/roleName=backend"


def scope_name(resource_id: str) -> str:
    return resource_id.rsplit("/", 1)[-1]


def metric_alert_rows(result: PlanResult) -> set[tuple]:
    """Each metric alert as (target, level, scope, namespace, metric, aggregation, dimension,
    operator, threshold, severity, window, frequency)."""
    rows = set()
    for alert in result.of_type(METRIC_ALERT):
        inputs = alert.inputs
        criteria = opened(inputs["criteria"])
        assert criteria["odataType"] == "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria"
        [criterion] = criteria["allOf"]
        assert criterion["criterionType"] == "StaticThresholdCriterion"
        [scope] = inputs["scopes"]
        dimension = None
        if criterion.get("dimensions"):
            [d] = criterion["dimensions"]
            assert d["operator"] == "Include"
            dimension = f"{d['name']}={','.join(d['values'])}"
        assert inputs["location"] == "global"
        assert inputs["autoMitigate"] is True
        assert inputs["enabled"] is True
        rows.add(
            (
                inputs["tags"]["fin-agent-target"],
                inputs["tags"]["fin-agent-level"],
                scope_name(scope),
                criterion["metricNamespace"],
                criterion["metricName"],
                criterion["timeAggregation"],
                dimension,
                criterion["operator"],
                criterion["threshold"],
                inputs["severity"],
                inputs["windowSize"],
                inputs["evaluationFrequency"],
            )
        )
    return rows


def container_apps_expected(env: str, token: str) -> set[tuple]:
    backend, web = f"ca-finagent-backend-{env}-{token}", f"ca-finagent-web-{env}-{token}"
    browser = f"appi-finagent-browser-{env}-{token}"
    rows = {
        ("api-latency", "warning", backend, ACA, "ResponseTime", "Average", None, GE, 200, 2, "PT5M", "PT1M"),
        ("api-latency", "critical", backend, ACA, "ResponseTime", "Average", None, GE, 500, 1, "PT5M", "PT1M"),
        (
            "page-load",
            "warning",
            browser,
            APPI,
            "browserTimings/totalDuration",
            "Average",
            None,
            GE,
            3000,
            2,
            "PT5M",
            "PT5M",
        ),
        (
            "page-load",
            "critical",
            browser,
            APPI,
            "browserTimings/totalDuration",
            "Average",
            None,
            GE,
            5000,
            1,
            "PT5M",
            "PT5M",
        ),
    }
    for app in (backend, web):
        rows |= {
            ("container-memory", "warning", app, ACA, "MemoryPercentage", "Average", None, GE, 80, 2, "PT5M", "PT1M"),
            ("container-memory", "critical", app, ACA, "MemoryPercentage", "Average", None, GE, 95, 1, "PT5M", "PT1M"),
            ("container-cpu", "warning", app, ACA, "CpuPercentage", "Average", None, GE, 70, 2, "PT5M", "PT1M"),
            ("container-cpu", "critical", app, ACA, "CpuPercentage", "Average", None, GE, 90, 1, "PT5M", "PT1M"),
        }
    return rows


def test_every_prod_alert_exactly() -> None:
    result = plan("prod")
    token = result.loaded.naming.token
    assert metric_alert_rows(result) == container_apps_expected("prod", token)


def test_every_staging_alert_exactly() -> None:
    result = plan("staging")
    token = result.loaded.naming.token
    assert metric_alert_rows(result) == container_apps_expected("stg", token)


def test_every_dev_alert_exactly_with_thresholds_converted_from_the_limits() -> None:
    result = plan("dev")
    token = result.loaded.naming.token
    group = f"ci-finagent-01-dev-{token}"
    appi = f"appi-finagent-dev-{token}"
    browser = f"appi-finagent-browser-dev-{token}"
    # container groups report millicores and bytes: 70 % of backend's 2 vCPU limit is 1400 m,
    # 80 % of its 4 GB limit is 3.2e9 bytes; web's limits are 1 vCPU and 2 GB.
    expected = {
        # Backend and web share the component: the latency alerts keep the backend's role only.
        (
            "api-latency",
            "warning",
            appi,
            APPI,
            "requests/duration",
            "Average",
            BACKEND_ROLE,
            GE,
            200,
            2,
            "PT5M",
            "PT1M",
        ),
        (
            "api-latency",
            "critical",
            appi,
            APPI,
            "requests/duration",
            "Average",
            BACKEND_ROLE,
            GE,
            500,
            1,
            "PT5M",
            "PT1M",
        ),
        (
            "page-load",
            "warning",
            browser,
            APPI,
            "browserTimings/totalDuration",
            "Average",
            None,
            GE,
            3000,
            2,
            "PT5M",
            "PT5M",
        ),
        (
            "page-load",
            "critical",
            browser,
            APPI,
            "browserTimings/totalDuration",
            "Average",
            None,
            GE,
            5000,
            1,
            "PT5M",
            "PT5M",
        ),
        (
            "container-cpu",
            "warning",
            group,
            ACI,
            "CpuUsage",
            "Average",
            "containerName=backend",
            GE,
            1400,
            2,
            "PT5M",
            "PT1M",
        ),
        (
            "container-cpu",
            "critical",
            group,
            ACI,
            "CpuUsage",
            "Average",
            "containerName=backend",
            GE,
            1800,
            1,
            "PT5M",
            "PT1M",
        ),
        (
            "container-cpu",
            "warning",
            group,
            ACI,
            "CpuUsage",
            "Average",
            "containerName=web",
            GE,
            700,
            2,
            "PT5M",
            "PT1M",
        ),
        (
            "container-cpu",
            "critical",
            group,
            ACI,
            "CpuUsage",
            "Average",
            "containerName=web",
            GE,
            900,
            1,
            "PT5M",
            "PT1M",
        ),
        (
            "container-memory",
            "warning",
            group,
            ACI,
            "MemoryUsage",
            "Average",
            "containerName=backend",
            GE,
            3.2e9,
            2,
            "PT5M",
            "PT1M",
        ),
        (
            "container-memory",
            "critical",
            group,
            ACI,
            "MemoryUsage",
            "Average",
            "containerName=backend",
            GE,
            3.8e9,
            1,
            "PT5M",
            "PT1M",
        ),
        (
            "container-memory",
            "warning",
            group,
            ACI,
            "MemoryUsage",
            "Average",
            "containerName=web",
            GE,
            1.6e9,
            2,
            "PT5M",
            "PT1M",
        ),
        (
            "container-memory",
            "critical",
            group,
            ACI,
            "MemoryUsage",
            "Average",
            "containerName=web",
            GE,
            1.9e9,
            1,
            "PT5M",
            "PT1M",
        ),
    }
    assert metric_alert_rows(result) == expected


def test_classic_cache_hit_rate_is_watched_through_its_miss_rate() -> None:
    result = plan("dev", {"redis": {"tier": "classic", "sku": "Standard_C1"}})
    token = result.loaded.naming.token
    cache_rows = {row for row in metric_alert_rows(result) if row[0] == "cache-hit-rate"}
    cache = f"redis-finagent-dev-{token}"
    namespace = "Microsoft.Cache/redis"
    assert cache_rows == {
        ("cache-hit-rate", "warning", cache, namespace, "cachemissrate", "Total", None, GE, 20, 2, "PT1M", "PT1M"),
        ("cache-hit-rate", "critical", cache, namespace, "cachemissrate", "Total", None, GE, 40, 1, "PT1M", "PT1M"),
    }


def test_managed_redis_hit_rate_is_post_deploy_only_and_the_plan_says_why() -> None:
    result = plan("prod")
    assert not any(a.inputs["tags"]["fin-agent-target"] == "cache-hit-rate" for a in result.of_type(METRIC_ALERT))
    rows = {row["target"]: row for row in plan_document(result)["watch"]}
    assert rows["cache-hit-rate"]["how"] == "post-deploy only"
    assert "no hit or miss rate" in rows["cache-hit-rate"]["detail"]


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_query_time_is_a_log_alert_over_application_insights_dependencies(stack: str) -> None:
    result = plan(stack)
    workspace = result.one(WORKSPACE)
    alerts = {a.inputs["tags"]["fin-agent-level"]: a for a in result.of_type(LOG_ALERT)}
    assert set(alerts) == {"warning", "critical"}
    for level, threshold, severity in (("warning", 50, 2), ("critical", 200, 1)):
        inputs = alerts[level].inputs
        assert inputs["kind"] == "LogAlert"
        assert inputs["scopes"] == [workspace.resource_id]
        assert (inputs["windowSize"], inputs["evaluationFrequency"], inputs["severity"]) == ("PT5M", "PT5M", severity)
        [condition] = opened(inputs["criteria"])["allOf"]
        assert condition["query"] == (
            'AppDependencies | where AppRoleName == "backend" '
            '| where DependencyType in~ ("postgresql", "postgres", "pg", "SQL") '
            "| summarize value = sum(DurationMs * ItemCount) / sum(ItemCount)"
        )
        assert (condition["operator"], condition["threshold"]) == (GE, threshold)
        assert (condition["timeAggregation"], condition["metricMeasureColumn"]) == ("Average", "value")
        assert inputs["autoMitigate"] is True


def test_a_threshold_changed_in_the_data_file_changes_the_alerts(tmp_path: Path) -> None:
    data = yaml.safe_load(TARGETS_FILE.read_text())
    cpu = next(t for t in data["targets"] if t["id"] == "container-cpu")
    cpu["target"] = 65
    changed = tmp_path / "targets.yaml"
    changed.write_text(yaml.safe_dump(data))

    def cpu_warnings(result: PlanResult) -> set[float]:
        return {row[8] for row in metric_alert_rows(result) if row[0] == "container-cpu" and row[1] == "warning"}

    assert cpu_warnings(plan("prod")) == {70}
    assert cpu_warnings(plan("prod", targets_file=changed)) == {65}
    assert cpu_warnings(plan("dev", targets_file=changed)) == {1300, 650}  # 65 % of 2000 m and 1000 m


def test_with_receivers_alerts_notify_the_action_group() -> None:
    result = plan("prod")
    group = result.one(ACTION_GROUP)
    assert group.inputs["location"] == "global"
    assert group.inputs["groupShortName"] == "finagentprod"
    assert group.inputs["emailReceivers"] == [
        {"name": "platform-oncall", "emailAddress": "platform-oncall@fin-agent.example", "useCommonAlertSchema": True}
    ]
    for alert in result.of_type(METRIC_ALERT):
        assert alert.inputs["actions"] == [{"actionGroupId": group.resource_id}]
    for alert in result.of_type(LOG_ALERT):
        assert alert.inputs["actions"] == {"actionGroups": [group.resource_id]}
    assert result.outputs["monitoring"]["actionGroupId"] == group.resource_id


def test_without_receivers_alerts_still_exist_and_the_plan_says_nobody_is_notified() -> None:
    result = plan("dev")
    assert result.of_type(ACTION_GROUP) == []
    assert len(result.of_type(METRIC_ALERT)) == 12
    assert all("actions" not in a.inputs for a in result.of_type(METRIC_ALERT))
    assert any("notify nobody" in n for n in result.loaded.notices)
    for row in plan_document(result)["watch"]:
        if row["how"] != "post-deploy only":
            assert "notifies nobody" in row["detail"]


def test_webhook_url_comes_from_a_secret_and_stays_secret() -> None:
    result = plan(
        "prod",
        {
            "monitoring.receivers.webhooks": [{"name": "pager", "urlSecret": "pagerWebhookUrl"}],
            "pagerWebhookUrl": {"secure": "v1:abc"},
        },
    )
    receivers = result.one(ACTION_GROUP).inputs["webhookReceivers"]
    assert rpc.is_rpc_secret(receivers)  # the URL (with its token) makes the list secret
    assert opened(receivers) == [
        {"name": "pager", "serviceUri": "[secret]", "useAadAuth": False, "useCommonAlertSchema": True}
    ]


def test_workspace_and_app_insights() -> None:
    prod, dev = plan("prod"), plan("dev")
    workspace = prod.one(WORKSPACE)
    assert workspace.inputs["retentionInDays"] == 90
    assert workspace.inputs["sku"] == {"name": "PerGB2018"}
    assert workspace.inputs["features"]["disableLocalAuth"] is True
    # container groups send logs with the workspace key, so dev keeps local auth on
    assert dev.one(WORKSPACE).inputs["features"]["disableLocalAuth"] is False
    appi = prod.one(APP_INSIGHTS, "monitoring-app-insights")
    assert appi.inputs["workspaceResourceId"] == workspace.resource_id
    assert appi.inputs["disableLocalAuth"] is True
    assert (appi.inputs["kind"], appi.inputs["applicationType"], appi.inputs["ingestionMode"]) == (
        "web",
        "web",
        "LogAnalytics",
    )
    # browsers cannot use Entra ID: page loads go to a separate component that keeps local auth
    browser = prod.one(APP_INSIGHTS, "monitoring-browser-insights")
    assert browser.inputs["workspaceResourceId"] == workspace.resource_id
    assert browser.inputs["disableLocalAuth"] is False
    assert browser.inputs["tags"]["fin-agent-telemetry"] == "browser"
    assert prod.outputs["monitoring"]["browserInsightsId"] == browser.resource_id


def test_app_insights_connection_string_reaches_both_services_as_a_secret() -> None:
    prod = plan("prod")
    for app in prod.of_type("azure-native:app:ContainerApp"):
        [container] = opened(app.inputs["template"])["containers"]
        env = {e["name"]: e for e in container["env"]}
        browser = env.get("APPLICATIONINSIGHTS_BROWSER_CONNECTION_STRING")
        if app.name == "compute-web":
            assert browser == {
                "name": "APPLICATIONINSIGHTS_BROWSER_CONNECTION_STRING",
                "secretRef": "appinsights-browser-connection-string",
            }
        else:
            assert browser is None
        assert env["APPLICATIONINSIGHTS_CONNECTION_STRING"] == {
            "name": "APPLICATIONINSIGHTS_CONNECTION_STRING",
            "secretRef": "appinsights-connection-string",
        }
        assert env["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]["value"].startswith("Authorization=AAD;ClientId=")
    dev = plan("dev")
    for container in opened(dev.one("azure-native:containerinstance:ContainerGroup").inputs["containers"]):
        env = {e["name"]: e for e in container["environmentVariables"]}
        assert set(env["APPLICATIONINSIGHTS_CONNECTION_STRING"]) == {"name", "secureValue"}


def diagnostics_by_resource(result: PlanResult) -> dict[str, PlannedResource]:
    return {scope_name(d.inputs["resourceUri"]): d for d in result.of_type(DIAGNOSTIC)}


def test_diagnostic_settings_send_environment_groups_and_cache_to_the_workspace() -> None:
    prod = plan("prod")
    workspace_id = prod.one(WORKSPACE).resource_id
    token = prod.loaded.naming.token
    settings = diagnostics_by_resource(prod)
    assert set(settings) == {f"cae-finagent-prod-{token}", f"amr-finagent-prod-{token}", "default"}
    environment = settings[f"cae-finagent-prod-{token}"]
    assert environment.inputs["logs"] == [{"categoryGroup": "allLogs", "enabled": True}]
    assert environment.inputs["metrics"] == [{"category": "AllMetrics", "enabled": True}]
    assert settings["default"].inputs["logs"] == [{"categoryGroup": "allLogs", "enabled": True}]
    assert "metrics" not in settings["default"].inputs
    assert all(s.inputs["workspaceId"] == workspace_id for s in settings.values())

    dev = plan("dev")
    group = diagnostics_by_resource(dev)[f"ci-finagent-01-dev-{dev.loaded.naming.token}"]
    assert "logs" not in group.inputs  # container logs go through the group's own Log Analytics block
    assert group.inputs["metrics"] == [{"category": "AllMetrics", "enabled": True}]


def test_plan_lists_each_target_with_how_it_is_watched() -> None:
    rows = {row["target"]: row["how"] for row in plan_document(plan("prod"))["watch"]}
    assert rows == {
        "api-latency": "metric alert",
        "cache-hit-rate": "post-deploy only",
        "db-query-time": "log alert",
        "page-load": "metric alert",
        "container-memory": "metric alert",
        "container-cpu": "metric alert",
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t[0].update(target=600), "target (600.0) must be below critical (500.0)"),
        (lambda t: t[1].update(critical=90), "target (80.0) must be above critical (90.0)"),
        (lambda t: t[0].update(window="PT7M"), "window PT7M is not one Azure Monitor accepts"),
        (lambda t: t[0]["watch"][0].update(scope="somewhere"), "unknown scope 'somewhere'"),
        (lambda t: t.append(dict(t[0])), "duplicate target ids: ['api-latency']"),
    ],
)
def test_a_malformed_target_table_is_refused_with_the_entry_named(change, message: str) -> None:
    data = yaml.safe_load(TARGETS_FILE.read_text())
    change(data["targets"])
    with pytest.raises(TargetsError) as caught:
        parse_targets(yaml.safe_dump(data))
    assert message in str(caught.value)
