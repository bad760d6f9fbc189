"""Render a tune: a Markdown summary for a pull request (Jinja2), JSON, or the bare patch."""

from __future__ import annotations

import json
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from checks.tune.model import TuneResult

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"


ICONS = {"change": "✏️", "no-change": "✅", "no-data": "❔"}


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _show(value: object) -> str:
    """2.0 -> 2, None -> -, {'cpu': 2.0} -> (cpu=2): values as a reviewer reads them."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict):
        return "(" + ", ".join(f"{k}={_show(v)}" for k, v in value.items()) + ")"
    return str(value)


def markdown(result: TuneResult) -> str:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR / "tune"),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    environment.filters["cell"] = _cell
    environment.filters["show"] = _show
    template = environment.get_template("summary.md.j2")
    return template.render(result=result, changes=result.changes, icons=ICONS)


def as_json(result: TuneResult) -> str:
    return json.dumps(result.model_dump(mode="json", by_alias=True), indent=2) + "\n"


def patch(result: TuneResult) -> str:
    return result.patch


RENDERERS = {"markdown": markdown, "json": as_json, "patch": patch}
