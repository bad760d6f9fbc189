"""Reports of a run in five formats, from the model only (`checks.model.Report`).

- `table`: a terminal table (rich) for people;
- `json`: the report document (schema: `checks/report.schema.json`, described in docs/checks.md);
- `junit`: JUnit XML, a test case per target and per conformance row, failing as the exit
  code does (so a CI test view and the gate agree);
- `markdown`: a CI job summary (GitHub `$GITHUB_STEP_SUMMARY`, GitLab, Azure Pipelines);
- `html`: a self-contained page with a small chart per target (its series over the window
  against the target and critical lines; no script, no external asset).

Markdown, JUnit and HTML are Jinja2 templates in `templates/checks/`; JSON is the model dumped
as is. The load-test command renders its results with the same functions.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from rich.table import Table

from checks.durations import human_duration, utc_iso
from checks.escaping import markdown_code, markdown_text, markdown_url, xml_text
from checks.model import Evidence, Policy, Report, TargetResult, format_value, threshold_text
from checks.terminal import table_console, verdict_text

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates" / "checks"
SCHEMA_FILE = Path(__file__).with_name("report.schema.json")
ICONS = {"PASS": "✅", "WARN": "⚠️", "FAIL": "❌", "NO_DATA": "❔"}
OUTCOME_ICONS = {
    "passed": "✅",
    "warnings": "⚠️",
    "failed": "❌",
    "inconclusive": "❔",
    "no data": "❔",
    "interrupted": "⏹️",
}
FILE_NAMES = {
    "table": "check-report.txt",
    "json": "check-report.json",
    "junit": "check-report.junit.xml",
    "markdown": "check-report.md",
    "html": "check-report.html",
}


def report_schema() -> dict[str, Any]:
    """The JSON Schema of the report document (kept in `checks/report.schema.json`)."""
    schema = Report.model_json_schema(by_alias=True, mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "fin-infra check report"
    return schema


def write_schema(path: Path = SCHEMA_FILE) -> None:
    """Regenerate `checks/report.schema.json` from the model (a test keeps the two equal)."""
    path.write_text(json.dumps(report_schema(), indent=2, sort_keys=True) + "\n", encoding="utf-8")


def render_json(report: Report) -> str:
    return json.dumps(report.to_json_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _cell(value: Any) -> str:
    """A table cell's text; `markdown_text` (the environment's finalize) escapes it."""
    return str(value)


def _value(row: Evidence | TargetResult) -> str:
    return format_value(row.value, row.thresholds.unit, row.lower_bound)


def _bound(thresholds: Any, which: str) -> str:
    sign = "<" if thresholds.better == "lower" else ">"
    return f"{sign} {format_value(getattr(thresholds, which), thresholds.unit)}"


def query_text(query: dict[str, Any]) -> str:
    """One line a reader can repeat: the metric query, the KQL, or the probe and its bounds."""
    if "kql" in query:
        return " ".join(str(query["kql"]).split())
    if query.get("api") == "metrics:getBatch":
        parts = [
            f"{query.get('namespace')} {'+'.join(query.get('metrics', []))}",
            f"{query.get('aggregation')} per {query.get('grain')}",
        ]
        if query.get("filter"):
            parts.append(f"filter {query['filter']}")
        if query.get("derive"):
            parts.append(f"derive {query['derive'].get('kind')}")
        if query.get("timespan"):
            parts.append(f"over {query['timespan']}")
        return ", ".join(parts)
    return ", ".join(f"{k}={v}" for k, v in query.items())


def junit_status(verdict: str, policy: Policy) -> str:
    """failure / error / skipped / passed for one verdict, consistent with the exit code."""
    if verdict == "FAIL":
        return "failure"
    if verdict == "WARN":
        return "failure" if policy.fail_on == "warn" else "passed"
    if verdict == "NO_DATA":
        if policy.no_data == "fail":
            return "error"
        if policy.no_data == "warn" and policy.fail_on == "warn":
            return "failure"
        return "skipped"
    return "passed"


# -- charts ------------------------------------------------------------------------------------

CHART_WIDTH, CHART_HEIGHT = 360, 120
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 44, 8, 8, 18
COLORS = {"PASS": "#1a7f37", "WARN": "#9a6700", "FAIL": "#cf222e", "NO_DATA": "#6e7781"}


def chart(result: TargetResult, max_series: int = 8) -> dict[str, Any] | None:
    """SVG geometry for a target: its rows' series (worst first) and the two threshold lines."""
    rows = [row for row in result.evidence if row.series or row.value is not None][:max_series]
    if not rows:
        return None
    points = [(p.time, p.value) for row in rows for p in row.series]
    singles = [(row.window.end, row.value) for row in rows if not row.series and row.value is not None]
    times = [t for t, _ in points + singles]
    values = [v for _, v in points + singles if v is not None]
    t0, t1 = min(times), max(times)
    for row in rows:
        t0, t1 = min(t0, row.window.start), max(t1, row.window.end)
    span = max((t1 - t0).total_seconds(), 1.0)
    thresholds = result.thresholds
    top = max([*values, thresholds.target, thresholds.critical]) * 1.1 or 1.0
    if thresholds.unit == "percent":
        top = max(top, 100.0) if thresholds.better == "higher" else top
    plot_w = CHART_WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = CHART_HEIGHT - PAD_TOP - PAD_BOTTOM

    def x(moment: datetime) -> float:
        return round(PAD_LEFT + plot_w * (moment - t0).total_seconds() / span, 1)

    def y(value: float) -> float:
        return round(PAD_TOP + plot_h * (1 - min(max(value, 0.0), top) / top), 1)

    lines = []
    dots = []
    for row in rows:
        color = COLORS[row.verdict]
        if len(row.series) > 1:
            ordered = sorted(row.series, key=lambda p: p.time)
            lines.append(
                {"points": " ".join(f"{x(p.time)},{y(p.value)}" for p in ordered), "color": color, "label": row.label}
            )
        elif row.series:
            dots.append({"x": x(row.series[0].time), "y": y(row.series[0].value), "color": color, "label": row.label})
        elif row.value is not None:
            dots.append({"x": x(row.window.end), "y": y(row.value), "color": color, "label": row.label})
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "left": PAD_LEFT,
        "right": CHART_WIDTH - PAD_RIGHT,
        "bottom": CHART_HEIGHT - PAD_BOTTOM,
        "top": PAD_TOP,
        "lines": lines,
        "dots": dots,
        "target_y": y(thresholds.target),
        "critical_y": y(thresholds.critical),
        "target_label": format_value(thresholds.target, thresholds.unit),
        "critical_label": format_value(thresholds.critical, thresholds.unit),
        "top_label": format_value(top, thresholds.unit),
        "show_top_label": min(y(thresholds.target), y(thresholds.critical)) - PAD_TOP > 14,
        "start_label": t0.strftime("%H:%M:%S"),
        "end_label": t1.strftime("%H:%M:%S"),
    }


# -- templates ---------------------------------------------------------------------------------


def _environment(autoescape: bool) -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=autoescape,
        # Every value is text: escaped for Markdown, or cleaned of what XML forbids before autoescape.
        finalize=xml_text if autoescape else markdown_text,
    )
    environment.filters.update(
        cell=_cell,
        code=markdown_code,
        url=markdown_url,
        iso=utc_iso,
        query_text=query_text,
        value=_value,
        fmt=format_value,
        bound=_bound,
        thresholds=threshold_text,
        duration=human_duration,
    )
    environment.globals.update(icons=ICONS, outcome_icons=OUTCOME_ICONS, junit_status=junit_status, chart=chart)
    return environment


def _context(report: Report) -> dict[str, Any]:
    return {"report": report, "counts": report.counts(), "window_length": report.window.duration}


def render_markdown(report: Report) -> str:
    return _environment(False).get_template("report.md.j2").render(**_context(report))


def render_junit(report: Report) -> str:
    return _environment(True).get_template("report.junit.xml.j2").render(**_context(report))


def render_html(report: Report) -> str:
    return _environment(True).get_template("report.html.j2").render(**_context(report))


def render_table(report: Report, width: int | None = None, colour: bool = False) -> str:
    buffer = io.StringIO()
    # Every value is text: with markup on, "[containerName=...]" vanished and "[/x]" raised MarkupError.
    console = table_console(buffer, width, colour)
    title = (
        f"{report.project} / {report.stack}: {report.outcome} (exit {report.exit_code}) - "
        f"{utc_iso(report.window.start)} to {utc_iso(report.window.end)}, sources {', '.join(report.sources)}"
    )
    table = Table(title=title, title_justify="left")
    for column in ("verdict", "target", "value", "target", "critical", "source", "samples", "detail"):
        table.add_column(column, overflow="fold")
    for result in report.targets:
        samples = sum(e.samples for e in result.evidence if result.source and e.source.startswith(result.source))
        table.add_row(
            verdict_text(result.verdict),
            f"{result.id} ({result.statistic})",
            _value(result),
            _bound(result.thresholds, "target"),
            _bound(result.thresholds, "critical"),
            result.source or "-",
            str(samples) if result.source else "-",
            result.summary,
        )
    console.print(table)
    if report.conformance:
        conformance = Table(title="Conformance (live vs declared)", title_justify="left")
        for column in ("verdict", "check", "resource", "declared", "live", "reason"):
            conformance.add_column(column, overflow="fold")
        for row in report.conformance:
            conformance.add_row(
                verdict_text(row.verdict),
                row.check,
                row.resource.rsplit("/", 1)[-1],
                row.declared,
                row.live or "-",
                row.reason or "",
            )
        console.print(conformance)
    for note in report.notes:
        console.print(f"note: {note}")
    return buffer.getvalue()


RENDERERS: dict[str, Callable[[Report], str]] = {
    "table": render_table,
    "json": render_json,
    "junit": render_junit,
    "markdown": render_markdown,
    "html": render_html,
}
