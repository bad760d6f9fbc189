"""The one-way flow inside `infra/`: the plan engine below policy and deploy, the plan command above.

DESIGN.md, "Growing the house": `infra/plan/engine/` (runner, mocks, stack file) is used by
the policy pack and the deploy pipeline; `infra/plan/command/` (CLI, rendering) uses the
policy pack. No import may run back up. Imports are read with `ast`, so an import inside a
function counts as much as one at the top of a module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# (folder whose modules are scanned, module prefix they must never import)
FORBIDDEN = [
    ("infra/policy", "infra.plan.command"),
    ("infra/deploy", "infra.plan.command"),
    ("infra/plan/engine", "infra.plan.command"),
    ("infra/plan/engine", "infra.policy"),
    ("infra/plan/engine", "infra.deploy"),
    ("infra/policy", "infra.deploy"),
    ("checks", "infra.plan.command"),
]


def imported_modules(path: Path) -> set[str]:
    """Every absolute module name `path` imports, relative imports resolved against its package."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = ".".join(path.relative_to(REPO).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _violations(folder: str, prefix: str) -> list[str]:
    found = []
    for path in sorted((REPO / folder).rglob("*.py")):
        for name in imported_modules(path):
            if name == prefix or name.startswith(prefix + "."):
                found.append(f"{path.relative_to(REPO)} imports {name}")
    return found


@pytest.mark.parametrize(("folder", "prefix"), FORBIDDEN)
def test_no_import_runs_back_up(folder: str, prefix: str) -> None:
    assert (REPO / folder).is_dir(), folder
    assert _violations(folder, prefix) == []


def test_the_scan_sees_imports() -> None:
    """The scanner itself: a forbidden import inside a function, and a relative one, are found."""
    assert "infra.plan.command.render" in imported_modules(REPO / "infra/plan/command/cli.py")
    assert "infra.plan.engine.runner" in imported_modules(REPO / "infra/policy/evaluate.py")


def test_the_floors_hold_the_modules() -> None:
    engine = {p.stem for p in (REPO / "infra/plan/engine").glob("*.py")}
    command = {p.stem for p in (REPO / "infra/plan/command").glob("*.py")}
    assert {"runner", "mocks", "stackfile"} <= engine
    assert {"cli", "render", "summaries", "watch_section", "workbook_section"} <= command
    assert not [p.name for p in (REPO / "infra/plan").glob("*.py") if p.name != "__init__.py"]
