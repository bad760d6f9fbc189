"""The policy section of a plan, for people: terminal tables and Markdown (CI job summaries).

The JSON form is `infra.policy.evaluate.policy_section` itself; these render that same
dictionary, so the plan's renderers and `fin-infra policy` show the same thing.
"""

from __future__ import annotations

import io
from typing import Any

from rich.table import Table

from checks.escaping import markdown_environment
from checks.terminal import table_console, verdict_text
from infra.paths import TEMPLATES_DIR


def policy_tables(section: dict[str, Any] | None) -> list[Table]:
    """Rules with their counts, then the violations (if any)."""
    if not section:
        return []
    rules = Table(title=section["verdict"])
    for column in ("rule", "pillar", "severity", "evaluated", "violations", "not applicable"):
        rules.add_column(column, overflow="fold")
    for rule in section["rules"]:
        rules.add_row(
            rule["id"],
            rule["pillar"],
            rule["severity"],
            str(rule["evaluated"]),
            str(rule["violations"]),
            str(rule["notApplicable"] + rule["undecided"]),
        )
    tables = [rules]
    if section["violations"]:
        violations = Table(title="Policy violations")
        for column in ("level", "rule", "resource", "finding", "remediation"):
            violations.add_column(column, overflow="fold")
        for violation in section["violations"]:
            violations.add_row(
                verdict_text(violation["enforcement"]),
                violation["rule"],
                violation["resource"],
                violation["message"],
                violation["remediation"],
            )
        tables.append(violations)
    return tables


def preconditions_tables(section: dict[str, Any] | None) -> list[Table]:
    """The preconditions with their status, then what is unmet (if anything)."""
    if not section:
        return []
    rules = Table(title=section["verdict"])
    for column in ("precondition", "level", "status", "must hold"):
        rules.add_column(column, overflow="fold")
    for rule in section["rules"]:
        rules.add_row(rule["id"], rule["level"], verdict_text(rule["status"]), rule["title"])
    tables = [rules]
    if section["violations"]:
        unmet = Table(title="Preconditions not met")
        for column in ("level", "precondition", "resource", "finding", "remediation"):
            unmet.add_column(column, overflow="fold")
        for violation in section["violations"]:
            unmet.add_row(
                verdict_text(violation["level"]),
                violation["precondition"],
                violation["resource"],
                violation["message"],
                violation["remediation"],
            )
        tables.append(unmet)
    return tables


def render_policy_table(document: dict[str, Any], width: int | None = None, colour: bool = False) -> str:
    buffer = io.StringIO()
    # Every value is text: with markup on, "[containerName=...]" vanished and "[/x]" raised MarkupError.
    console = table_console(buffer, width, colour)
    for table in policy_tables(document["policy"]) + preconditions_tables(document.get("preconditions")):
        console.print(table)
    return buffer.getvalue()


def render_policy_markdown(document: dict[str, Any]) -> str:
    environment = markdown_environment(TEMPLATES_DIR)
    template = environment.get_template("policy.md.j2")
    text = template.render(section=document["policy"])
    if document.get("preconditions"):
        text += environment.get_template("preconditions.md.j2").render(section=document["preconditions"])
    return text
