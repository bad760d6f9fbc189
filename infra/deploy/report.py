"""The deploy report: what each stage did, as JSON (for tools) and Markdown (for the CI job summary).

Written at the end of every deploy, failed or not, into the output directory
(`deploy-report.json`, `deploy-report.md`). It names files and counts, never values of
secrets (the outputs file itself is masked).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from checks.escaping import markdown_environment
from infra.deploy.pipeline import DeployReport
from infra.paths import TEMPLATES_DIR

REPORT_SCHEMA_VERSION = 1


def report_document(report: DeployReport) -> dict[str, Any]:
    return {
        "schemaVersion": REPORT_SCHEMA_VERSION,
        "project": "fin-agent",
        "stack": report.stack,
        "environment": report.environment,
        "dryRun": report.dry_run,
        "exitCode": int(report.exit_code),
        "outcome": report.exit_code.name.lower().replace("_", "-"),
        "stages": [
            {"name": s.name, "status": s.status, "seconds": s.seconds, "detail": s.detail, "data": s.data}
            for s in report.stages
        ],
        "policyViolations": report.policy_violations,
    }


def render_markdown(document: dict[str, Any]) -> str:
    environment = markdown_environment(TEMPLATES_DIR)
    return environment.get_template("deploy.md.j2").render(doc=document)


def write_reports(report: DeployReport, output_dir: Path) -> tuple[Path, Path]:
    document = report_document(report)
    output_dir.mkdir(parents=True, exist_ok=True)
    json_path = output_dir / "deploy-report.json"
    markdown_path = output_dir / "deploy-report.md"
    json_path.write_text(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    markdown_path.write_text(render_markdown(document), encoding="utf-8")
    return json_path, markdown_path
