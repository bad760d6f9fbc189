"""The plan's "workbook" section: what each target's section of the planned workbook shows.

Read from the planned `Microsoft.Insights/workbooks` resource's `serializedData` (the JSON
`pulumi up` would send), not rebuilt, so the plan shows what would be deployed: per target,
its charts (metric or KQL) and tiles, or the text that says how probes judge it.
"""

from __future__ import annotations

import json
from typing import Any

from infra.plan.engine.runner import PlanResult
from infra.workbook.items import AGGREGATION, CHART_LINE, GROUP, MARKDOWN, METRIC, QUERY

WORKBOOK = "azure-native:applicationinsights:Workbook"
_AGGREGATION_NAMES = {code: name for name, code in AGGREGATION.items()}


def _metric(content: dict[str, Any]) -> str:
    series = content.get("metrics") or [{}]
    names = ", ".join(str(s.get("metric", "?")).split("--", 1)[-1] for s in series)
    first = series[0]
    split = f", per {first['splitBy']}" if first.get("splitBy") else ""
    aggregation = _AGGREGATION_NAMES.get(first.get("aggregation"), "?")
    if content.get("chartType") == CHART_LINE:
        count = len(content.get("resourceIds") or [])
        return f"metric chart {names} ({aggregation}, {content.get('timeGrain')}{split}) on {count} resource(s)"
    filters = [f"{f['key']}={','.join(f['values'])}" for s in series for f in s.get("filters") or []]
    return "metric tiles" + (f" ({'; '.join(sorted(set(filters)))})" if filters else "")


def _query(content: dict[str, Any]) -> str:
    table = str(content.get("query", "")).split("|", 1)[0].strip()
    if content.get("visualization") == "timechart":
        return f"KQL chart {table} with target and critical lines"
    return f"KQL tile {table} (the check's query)"


def _shows(items: list[dict[str, Any]]) -> str:
    parts = []
    for item in items:
        content = item.get("content") or {}
        if item.get("type") == METRIC:
            parts.append(_metric(content))
        elif item.get("type") == QUERY:
            parts.append(_query(content))
    if parts:
        return "; ".join(parts)
    texts = [str(i["content"].get("json", "")) for i in items if i.get("type") == MARKDOWN]
    first_sentence = texts[-1].replace("*", "").replace("`", "").split(". ", 1)[0] if texts else "nothing"
    return f"text: {first_sentence}"


def workbook_rows(result: PlanResult) -> dict[str, Any] | None:
    found = result.of_type(WORKBOOK)
    if not found:
        return None
    inputs = found[0].inputs
    document = json.loads(inputs["serializedData"])
    sections = [
        {
            "target": item["name"].removeprefix("target-"),
            "title": item["content"].get("title", ""),
            "shows": _shows(item["content"].get("items") or []),
        }
        for item in document.get("items", [])
        if item.get("type") == GROUP
    ]
    return {"name": inputs.get("displayName"), "sections": sections}
