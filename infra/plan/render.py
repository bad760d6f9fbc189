"""Render a plan as a stable JSON document, a terminal table, or Markdown for a CI summary.

The JSON form is a contract (documented in the README, "Plan JSON"): keys sorted, resources
ordered by URN, secrets replaced by "[secret]", no timestamps, so CI can diff the plan of a
pull request against main's.
"""

from __future__ import annotations

import io
import json
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pulumi.runtime import rpc
from rich.console import Console
from rich.table import Table

from infra.paths import TEMPLATES_DIR
from infra.plan.runner import PlannedResource, PlanResult
from infra.plan.summaries import summarize
from infra.policy.render import policy_tables

PLAN_SCHEMA_VERSION = 1
SECRET_MASK = "[secret]"


def mask_secrets(value: Any) -> Any:
    """A copy of `value` with every engine-wrapped secret replaced by the mask."""
    if rpc.is_rpc_secret(value):
        return SECRET_MASK
    if isinstance(value, dict):
        return {k: mask_secrets(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_secrets(v) for v in value]
    return value


def _azure_name(resource: PlannedResource) -> str | None:
    if not resource.custom or not resource.resource_id:
        return None
    return resource.resource_id.rsplit("/", 1)[-1]


def _short_type(type_token: str) -> str:
    return type_token.removeprefix("azure-native:")


def resource_entry(resource: PlannedResource) -> dict[str, Any]:
    return {
        "type": resource.type,
        "name": resource.name,
        "azureName": _azure_name(resource),
        "parent": resource.parent_name,
        "component": not resource.custom,
        "protect": resource.protect,
        "summary": summarize(resource),
        "inputs": mask_secrets(resource.inputs) if resource.custom else {},
    }


def plan_document(result: PlanResult, extra_sections: dict[str, Any] | None = None) -> dict[str, Any]:
    settings = result.loaded.settings
    outputs = {
        key: (SECRET_MASK if key in result.secret_outputs else mask_secrets(value))
        for key, value in result.outputs.items()
    }
    document: dict[str, Any] = {
        "schemaVersion": PLAN_SCHEMA_VERSION,
        "project": "fin-agent",
        "stack": result.stack,
        "environment": settings.environment,
        "location": settings.location,
        "platform": settings.compute.platform,
        "cacheTier": settings.redis.tier,
        "notices": list(result.loaded.notices),
        "resources": [resource_entry(r) for r in result.resources],
        "outputs": outputs,
    }
    document.update(extra_sections or {})
    return document


def render_json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, default=str) + "\n"


def render_table(document: dict[str, Any], width: int = 160) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, no_color=True, highlight=False)
    custom = [r for r in document["resources"] if not r["component"]]
    title = f"fin-agent / {document['stack']}: {len(custom)} resources ({document['platform']}, {document['location']})"
    table = Table(title=title, show_lines=False)
    table.add_column("type", no_wrap=True)
    table.add_column("azure name", no_wrap=True)
    table.add_column("settings that matter")
    for resource in custom:
        name = resource["azureName"] or resource["name"]
        if resource["protect"]:
            name += " (protected)"
        table.add_row(_short_type(resource["type"]), name, resource["summary"])
    console.print(table)
    for section in _extra_table_sections(document):
        console.print(section)
    if document["notices"]:
        console.print("Notices:")
        for notice in document["notices"]:
            console.print(f"  ! {notice}")
    return buffer.getvalue()


def _extra_table_sections(document: dict[str, Any]) -> list[Table]:
    tables = []
    watch = document.get("watch")
    if watch:
        table = Table(title="How each target is watched")
        for column in ("target", "watched by", "thresholds (warning / critical)", "detail"):
            table.add_column(column)
        for row in watch:
            table.add_row(row["target"], row["how"], row.get("thresholds", ""), row.get("detail", ""))
        tables.append(table)
    tables += policy_tables(document.get("policy"))
    return tables


def render_markdown(document: dict[str, Any]) -> str:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    template = environment.get_template("plan.md.j2")
    return template.render(doc=document, short_type=_short_type)


RENDERERS = {"json": render_json, "table": render_table, "markdown": render_markdown}
