"""GitHub Actions, detected from the environment: annotations for what failed or warned, and the
Markdown report appended to the job summary.

- `GITHUB_ACTIONS=true` (set on every runner): FAIL rows, mandatory policy violations and unmet
  preconditions become `::error` lines; WARN and NO_DATA rows, advisory violations and preconditions
  become `::warning` lines
  (https://docs.github.com/actions/reference/workflows-and-actions/workflow-commands).
  They go to stderr, so a JSON or JUnit report on stdout stays clean; the runner reads workflow
  commands from both streams (observed: overengineeringstudio/effect-utils pull request 969).
- `GITHUB_STEP_SUMMARY` (a file path): the Markdown report is appended to it.

Escaping follows the runner's toolkit (actions/toolkit packages/core/src/command.ts,
`escapeData` / `escapeProperty`): in the message `%`, CR and LF; in a property also `:` and `,`.
Without that, a finding with a newline would end the annotation early and a title with `::`
would end the properties.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Level = Literal["error", "warning", "notice"]
MAX_MESSAGE = 4000  # one annotation stays readable; the report holds the rest


@dataclass(frozen=True)
class Annotation:
    level: Level
    title: str
    message: str
    file: str | None = None

    def line(self) -> str:
        properties = [f"title={escape_property(self.title)}"]
        if self.file:
            properties.insert(0, f"file={escape_property(self.file)}")
        return f"::{self.level} {','.join(properties)}::{escape_data(self.message[:MAX_MESSAGE])}"


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def in_actions(environ: Mapping[str, str] | None = None) -> bool:
    return (os.environ if environ is None else environ).get("GITHUB_ACTIONS") == "true"


def emit(annotations: Iterable[Annotation], environ: Mapping[str, str] | None = None) -> int:
    """Print the annotations to stderr when running in GitHub Actions; how many were printed."""
    if not in_actions(environ):
        return 0
    count = 0
    for annotation in annotations:
        print(annotation.line(), file=sys.stderr, flush=True)
        count += 1
    return count


def append_step_summary(markdown: str, environ: Mapping[str, str] | None = None) -> Path | None:
    """Append `markdown` to `$GITHUB_STEP_SUMMARY` when it is set; the file written, or None.

    A summary that cannot be written is reported on stderr and otherwise ignored: the job summary
    is a courtesy, never a reason to change a verdict's exit code.
    """
    target = (os.environ if environ is None else environ).get("GITHUB_STEP_SUMMARY", "")
    if not target:
        return None
    path = Path(target)
    try:
        with path.open("a", encoding="utf-8") as summary:
            summary.write(markdown if markdown.endswith("\n") else markdown + "\n")
    except OSError as error:
        print(f"GITHUB_STEP_SUMMARY {path}: not written ({error.strerror or error})", file=sys.stderr)
        return None
    return path


def report_annotations(report: Any, command: str) -> list[Annotation]:
    """FAIL -> error, WARN / NO_DATA -> warning, for every target row and conformance row of a check or load test."""
    found = []
    for result in report.targets:
        level = _verdict_level(result.verdict)
        if level:
            title = f"fin-infra {command} {report.stack}: {result.id} {result.verdict}"
            found.append(Annotation(level, title, result.summary))
    for row in report.conformance:
        level = _verdict_level(row.verdict)
        if level:
            title = f"fin-infra {command} {report.stack}: conformance {row.check} {row.verdict}"
            detail = f"{row.resource.rsplit('/', 1)[-1]}: declared {row.declared}, live {row.live or '-'}"
            found.append(Annotation(level, title, f"{detail}. {row.reason or ''}".strip()))
    return found


def policy_annotations(document: Mapping[str, Any], stack_file: str | None = None) -> list[Annotation]:
    """Mandatory violations / unmet preconditions -> error, advisory ones -> warning, on the stack file."""
    stack = document.get("stack", "")
    found = []
    for violation in (document.get("policy") or {}).get("violations", []):
        level: Level = "error" if violation["enforcement"] == "mandatory" else "warning"
        title = f"fin-infra policy {stack}: {violation['rule']} ({violation['enforcement']})"
        message = f"{violation['resource']}: {violation['message']} Remediation: {violation['remediation']}"
        found.append(Annotation(level, title, message, stack_file))
    for violation in (document.get("preconditions") or {}).get("violations", []):
        level = "error" if violation["level"] == "mandatory" else "warning"
        title = f"fin-infra precondition {stack}: {violation['precondition']} ({violation['level']})"
        message = f"{violation['resource']}: {violation['message']} Remediation: {violation['remediation']}"
        found.append(Annotation(level, title, message, stack_file))
    return found


def _verdict_level(verdict: str) -> Level | None:
    return {"FAIL": "error", "WARN": "warning", "NO_DATA": "warning"}.get(verdict)


def publish_report(report: Any, command: str, environ: Mapping[str, str] | None = None) -> None:
    """A check or load-test report in GitHub Actions: its annotations, and its Markdown in the job summary."""
    from checks.render import render_markdown  # the renderers import Jinja2; only needed here

    emit(report_annotations(report, command), environ)
    append_step_summary(render_markdown(report), environ)


def publish_policy(
    document: Mapping[str, Any], markdown: str, stack_file: str | None, environ: Mapping[str, str] | None = None
) -> None:
    """The policy verdict and preconditions in GitHub Actions: annotations on the stack file, Markdown summary."""
    emit(policy_annotations(document, stack_file), environ)
    append_step_summary(markdown, environ)
