"""The per-stack Azure Monitor workbook: its content as data, its name and its portal link.

Pure functions, no resources: `infra.components.workbook` declares the resource, the offline
plan and the tests read the same content. See docs/workbook.md.
"""

from __future__ import annotations

import json
from typing import Any

from checks.outputs import parse_outputs
from checks.targets import TargetTable
from infra.workbook.content import WorkbookError, build_workbook
from infra.workbook.link import display_name, portal_url, workbook_name

__all__ = ["WorkbookError", "build_workbook", "display_name", "portal_url", "serialized_data", "workbook_name"]


def serialized_data(table: TargetTable, outputs: dict[str, Any], report_url: str | None = None) -> str:
    """`serializedData` for the stack whose (resolved) outputs are `outputs`: JSON, keys in order."""
    document = build_workbook(table, parse_outputs(outputs, "the stack outputs the workbook reads"), report_url)
    return json.dumps(document, indent=1, ensure_ascii=False)
