"""Render a plan as a stable JSON document, a terminal table, or Markdown for a CI summary.

The JSON form is a contract (documented in docs/plan-and-policy.md, "Plan JSON"): keys sorted, resources
ordered by URN, secrets replaced by "[secret]", no timestamps, so CI can diff the plan of a
pull request against main's.
"""

from __future__ import annotations

import io
import json
from typing import Any

from pulumi.runtime import rpc
from rich.table import Table

from checks.escaping import markdown_environment
from checks.terminal import table_console
from infra.paths import TEMPLATES_DIR
from infra.plan.command.summaries import summarize
from infra.plan.command.watch_section import watch_rows
from infra.plan.command.workbook_section import workbook_rows
from infra.plan.engine.runner import PlannedResource, PlanResult
from infra.policy.render import policy_tables, preconditions_tables

PLAN_SCHEMA_VERSION = 1
SECRET_MASK = "[secret]"


# Inside an object the engine marked secret as a whole (Pulumi marks an input object secret
# when any value in it is), only these keys are shown; every other value stays masked.
KEYS_SHOWN_INSIDE_SECRETS = frozenset(
    {
        # Container Apps configuration
        "activeRevisionsMode",
        "allowInsecure",
        "external",
        "identity",
        "ingress",
        "keyVaultUrl",
        "latestRevision",
        "name",
        "registries",
        "secrets",
        "server",
        "targetPort",
        "traffic",
        "transport",
        "weight",
        # container-group containers
        "cpu",
        "environmentVariables",
        "failureThreshold",
        "httpGet",
        "image",
        "initialDelaySeconds",
        "limits",
        "livenessProbe",
        "logAnalytics",
        "logType",
        "memoryInGB",
        "path",
        "periodSeconds",
        "port",
        "ports",
        "protocol",
        "readinessProbe",
        "requests",
        "resources",
        "scheme",
        "successThreshold",
        "timeoutSeconds",
        "workspaceId",
        "workspaceResourceId",
    }
)


def mask_secrets(value: Any, inside_secret: bool = False) -> Any:
    """A copy of `value` fit to show: secrets masked, integral numbers as integers.

    A secret scalar is always masked. A secret object is opened only to show the keys in
    KEYS_SHOWN_INSIDE_SECRETS (e.g. a Container App's ingress inside its configuration,
    which holds the app's secrets), so the plan stays readable and never shows a secret.
    """
    if rpc.is_rpc_secret(value):
        inner = rpc.unwrap_rpc_secret(value)
        return mask_secrets(inner, inside_secret=True) if isinstance(inner, (dict, list)) else SECRET_MASK
    if isinstance(value, dict):
        return {k: _mask_entry(k, v, inside_secret) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_secrets(v, inside_secret) for v in value]
    if inside_secret:
        return SECRET_MASK
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _mask_entry(key: str, value: Any, inside_secret: bool) -> Any:
    if not inside_secret:
        return mask_secrets(value)
    if key not in KEYS_SHOWN_INSIDE_SECRETS:
        return SECRET_MASK
    if isinstance(value, (dict, list, tuple)) or rpc.is_rpc_secret(value):
        return mask_secrets(value, inside_secret=True)
    return mask_secrets(value)


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
        "watch": watch_rows(result),
        "workbook": workbook_rows(result),
    }
    document.update(extra_sections or {})
    return document


def render_json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, default=str) + "\n"


def render_table(document: dict[str, Any], width: int | None = None, colour: bool = False) -> str:
    buffer = io.StringIO()
    # Every value is text: with markup on, "[containerName=...]" vanished and "[/x]" raised MarkupError.
    console = table_console(buffer, width, colour)
    custom = sorted(
        (r for r in document["resources"] if not r["component"]), key=lambda r: (r["type"], r["azureName"] or r["name"])
    )
    title = f"fin-agent / {document['stack']}: {len(custom)} resources ({document['platform']}, {document['location']})"
    table = Table(title=title, show_lines=False)
    table.add_column("type", overflow="fold")
    table.add_column("azure name", overflow="fold")
    table.add_column("settings that matter", overflow="fold")
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
            table.add_column(column, overflow="fold")
        for row in watch:
            table.add_row(row["target"], row["how"], row.get("thresholds", ""), row.get("detail", ""))
        tables.append(table)
    workbook = document.get("workbook")
    if workbook:
        table = Table(title=f"Workbook sections ({workbook['name']})")
        for column in ("target", "shows"):
            table.add_column(column, overflow="fold")
        for section in workbook["sections"]:
            table.add_row(section["target"], section["shows"])
        tables.append(table)
    tables += policy_tables(document.get("policy"))
    tables += preconditions_tables(document.get("preconditions"))
    return tables


def render_markdown(document: dict[str, Any]) -> str:
    environment = markdown_environment(TEMPLATES_DIR)
    template = environment.get_template("plan.md.j2")
    return template.render(doc=document, short_type=_short_type)


RENDERERS = {"json": render_json, "table": render_table, "markdown": render_markdown}
