"""Rollout reports: one document per rollout (its steps, checks and comparisons) as JSON, Markdown and JUnit.

Like the checks' reports (checks/render.py): JSON for tools, Markdown for the CI job summary
(template `templates/rollout.md.j2`), JUnit so CI shows each step as a test case. Each step's
own check reports (JSON, Markdown, JUnit, from `fin-infra check`) sit in
`rollout/<step>/<canary|stable>/`. Values are measurements and revision names, never secrets.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree

from checks.escaping import markdown_environment
from infra.deploy.rollout_codes import RolloutExit
from infra.paths import TEMPLATES_DIR

if TYPE_CHECKING:
    from infra.deploy.rollout import Rollout

SCHEMA_VERSION = 1


def rollout_document(stack: str, rollout: Rollout, code: RolloutExit | None, summary: str) -> dict[str, Any]:
    return {
        "schemaVersion": SCHEMA_VERSION,
        "stack": stack,
        "outcome": "plain-deploy" if code is None else code.name.lower().replace("_", "-"),
        "exitCode": 0 if code is None else int(code),
        "summary": summary,
        "steps": [step.__dict__ for step in rollout.steps],
        "ups": rollout.ups,
        "finalTraffic": _traffic(rollout.outputs),
    }


def _traffic(outputs: dict[str, Any]) -> dict[str, Any]:
    services = (outputs.get("rollout") or {}).get("services") or {}
    return {
        name: {
            "revisionMode": s.get("revisionMode"),
            "stableRevision": s.get("stableRevision"),
            "canaryRevision": s.get("canaryRevision"),
            "canaryWeight": s.get("canaryWeight"),
        }
        for name, s in services.items()
    }


def render_markdown(document: dict[str, Any]) -> str:
    environment = markdown_environment(TEMPLATES_DIR)
    return environment.get_template("rollout.md.j2").render(doc=document)


def render_junit(document: dict[str, Any]) -> str:
    steps = document["steps"]
    failures = [s for s in steps if s["verdict"] in ("FAIL", "UP_FAILED")]
    suite = ElementTree.Element(
        "testsuite",
        name=f"rollout {document['stack']}",
        tests=str(len(steps)),
        failures=str(len(failures)),
        skipped=str(sum(1 for s in steps if s["verdict"] == "NO_DATA")),
    )
    for step in steps:
        case = ElementTree.SubElement(
            suite, "testcase", classname=f"rollout.{document['stack']}", name=step["name"], time=str(step["seconds"])
        )
        if step["verdict"] in ("FAIL", "UP_FAILED"):
            ElementTree.SubElement(case, "failure", message=step["detail"][:500], type=step["verdict"])
        elif step["verdict"] == "NO_DATA":
            ElementTree.SubElement(case, "skipped", message=step["detail"][:500])
    return ElementTree.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def write_rollout_reports(stack: str, rollout: Rollout, code: RolloutExit | None, summary: str) -> list[Path]:
    document = rollout_document(stack, rollout, code, summary)
    rollout.dir.mkdir(parents=True, exist_ok=True)
    paths = [rollout.dir / "rollout-report.json", rollout.dir / "rollout-report.md", rollout.dir / "rollout-junit.xml"]
    paths[0].write_text(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    paths[1].write_text(render_markdown(document), encoding="utf-8")
    paths[2].write_text(render_junit(document), encoding="utf-8")
    return paths
