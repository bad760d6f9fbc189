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
    return [rules, *_violations_table(section["violations"], "Policy violations", "rule", "enforcement")]


def preconditions_tables(section: dict[str, Any] | None) -> list[Table]:
    """The preconditions with their status, then what is unmet (if anything)."""
    if not section:
        return []
    rules = Table(title=section["verdict"])
    for column in ("precondition", "level", "status", "must hold"):
        rules.add_column(column, overflow="fold")
    for rule in section["rules"]:
        rules.add_row(rule["id"], rule["level"], verdict_text(rule["status"]), rule["title"])
    return [rules, *_violations_table(section["violations"], "Preconditions not met", "precondition", "level")]


def _violations_table(violations: list[dict[str, Any]], title: str, subject: str, level: str) -> list[Table]:
    """The findings of a policy or preconditions section as one table; none when nothing failed.

    `subject` names the rule column and key ("rule", "precondition"); `level` is the key that
    holds each finding's level ("enforcement" for policy rules, "level" for preconditions).
    """
    if not violations:
        return []
    table = Table(title=title)
    for column in ("level", subject, "resource", "finding", "remediation"):
        table.add_column(column, overflow="fold")
    for violation in violations:
        table.add_row(
            verdict_text(violation[level]),
            violation[subject],
            violation["resource"],
            violation["message"],
            violation["remediation"],
        )
    return [table]


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
