"""The stack's workbook: it charts exactly what the checks query, by the table's thresholds.

Exact inputs: each stack is planned under the mock engine; the checks' own metrics and logs
sources then run against a local stand-in for Azure with the plan's outputs, and every
request they send is recorded. The workbook's metric charts must ask for the same
(resource, namespace, metric, aggregation, grain, split) tuples, and its tiles must run the
same KQL once the window is filled in. The generated JSON is validated against Microsoft's
published workbook schema (vendored in tests/fixtures/workbook/).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from checks.clouds import cloud_for_location, cloud_profile
from checks.durations import utc_iso
from checks.jobs import jobs_for
from checks.model import Window
from checks.outputs import StackOutputs, parse_outputs
from checks.sources.azure import AzureAccess
from checks.sources.logs import LogsSource
from checks.sources.metrics import MetricsSource
from checks.targets import TARGETS_FILE, load_targets
from checks.telemetry import TelemetryContract
from infra.plan.engine.runner import PlanResult
from infra.workbook import WorkbookError, build_workbook, portal_url, workbook_name
from infra.workbook.content import trend_kql
from infra.workbook.items import AGGREGATION
from tests.conftest import STACKS, plan
from tests.fixtures.checks.fake_azure import FakeAzure, FakeCredential

WORKBOOK = "azure-native:applicationinsights:Workbook"
SCHEMA = json.loads((Path(__file__).parent / "fixtures" / "workbook" / "workbook.schema.json").read_text())
AGGREGATION_NAMES = {code: name for name, code in AGGREGATION.items()}
WINDOW = Window(start=datetime(2026, 11, 30, 10, 0, tzinfo=UTC), end=datetime(2026, 11, 30, 10, 15, tzinfo=UTC))


def workbook_of(result: PlanResult) -> dict[str, Any]:
    return json.loads(result.one(WORKBOOK).inputs["serializedData"])


def outputs_of(result: PlanResult) -> StackOutputs:
    return parse_outputs(json.loads(json.dumps(result.outputs)))


def walk(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in items:
        yield item
        if item["type"] == 12:
            yield from walk(item["content"]["items"])


def sections(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["name"].removeprefix("target-"): i for i in document["items"] if i["type"] == 12}


def section_items(document: dict[str, Any], target_id: str) -> list[dict[str, Any]]:
    return list(walk(sections(document)[target_id]["content"]["items"]))


# -- what the checks send ----------------------------------------------------------------------


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeAzure]:
    server = FakeAzure(tmp_path).start()
    yield server
    server.stop()


def run_checks_sources(fake: FakeAzure, outputs: StackOutputs) -> None:
    """The checks' metrics and logs sources, for every job of the table, against the stand-in."""
    profile = cloud_profile("public", arm_endpoint=fake.url, metrics_endpoint=fake.url, logs_endpoint=fake.url)
    access = AzureAccess(
        profile, lambda: FakeCredential(), retries=0, client_kwargs={"connection_verify": str(fake.cert)}
    )
    jobs = [job for found in jobs_for(load_targets(), outputs).values() for job in found]
    MetricsSource(access, outputs, WINDOW).collect([j for j in jobs if j.measure.source == "metrics"])
    LogsSource(access, outputs, WINDOW).collect([j for j in jobs if j.measure.source == "logs"])


def checks_metric_tuples(fake: FakeAzure) -> set[tuple[str, ...]]:
    found = set()
    for call in fake.calls("metrics"):
        query = call.query
        namespace = query["metricnamespace"][0].lower()
        split = query.get("filter", [None])[0]
        for rid in call.body["resourceids"]:
            for name in query["metricnames"][0].split(","):
                for aggregation in query["aggregation"][0].split(","):
                    found.add((rid.lower(), namespace, name, aggregation.lower(), query["interval"][0], split))
    return found


def workbook_metric_charts(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [i["content"] for i in walk(document["items"]) if i["type"] == 10 and i["content"]["chartType"] == 2]


def workbook_metric_tuples(document: dict[str, Any]) -> set[tuple[str, ...]]:
    found = set()
    for chart in workbook_metric_charts(document):
        for rid in chart["resourceIds"]:
            for series in chart["metrics"]:
                name = series["metric"].split("--", 1)[1]
                split = f"{series['splitBy']} eq '*'" if series["splitBy"] else None
                aggregation = AGGREGATION_NAMES[series["aggregation"]].lower()
                found.add((rid.lower(), series["namespace"], name, aggregation, chart["timeGrain"], split))
    return found


def logs_items(document: dict[str, Any], visualization: str) -> list[dict[str, Any]]:
    return [
        i["content"]
        for i in walk(document["items"])
        if i["type"] == 3 and i["content"]["visualization"] == visualization
    ]


CLASSIC = {"redis": {"tier": "classic", "sku": "Standard_C1"}}


@pytest.mark.parametrize(("stack", "overrides"), [("dev", None), ("prod", None), ("dev", CLASSIC), ("prod", CLASSIC)])
def test_metric_charts_ask_for_exactly_what_the_checks_request(fake: FakeAzure, stack: str, overrides) -> None:
    result = plan(stack, overrides)
    outputs = outputs_of(result)
    run_checks_sources(fake, outputs)
    asked = checks_metric_tuples(fake)
    assert asked, "the checks sent no metrics request"
    assert workbook_metric_tuples(workbook_of(result)) == asked
    platform_namespace = (
        "microsoft.app/containerapps" if stack == "prod" else "microsoft.containerinstance/containergroups"
    )
    cache_namespace = "microsoft.cache/redis" if overrides else "microsoft.cache/redisenterprise"
    assert {platform_namespace, cache_namespace} <= {t[1] for t in asked}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_log_tiles_run_the_checks_kql_and_charts_extend_it(fake: FakeAzure, stack: str) -> None:
    result = plan(stack)
    outputs = outputs_of(result)
    run_checks_sources(fake, outputs)
    sent = [call.body["query"] for call in fake.calls("logs")]
    assert {c.path for c in fake.calls("logs")} == {
        f"/v1/workspaces/{outputs.monitoring.log_analytics_customer_id}/query"
    }
    document = workbook_of(result)
    tiles = logs_items(document, "tiles")
    filled = [
        t["query"].replace("{Window:startISO}", utc_iso(WINDOW.start)).replace("{Window:endISO}", utc_iso(WINDOW.end))
        for t in tiles
    ]
    assert sorted(filled) == sorted(sent) and len(sent) == 3  # latency, query time, page load
    for chart in logs_items(document, "timechart"):
        base = chart["query"].split(" by bin(TimeGenerated, {TimeRange:grain})")[0]
        window_filled = base.replace("{TimeRange:startISO}", utc_iso(WINDOW.start)).replace(
            "{TimeRange:endISO}", utc_iso(WINDOW.end)
        )
        assert window_filled in sent
    for item in tiles + logs_items(document, "timechart"):
        assert item["crossComponentResources"] == [outputs.monitoring.log_analytics_workspace_id]


def test_the_log_chart_shows_the_target_and_critical_as_lines() -> None:
    document = workbook_of(plan("prod"))
    [chart] = [
        i["content"] for i in section_items(document, "api-latency") if i["name"].endswith("-chart") and i["type"] == 3
    ]
    assert chart["query"].endswith(
        "| extend target = 200.0, critical = 500.0\n| project TimeGenerated, value, target, critical"
    )
    assert chart["chartSettings"]["yAxis"] == ["value", "target", "critical"]


def thresholds(item: dict[str, Any]) -> list[tuple[str, str | None, str]]:
    tile = item["content"]["tileSettings"]["leftContent"]
    return [(r["operator"], r["thresholdValue"], r["representation"]) for r in tile["formatOptions"]["thresholdsGrid"]]


def tile(document: dict[str, Any], name: str) -> dict[str, Any]:
    return next(i for i in walk(document["items"]) if i.get("name") == name)


def test_tiles_colour_by_the_tables_thresholds_in_the_order_the_checks_judge() -> None:
    document = workbook_of(plan("prod"))
    assert thresholds(tile(document, "api-latency-0-tiles")) == [
        ("is Empty", None, "gray"),
        (">=", "500", "redBright"),
        (">=", "200", "orange"),
        ("Default", None, "green"),
    ]
    assert thresholds(tile(document, "db-query-time-0-tile"))[1:3] == [
        (">=", "200", "redBright"),
        (">=", "50", "orange"),
    ]


def test_container_group_tiles_convert_percentages_per_service_and_filter_its_container() -> None:
    document = workbook_of(plan("dev"))
    backend = tile(document, "container-cpu-1-tiles-backend")
    web = tile(document, "container-cpu-1-tiles-web")
    assert thresholds(backend)[1:3] == [(">=", "1800", "redBright"), (">=", "1400", "orange")]  # of 2 vCPU
    assert thresholds(web)[1:3] == [(">=", "900", "redBright"), (">=", "700", "orange")]  # of 1 vCPU
    assert backend["content"]["metrics"][0]["filters"] == [
        {"key": "containerName", "operator": 0, "values": ["backend"]}
    ]
    memory = tile(document, "container-memory-1-tiles-backend")
    assert thresholds(memory)[1:3] == [(">=", "3800000000", "redBright"), (">=", "3200000000", "orange")]


def test_a_threshold_changed_in_a_copy_of_the_table_changes_the_workbook(tmp_path: Path) -> None:
    data = yaml.safe_load(TARGETS_FILE.read_text())
    latency = next(t for t in data["targets"] if t["id"] == "api-latency")
    latency["target"] = 250
    cpu = next(t for t in data["targets"] if t["id"] == "container-cpu")
    cpu["critical"] = 85
    changed = tmp_path / "targets.yaml"
    changed.write_text(yaml.safe_dump(data))

    prod = workbook_of(plan("prod", targets_file=changed))
    [chart] = [i for i in logs_items(prod, "timechart") if i["query"].startswith("AppRequests")]
    assert "| extend target = 250.0, critical = 500.0" in chart["query"]
    assert thresholds(tile(prod, "api-latency-0-tiles"))[2] == (">=", "250", "orange")
    assert thresholds(tile(prod, "container-cpu-0-tiles"))[1] == (">=", "85", "redBright")
    dev = workbook_of(plan("dev", targets_file=changed))
    assert thresholds(tile(dev, "container-cpu-1-tiles-backend"))[1] == (">=", "1700", "redBright")  # 85 % of 2000 m
    assert thresholds(tile(workbook_of(plan("dev")), "container-cpu-1-tiles-backend"))[1] == (">=", "1800", "redBright")


@pytest.mark.parametrize("stack", STACKS)
def test_the_generated_json_follows_microsofts_workbook_schema(stack: str) -> None:
    document = workbook_of(plan(stack))
    jsonschema.Draft7Validator(SCHEMA).validate(document)
    assert {i["type"] for i in walk(document["items"])} <= {1, 3, 9, 10, 11, 12}


def test_the_classic_cache_and_a_report_link_validate_too() -> None:
    result = plan(
        "dev",
        {
            "redis": {"tier": "classic", "sku": "Standard_C1"},
            "monitoring.reportUrl": "https://ci.example/r/dev/latest.html",
        },
    )
    document = workbook_of(result)
    jsonschema.Draft7Validator(SCHEMA).validate(document)
    [link] = [i for i in document["items"] if i["type"] == 11]
    assert link["content"]["links"][0]["cellValue"] == "https://ci.example/r/dev/latest.html"
    [chart] = [c for c in workbook_metric_charts(document) if c["resourceType"] == "microsoft.cache/redis"]
    assert chart["timeGrain"] == "PT1M"


@pytest.mark.parametrize(
    ("break_it", "complaint"),
    [
        (lambda d: d["items"].append({"type": 99, "content": {}}), "is not valid under any of the given schemas"),
        (lambda d: d.pop("version"), "'version' is a required property"),
        (lambda d: d["items"][0].pop("content"), "is not valid under any of the given schemas"),
    ],
)
def test_the_schema_check_rejects_a_broken_document(break_it, complaint: str) -> None:
    document = workbook_of(plan("prod"))
    break_it(document)
    with pytest.raises(jsonschema.ValidationError, match=complaint):
        jsonschema.Draft7Validator(SCHEMA).validate(document)


def test_a_target_measured_only_by_probes_gets_a_text_section(tmp_path: Path) -> None:
    data = yaml.safe_load(TARGETS_FILE.read_text())
    page = next(t for t in data["targets"] if t["id"] == "page-load")
    page["measure"] = [m for m in page["measure"] if m["source"] == "probe"]
    changed = tmp_path / "targets.yaml"
    changed.write_text(yaml.safe_dump(data))
    items = section_items(workbook_of(plan("prod", targets_file=changed)), "page-load")
    assert {i["type"] for i in items} == {1}
    assert "Measured by direct probes only" in items[-1]["content"]["json"]
    assert "`page-load` on `service:web` (/)" in items[-1]["content"]["json"]


def test_a_logs_query_that_cannot_be_binned_is_refused_naming_the_target() -> None:
    table = load_targets()
    measure = table.get("db-query-time").measure[0]
    odd = measure.model_copy(update={"query": measure.query + " | project value"})
    with pytest.raises(WorkbookError, match="target db-query-time: its logs query must end in a `summarize`"):
        trend_kql(odd, table.get("db-query-time"), TelemetryContract({"backend": "backend"}, ["postgresql"]))


def test_every_chart_names_the_resources_the_outputs_name() -> None:
    result = plan("prod")
    outputs = outputs_of(result)
    document = build_workbook(load_targets(), outputs)
    apps = sorted(s.resource_ids[0] for s in outputs.services.values())
    [cpu] = [c for c in workbook_metric_charts(document) if c["metrics"][0]["metric"].endswith("--CpuPercentage")]
    assert sorted(cpu["resourceIds"]) == apps
    assert document["fallbackResourceIds"] == [outputs.monitoring.app_insights_id]


# -- the resource, its name and links ----------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_one_shared_workbook_per_stack_linked_to_app_insights(stack: str) -> None:
    result = plan(stack)
    workbook = result.one(WORKBOOK)
    inputs = workbook.inputs
    app_insights = result.one("azure-native:applicationinsights:Component", "monitoring-app-insights")
    assert (inputs["kind"], inputs["category"], inputs["version"]) == ("shared", "workbook", "Notebook/1.0")
    assert inputs["sourceId"] == app_insights.resource_id
    assert inputs["resourceName"] == workbook_name("fin-agent", stack)
    assert inputs["displayName"] == f"fin-agent targets ({stack})"
    assert workbook.parent_name == "workbook"


def test_the_name_is_a_guid_stable_per_stack() -> None:
    import uuid

    names = {stack: workbook_name("fin-agent", stack) for stack in STACKS}
    assert len(set(names.values())) == 3
    assert all(str(uuid.UUID(name)) == name for name in names.values())
    assert plan("dev", {"monitoring.logRetentionDays": 60}).one(WORKBOOK).inputs["resourceName"] == names["dev"]


@pytest.mark.parametrize("stack", STACKS)
def test_the_outputs_carry_the_workbook_id_and_its_portal_link(stack: str) -> None:
    result = plan(stack)
    outputs = outputs_of(result)
    assert outputs.workbook is not None
    assert outputs.workbook.id == result.one(WORKBOOK).resource_id
    assert outputs.workbook.url == portal_url(
        "https://portal.azure.com", outputs.monitoring.app_insights_id, outputs.workbook.id, outputs.workbook.name
    )
    assert outputs.workbook.url.startswith("https://portal.azure.com/#view/AppInsightsExtension/UsageNotebookBlade/")
    assert "%2Fproviders%2FMicrosoft.Insights%2Fworkbooks%2F" in outputs.workbook.url


def test_the_portal_link_follows_the_cloud_of_the_region() -> None:
    assert cloud_for_location("westeurope").portal == "https://portal.azure.com"
    assert cloud_for_location("usgovvirginia").portal == "https://portal.azure.us"
    assert cloud_for_location("chinanorth3").portal == "https://portal.azure.cn"
    url = portal_url("https://portal.azure.us", "/subscriptions/s/x", "/subscriptions/s/wb", "fin-agent targets (dev)")
    assert url == (
        "https://portal.azure.us/#view/AppInsightsExtension/UsageNotebookBlade/ComponentId/%2Fsubscriptions%2Fs%2Fx"
        "/ConfigurationId/%2Fsubscriptions%2Fs%2Fwb/Type/workbook/WorkbookTemplateName/fin-agent%20targets%20(dev)"
    )


@pytest.mark.parametrize(
    "url",
    ["http://ci.example/report", "https://ci.example/a b", "ftp://x", "https://x.blob.core.windows.net/r?sig=abc"],
)
def test_a_report_url_that_is_not_plain_https_is_refused_by_name(url: str) -> None:
    from infra.settings import SettingsError

    with pytest.raises(SettingsError, match=r"monitoring\.reportUrl"):
        plan("dev", {"monitoring.reportUrl": url})


def test_an_old_outputs_file_without_a_workbook_still_parses() -> None:
    document = json.loads(json.dumps(plan("dev").outputs))
    document.pop("workbook")
    assert parse_outputs(document).workbook is None


def test_window_tiles_default_to_the_checks_window() -> None:
    document = workbook_of(plan("prod"))
    parameters = {p["name"]: p for p in document["items"][1]["content"]["parameters"]}
    assert parameters["Window"]["value"] == {"durationMs": int(timedelta(minutes=15).total_seconds() * 1000)}
    assert parameters["Stack"]["value"] == "prod"
    assert parameters["TimeRange"]["type"] == 4


# -- links from the reports, the offline plan ---------------------------------------------------


def check_report(fake: FakeAzure, outputs: StackOutputs):
    from checks.endpoints import Endpoints
    from checks.runner import CheckOptions, run_check

    profile = cloud_profile("public", arm_endpoint=fake.url, metrics_endpoint=fake.url, logs_endpoint=fake.url)
    access = AzureAccess(
        profile, lambda: FakeCredential(), retries=0, client_kwargs={"connection_verify": str(fake.cert)}
    )
    options = CheckOptions(source="azure", only=["container-cpu"], conformance=False)
    return run_check(outputs, load_targets(), Endpoints(), options, access)


def test_check_reports_link_to_the_workbook_when_the_outputs_name_one(fake: FakeAzure) -> None:
    from checks.render import render_html, render_markdown

    outputs = outputs_of(plan("prod"))
    assert outputs.workbook is not None
    report = check_report(fake, outputs)
    assert report.workbook_url == outputs.workbook.url
    assert f"[Azure Monitor workbook](<{outputs.workbook.url}>)" in render_markdown(report)
    assert f'<a href="{outputs.workbook.url}">Azure Monitor workbook</a>' in render_html(report)

    without = check_report(fake, outputs.model_copy(update={"workbook": None}))
    assert without.workbook_url is None
    assert "workbook" not in render_markdown(without).lower()
    assert "Azure Monitor workbook" not in render_html(without)


def test_plan_markdown_lists_the_workbook_sections() -> None:
    from infra.plan.command.render import plan_document, render_markdown

    text = render_markdown(plan_document(plan("dev")))
    section = text.split("#### Workbook: fin-agent targets (dev)", 1)[1].split("####", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| target")]
    assert [row.split("|")[1].strip() for row in rows] == [t.id for t in load_targets().targets]
    assert "metric chart CpuUsage (Average, PT1M, per containerName) on 1 resource(s)" in section
    assert "metric tiles (containerName=backend)" in section
    assert "KQL chart AppRequests with target and critical lines" in section


def test_plan_json_carries_the_workbook_sections_and_says_when_only_probes_judge(tmp_path: Path) -> None:
    from infra.plan.command.render import plan_document

    data = yaml.safe_load(TARGETS_FILE.read_text())
    page = next(t for t in data["targets"] if t["id"] == "page-load")
    page["measure"] = [m for m in page["measure"] if m["source"] == "probe"]
    changed = tmp_path / "targets.yaml"
    changed.write_text(yaml.safe_dump(data))
    workbook = plan_document(plan("prod", targets_file=changed))["workbook"]
    shows = {s["target"]: s["shows"] for s in workbook["sections"]}
    assert shows["page-load"] == "text: Measured by direct probes only on this stack: page-load on service:web (/)"
    assert shows["api-latency"].startswith("metric chart ResponseTime (Average, PT1M) on 1 resource(s)")


def test_the_program_builds_the_workbook_without_loading_azure_client_libraries() -> None:
    import subprocess
    import sys

    probe = (
        "import sys, infra.program, infra.workbook; "
        "print(sorted(m for m in sys.modules if m.startswith(('azure.', 'checks.sources', 'checks.runner'))))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
