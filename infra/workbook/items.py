"""The workbook JSON vocabulary: one function per kind of item, returning plain dicts.

The shapes follow the workbook schema of microsoft/Application-Insights-Workbooks
(`schema/workbook.json`, vendored in tests/fixtures/workbook/ with its commit) and, for the
enum values the schema leaves as bare integers, the gallery templates of that repository at
commit 1ea1c77b0fa740e5e330dbc1434d6e7e1ebbc491 (`Workbooks/**/*.workbook`): metric
aggregations (`columnName` labels: 1 Sum/Total, 2 Min, 3 Max, 4 Average, 7 Count), metric
chart types (2 line chart, -1 tiles with `tileSettings`), metric filter operator 0 (equals),
time-range parameters (type 4) and `{TimeRange:startISO}` (Documentation/Parameters/Time.md).
Nothing here knows about targets: `infra.workbook.content` decides what to show.
"""

from __future__ import annotations

from typing import Any

SCHEMA_URL = "https://github.com/Microsoft/Application-Insights-Workbooks/blob/master/schema/workbook.json"
NOTEBOOK_VERSION = "Notebook/1.0"

MARKDOWN, QUERY, PARAMETERS, METRIC, LINKS, GROUP = 1, 3, 9, 10, 11, 12
AGGREGATION = {"Total": 1, "Minimum": 2, "Maximum": 3, "Average": 4, "Count": 7}
CHART_LINE, CHART_TILES = 2, -1
QUERY_LOGS = 0
PARAM_TEXT, PARAM_TIME_RANGE = 1, 4
FILTER_EQUALS = 0
FORMAT_TEXT, FORMAT_RESOURCE, FORMAT_THRESHOLDS = 1, 13, 18
WORKSPACE_TYPE = "microsoft.operationalinsights/workspaces"


def markdown(name: str, text: str, style: str | None = None) -> dict[str, Any]:
    content: dict[str, Any] = {"json": text}
    if style:
        content["style"] = style
    return {"type": MARKDOWN, "content": content, "name": name}


def group(name: str, title: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": GROUP,
        "content": {"version": "NotebookGroup/1.0", "groupType": "editable", "title": title, "items": items},
        "name": name,
    }


def time_range(name: str, label: str, duration_ms: int, description: str) -> dict[str, Any]:
    return {
        "id": name,
        "version": "KqlParameterItem/1.0",
        "name": name,
        "label": label,
        "type": PARAM_TIME_RANGE,
        "isRequired": True,
        "value": {"durationMs": duration_ms},
        "description": description,
        "typeSettings": {
            "selectableValues": [
                {"durationMs": ms}
                for ms in sorted({duration_ms, 900_000, 3_600_000, 14_400_000, 86_400_000, 604_800_000})
            ],
            "allowCustom": True,
        },
    }


def text_parameter(name: str, label: str, value: str, description: str) -> dict[str, Any]:
    return {
        "id": name,
        "version": "KqlParameterItem/1.0",
        "name": name,
        "label": label,
        "type": PARAM_TEXT,
        "isRequired": True,
        "value": value,
        "description": description,
    }


def parameters(name: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": PARAMETERS,
        "content": {"version": "KqlParameterItem/1.0", "style": "pills", "queryType": QUERY_LOGS, "parameters": items},
        "name": name,
    }


def links(name: str, entries: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "type": LINKS,
        "content": {
            "version": "LinkItem/1.0",
            "style": "bullets",
            "links": [
                {"id": f"{name}-{index}", "cellValue": url, "linkTarget": "Url", "linkLabel": label, "style": "link"}
                for index, (label, url) in enumerate(entries, start=1)
            ],
        },
        "name": name,
    }


def metric_id(namespace: str, metric: str) -> str:
    """The workbook's metric id: `<namespace>-<category>-<name>`, no category for platform metrics."""
    return f"{namespace.lower()}--{metric}"


def metric_series(
    namespace: str, metric: str, aggregation: str, split: str | None, filters: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    series: dict[str, Any] = {
        "namespace": namespace.lower(),
        "metric": metric_id(namespace, metric),
        "aggregation": AGGREGATION[aggregation],
        "splitBy": split,
    }
    if filters:
        series["filters"] = filters
    return series


def equals_filter(dimension: str, value: str) -> dict[str, Any]:
    return {"key": dimension, "operator": FILTER_EQUALS, "values": [value]}


def metric_chart(
    name: str,
    title: str,
    namespace: str,
    resource_ids: list[str],
    series: list[dict[str, Any]],
    grain: str,
    time_parameter: str,
) -> dict[str, Any]:
    return {
        "type": METRIC,
        "content": {
            "chartId": name,
            "version": "MetricsItem/2.0",
            "size": 0,
            "chartType": CHART_LINE,
            "resourceType": namespace.lower(),
            "metricScope": 0,
            "resourceIds": list(resource_ids),
            "timeContextFromParameter": time_parameter,
            "timeContext": {"durationMs": 0},
            "timeGrain": grain,
            "metrics": series,
            "title": title,
            "gridSettings": {"rowLimit": 10000},
        },
        "name": name,
    }


def metric_tiles(
    name: str,
    title: str,
    namespace: str,
    resource_ids: list[str],
    series: list[dict[str, Any]],
    time_parameter: str,
    thresholds: list[dict[str, Any]] | None,
) -> dict[str, Any]:
    value: dict[str, Any] = {"columnMatch": "Value", "formatter": FORMAT_THRESHOLDS if thresholds else FORMAT_TEXT}
    if thresholds:
        value["formatOptions"] = {"thresholdsOptions": "colors", "thresholdsGrid": thresholds}
    return {
        "type": METRIC,
        "content": {
            "chartId": name,
            "version": "MetricsItem/2.0",
            "size": 4,
            "chartType": CHART_TILES,
            "resourceType": namespace.lower(),
            "metricScope": 0,
            "resourceIds": list(resource_ids),
            "timeContextFromParameter": time_parameter,
            "timeContext": {"durationMs": 0},
            "metrics": series,
            "gridFormatType": 1,
            "title": title,
            "tileSettings": {
                "titleContent": {"columnMatch": "Name", "formatter": FORMAT_RESOURCE},
                "subtitleContent": {"columnMatch": "Segment", "formatter": FORMAT_TEXT},
                "leftContent": value,
                "secondaryContent": {"columnMatch": "Metric", "formatter": FORMAT_TEXT},
                "showBorder": True,
                "size": "auto",
            },
        },
        "name": name,
    }


def logs_query(
    name: str,
    title: str,
    query: str,
    workspace_id: str,
    time_parameter: str,
    visualization: str,
    *,
    chart_settings: dict[str, Any] | None = None,
    tile_settings: dict[str, Any] | None = None,
) -> dict[str, Any]:
    content: dict[str, Any] = {
        "version": "KqlItem/1.0",
        "query": query,
        "size": 0 if visualization == "timechart" else 4,
        "title": title,
        "timeContextFromParameter": time_parameter,
        "queryType": QUERY_LOGS,
        "resourceType": WORKSPACE_TYPE,
        "crossComponentResources": [workspace_id],
        "visualization": visualization,
        "noDataMessage": "No data in this time range: fin-infra check would say NO_DATA, never PASS.",
    }
    if chart_settings:
        content["chartSettings"] = chart_settings
    if tile_settings:
        content["tileSettings"] = tile_settings
    return {"type": QUERY, "content": content, "name": name}


def threshold_rule(operator: str, value: float | None, colour: str, text: str) -> dict[str, Any]:
    return {
        "operator": operator,
        "thresholdValue": None if value is None else f"{value:.12g}",
        "representation": colour,
        "text": text,
    }


def notebook(items: list[dict[str, Any]], fallback_resource_ids: list[str]) -> dict[str, Any]:
    return {
        "version": NOTEBOOK_VERSION,
        "items": items,
        "fallbackResourceIds": fallback_resource_ids,
        "$schema": SCHEMA_URL,
    }
