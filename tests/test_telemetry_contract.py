"""The telemetry contract: role names and database dependency types, from settings to KQL.

Backend and web report to one Application Insights component, so every alert and log query
that judges api-latency or db-query-time must keep the backend's telemetry only. These tests
read what the program declares on every stack (exact inputs), what each app is told, what
the checks send to the local Logs stand-in, and the reasons given when nothing arrives. The
stand-in parses the filters' string literals as KQL, so a badly escaped value fails there.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from checks.clouds import cloud_profile
from checks.jobs import Job, jobs_for
from checks.model import Window
from checks.outputs import StackOutputs, parse_outputs
from checks.sources.azure import AzureAccess
from checks.sources.logs import LogsSource
from checks.targets import TARGETS_FILE, TargetsError, load_targets, parse_targets
from checks.telemetry import TelemetryContract, TelemetryContractError, fill, kql_string, kql_string_list
from infra.plan.engine.runner import PlanResult
from infra.settings import SettingsError, load_settings
from tests.conftest import opened, plan, raw_config
from tests.fixtures.checks.fake_azure import FakeAzure, FakeCredential
from tests.fixtures.checks.kql_literals import KqlSyntaxError, equals_values, in_values, read_literal

FIXTURES = Path(__file__).parent / "fixtures" / "checks"
STACKS = ["dev", "staging", "prod"]
METRIC_ALERT = "azure-native:monitor:MetricAlert"
LOG_ALERT = "azure-native:monitor:ScheduledQueryRule"
CONTAINER_APP = "azure-native:app:ContainerApp"
CONTAINER_GROUP = "azure-native:containerinstance:ContainerGroup"
DEFAULT_TYPES = ["postgresql", "postgres", "pg", "SQL"]
# Values that would end or bend a naively quoted literal.
AWKWARD_ROLE = 'api "core" \\ o\'brien {dependencyTypes}'
AWKWARD_TYPE = 'pg"x\\'
NOW = datetime.now(UTC).replace(microsecond=0)
WINDOW = Window(start=NOW - timedelta(minutes=15), end=NOW)


def alerts_of(result: PlanResult, target_id: str) -> list[Any]:
    return [
        alert
        for alert in result.of_type(METRIC_ALERT) + result.of_type(LOG_ALERT)
        if alert.inputs["tags"]["fin-agent-target"] == target_id
    ]


def criterion(alert: Any) -> dict[str, Any]:
    [only] = opened(alert.inputs["criteria"])["allOf"]
    return only


def app_env(result: PlanResult) -> dict[str, dict[str, Any]]:
    """Each service's plain environment variables, on either platform."""
    envs: dict[str, dict[str, Any]] = {}
    for app in result.of_type(CONTAINER_APP):
        [container] = opened(app.inputs["template"])["containers"]
        envs[container["name"]] = {e["name"]: e.get("value") for e in container["env"] if "value" in e}
    for group in result.of_type(CONTAINER_GROUP):
        for container in opened(group.inputs["containers"]):
            envs[container["name"]] = {
                e["name"]: e.get("value") for e in container["environmentVariables"] if "value" in e
            }
    return envs


# -- KQL literals -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["backend", AWKWARD_ROLE, "\\", '"', "'", 'a\\"b', "日本"])
def test_a_kql_literal_reads_back_as_the_value(value: str) -> None:
    literal = kql_string(value)
    assert read_literal(literal, 0) == (value, len(literal))


def test_a_control_character_is_refused_not_sent() -> None:
    with pytest.raises(TelemetryContractError, match="control character"):
        kql_string("backend\nAppRequests | take 1")


def test_placeholders_are_filled_in_one_pass_and_a_missing_one_is_named() -> None:
    contract = TelemetryContract({"backend": "{dependencyTypes}"}, ["pg"])
    filled = fill("X | where AppRoleName == {roleName} | where T in~ ({dependencyTypes})", contract.values("backend"))
    assert filled == 'X | where AppRoleName == "{dependencyTypes}" | where T in~ ("pg")'
    with pytest.raises(TelemetryContractError, match=r"\{roleName\}"):
        fill("X | where AppRoleName == {roleName}", {})
    with pytest.raises(TelemetryContractError, match="empty list"):
        kql_string_list([])


# -- the target table ---------------------------------------------------------------------------


def _table_with(change) -> str:
    import yaml

    data = yaml.safe_load(TARGETS_FILE.read_text())
    change({t["id"]: t for t in data["targets"]})
    return yaml.safe_dump(data)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda t: t["api-latency"]["measure"][1].update(service=None, query="AppRequests | summarize value = 1"),
            "must judge one service's telemetry",
        ),
        (
            lambda t: t["db-query-time"]["watch"][0].update(
                query="AppDependencies | summarize value = avg(DurationMs)"
            ),
            "does not filter on AppRoleName",
        ),
        (
            lambda t: t["page-load"]["measure"][0].update(query="AppBrowserTimings | where AppRoleName == {roleName}"),
            "name the service",
        ),
        (lambda t: t["container-cpu"]["watch"][0].update(service="backend"), "microsoft.insights/components"),
    ],
)
def test_the_table_refuses_a_server_log_query_not_scoped_to_a_service(change, message: str) -> None:
    with pytest.raises(TargetsError, match=message):
        parse_targets(_table_with(change))


# -- what the program declares (exact inputs, every stack) --------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_every_latency_and_query_time_alert_is_scoped_to_the_backends_role(stack: str) -> None:
    result = plan(stack)
    latency, query_time = alerts_of(result, "api-latency"), alerts_of(result, "db-query-time")
    assert len(latency) == 2 and len(query_time) == 2
    backend_app = next((a for a in result.of_type(CONTAINER_APP) if a.name.endswith("-backend")), None)
    for alert in latency:
        if alert.type == METRIC_ALERT and criterion(alert)["metricNamespace"] == "microsoft.insights/components":
            # container groups: the shared component's requests/duration, backend's role only
            assert criterion(alert)["metricName"] == "requests/duration"
            assert criterion(alert)["dimensions"] == [
                {"name": "cloud/roleName", "operator": "Include", "values": ["backend"]}
            ]
        else:
            # Container Apps: the backend app's own ResponseTime (no other app's requests there)
            [scope] = alert.inputs["scopes"]
            assert criterion(alert)["metricName"] == "ResponseTime"
            assert scope.rsplit("/", 1)[-1] == backend_app.inputs["containerAppName"]
    for alert in query_time:
        assert criterion(alert)["query"] == (
            'AppDependencies | where AppRoleName == "backend" '
            '| where DependencyType in~ ("postgresql", "postgres", "pg", "SQL") '
            "| summarize value = sum(DurationMs * ItemCount) / sum(ItemCount)"
        )
    platform = result.outputs["platform"]
    kinds = {criterion(a)["metricNamespace"] for a in latency}
    assert kinds == (
        {"microsoft.insights/components"} if platform == "containerinstances" else {"Microsoft.App/containerApps"}
    )


@pytest.mark.parametrize("stack", STACKS)
def test_each_app_is_told_its_role_name_and_the_outputs_carry_the_contract(stack: str) -> None:
    result = plan(stack)
    envs = app_env(result)
    assert {name: env["OTEL_SERVICE_NAME"] for name, env in envs.items()} == {"backend": "backend", "web": "web"}
    assert result.outputs["services"]["backend"]["roleName"] == "backend"
    assert result.outputs["services"]["web"]["roleName"] == "web"
    assert result.outputs["monitoring"]["databaseDependencyTypes"] == DEFAULT_TYPES
    parsed = parse_outputs(json.loads(json.dumps(result.outputs)))
    assert parsed.telemetry.role_name("backend") == "backend"


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_a_quoted_role_name_and_dependency_type_stay_one_kql_literal_each(stack: str) -> None:
    result = plan(
        stack,
        {
            "services.backend.roleName": AWKWARD_ROLE,
            "services.web.roleName": "fin web",
            "monitoring.databaseDependencyTypes": ["postgresql", AWKWARD_TYPE],
        },
    )
    assert app_env(result)["backend"]["OTEL_SERVICE_NAME"] == AWKWARD_ROLE
    assert app_env(result)["web"]["OTEL_SERVICE_NAME"] == "fin web"
    for alert in alerts_of(result, "db-query-time"):
        query = criterion(alert)["query"]
        assert equals_values(query, "AppRoleName") == [AWKWARD_ROLE]
        assert in_values(query, "DependencyType") == [["postgresql", AWKWARD_TYPE]]
    for alert in alerts_of(result, "api-latency"):
        for dimension in criterion(alert).get("dimensions") or []:
            assert dimension["values"] == [AWKWARD_ROLE]
    assert result.outputs["services"]["backend"]["roleName"] == AWKWARD_ROLE


@pytest.mark.parametrize(
    ("overrides", "key", "message"),
    [
        ({"services.web.roleName": "backend"}, "services.web.roleName", "also backend's role name"),
        ({"services.backend.roleName": " backend"}, "services.backend.roleName", "should match pattern"),
        ({"services.backend.roleName": "back\tend"}, "services.backend.roleName", "should match pattern"),
        ({"services.backend.roleName": ""}, "services.backend.roleName", "should match pattern"),
        ({"services.backend.roleName": "*"}, "services.backend.roleName", "wildcard"),
        ({"services.backend.env": {"OTEL_SERVICE_NAME": "api"}}, "services.backend.env.OTEL_SERVICE_NAME", "roleName"),
        (
            {"services.web.env": {"OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=dev,service.namespace=fin"}},
            "services.web.env.OTEL_RESOURCE_ATTRIBUTES",
            "service.namespace",
        ),
        ({"monitoring.databaseDependencyTypes": []}, "monitoring.databaseDependencyTypes", "at least 1"),
        (
            {"monitoring.databaseDependencyTypes": ["postgresql", "PostgreSQL"]},
            "monitoring.databaseDependencyTypes",
            "listed twice",
        ),
        ({"monitoring.databaseDependencyTypes": ["pg\n"]}, "monitoring.databaseDependencyTypes[0]", "pattern"),
    ],
)
def test_settings_refuse_a_contract_the_queries_could_not_rely_on(overrides, key: str, message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(raw_config("dev", overrides), "dev", allow_missing_secrets=True)
    assert f"fin-agent:{key}" in [problem.key for problem in caught.value.problems]
    assert message in str(caught.value)


# -- what the checks send to the Logs stand-in --------------------------------------------------


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeAzure]:
    server = FakeAzure(tmp_path).start()
    yield server
    server.stop()


def stack_outputs(**changes: Any) -> StackOutputs:
    data = json.loads((FIXTURES / "outputs-dev.json").read_text())
    for dotted, value in changes.items():
        *path, last = dotted.split(".")
        node = data
        for part in path:
            node = node[part]
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return parse_outputs(data)


def access_for(fake: FakeAzure) -> AzureAccess:
    profile = cloud_profile("public", arm_endpoint=fake.url, metrics_endpoint=fake.url, logs_endpoint=fake.url)
    return AzureAccess(
        profile,
        FakeCredential,
        client_kwargs={"connection_verify": str(fake.cert)},
        timeout_seconds=5.0,
        retries=0,
        backoff_factor=0.01,
        backoff_max_seconds=0.2,
    )


def logs_jobs(stack: StackOutputs, target_id: str) -> list[Job]:
    return [job for job in jobs_for(load_targets(), stack, [target_id])[target_id] if job.measure.source == "logs"]


def collect(access: AzureAccess, stack: StackOutputs, target_id: str) -> Any:
    [job] = logs_jobs(stack, target_id)
    [row] = LogsSource(access, stack, WINDOW).collect([job])[job.key]
    return row


def test_the_checks_kql_keeps_the_backends_requests_and_database_calls_only(fake: FakeAzure) -> None:
    access = access_for(fake)
    stack = stack_outputs()
    # The stand-in holds backend rows only: it answers a query filtered on the backend's role.
    fake.log("AppRequests", 180.0, 900, role="backend")
    fake.log("AppDependencies", 12.0, 3000, role="backend", dependency_type="postgresql")
    latency, query_time = collect(access, stack, "api-latency"), collect(access, stack, "db-query-time")
    assert (latency.verdict, latency.value, query_time.verdict, query_time.value) == ("PASS", 180.0, "PASS", 12.0)
    requests, dependencies = (call.body["query"] for call in fake.calls("logs"))
    assert '| where AppRoleName == "backend" |' in requests
    assert '| where AppRoleName == "backend" | where DependencyType in~ ("postgresql", "postgres", "pg", "SQL") |' in (
        " ".join(dependencies.split())
    )
    assert latency.query["service"] == "backend" and latency.query["kql"] == requests


def test_telemetry_under_another_role_is_no_data_naming_the_missing_role(fake: FakeAzure) -> None:
    access = access_for(fake)
    # The backend sends without its role name (e.g. OTEL_SERVICE_NAME unset: unknown_service:node).
    fake.log("AppRequests", 180.0, 900, role="unknown_service:node")
    fake.log("AppDependencies", 12.0, 3000, role="unknown_service:node", dependency_type="postgresql")
    stack = stack_outputs()
    latency, query_time = collect(access, stack, "api-latency"), collect(access, stack, "db-query-time")
    assert latency.verdict == query_time.verdict == "NO_DATA"
    assert latency.reason == (
        "no AppRequests rows with AppRoleName 'backend' in the window: is the backend sending telemetry "
        "with its role name (OTEL_SERVICE_NAME=backend)?"
    )
    assert query_time.reason == (
        "no AppDependencies rows with AppRoleName 'backend' and DependencyType in ('postgresql', 'postgres', "
        "'pg', 'SQL') in the window: is the backend sending telemetry with its role name "
        "(OTEL_SERVICE_NAME=backend)? Are its PostgreSQL driver calls instrumented? supabase-js calls are HTTP "
        "dependencies and do not count; monitoring.databaseDependencyTypes sets the types (docs/telemetry.md)"
    )


def test_database_calls_of_another_type_are_not_query_time(fake: FakeAzure) -> None:
    access = access_for(fake)
    fake.log("AppDependencies", 95.0, 400, role="backend", dependency_type="HTTP")  # supabase-js via PostgREST
    row = collect(access, stack_outputs(), "db-query-time")
    assert row.verdict == "NO_DATA" and "supabase-js calls are HTTP dependencies" in row.reason


def test_a_quoted_role_name_and_type_from_the_outputs_reach_log_analytics_intact(fake: FakeAzure) -> None:
    access = access_for(fake)
    stack = stack_outputs(
        **{
            "services.backend.roleName": AWKWARD_ROLE,
            "monitoring.databaseDependencyTypes": ["postgresql", AWKWARD_TYPE],
        }
    )
    fake.log("AppRequests", 150.0, 100, role=AWKWARD_ROLE)
    fake.log("AppDependencies", 30.0, 100, role=AWKWARD_ROLE, dependency_type=AWKWARD_TYPE)
    latency, query_time = collect(access, stack, "api-latency"), collect(access, stack, "db-query-time")
    assert (latency.verdict, query_time.verdict) == ("PASS", "PASS"), (latency.reason, query_time.reason)
    for call in fake.calls("logs"):
        assert equals_values(call.body["query"], "AppRoleName") == [AWKWARD_ROLE]


def test_the_stand_in_rejects_a_badly_quoted_filter_as_log_analytics_would(fake: FakeAzure) -> None:
    # The proof that the stand-in's parser can fail: the naive quoting this module replaces.
    with pytest.raises(KqlSyntaxError):
        equals_values(f'AppRequests | where AppRoleName == "{AWKWARD_ROLE}"', "AppRoleName")


def test_outputs_without_the_contract_are_no_data_and_nothing_is_queried(fake: FakeAzure) -> None:
    access = access_for(fake)
    stack = stack_outputs(**{"services.backend.roleName": None, "monitoring.databaseDependencyTypes": None})
    fake.log("AppRequests", 150.0, 100)
    latency, query_time = collect(access, stack, "api-latency"), collect(access, stack, "db-query-time")
    assert latency.verdict == query_time.verdict == "NO_DATA"
    assert latency.reason.startswith("the stack outputs lack services.backend.roleName, which the AppRequests query")
    assert "services.backend.roleName and monitoring.databaseDependencyTypes" in query_time.reason
    assert "kql" not in latency.query
    assert fake.calls("logs") == [], "a query averaging every app's telemetry is never sent"
