"""Which Pulumi project a command works on: found from the current directory, as `pulumi` finds it.

`pulumi` looks for `Pulumi.yaml` (or `Pulumi.yml`) in the current directory and then in each
parent (pulumi/pulumi sdk/go/common/workspace/paths.go, `DetectProjectPathFrom`), and reads the
stack files from the project's `stackConfigDir` (https://www.pulumi.com/docs/iac/concepts/projects/project-file/).
`fin-infra` does the same, so running it in a second checkout plans that checkout's stacks.
Only outside any project does it fall back to the checkout it was installed from, and it says so.
Lives in `checks/` (which never imports `infra/`) so every command, checks included, can use it.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import yaml

INSTALLED_ROOT = Path(__file__).resolve().parent.parent
PROJECT_FILES = ("Pulumi.yaml", "Pulumi.yml")


@dataclass(frozen=True)
class Project:
    root: Path
    stacks_dir: Path
    how: str  # "current directory" or "installed checkout"

    def describe(self) -> str:
        if self.how == "installed checkout":
            return f"outside any Pulumi project: using the installed checkout {self.root}"
        return f"project {self.root} (found from the current directory)"


def _stacks_dir(project_file: Path) -> Path:
    """The project's `stackConfigDir` (relative to the project), or the project folder itself."""
    try:
        document = yaml.safe_load(project_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        document = None
    configured = document.get("stackConfigDir") if isinstance(document, dict) else None
    if isinstance(configured, str) and configured.strip():
        return (project_file.parent / configured).resolve()
    return project_file.parent


def find_project(start: Path | None = None) -> Project:
    """The nearest project at or above `start` (default: the current directory), else the installed one."""
    try:
        here = (start or Path.cwd()).resolve()
    except OSError:  # the current directory was removed
        here = None
    for directory in (here, *here.parents) if here else ():
        for name in PROJECT_FILES:
            if (directory / name).is_file():
                return Project(directory, _stacks_dir(directory / name), "current directory")
    return Project(INSTALLED_ROOT, _stacks_dir(INSTALLED_ROOT / "Pulumi.yaml"), "installed checkout")


def project_for_cwd() -> Project:
    """`find_project()` for the current working directory, found once per directory per process."""
    return _cached(os.getcwd() if _cwd_exists() else "")


@functools.lru_cache(maxsize=8)
def _cached(cwd: str) -> Project:
    return find_project(Path(cwd) if cwd else None)


def _cwd_exists() -> bool:
    try:
        os.getcwd()
    except OSError:
        return False
    return True


def stack_names(stacks_dir: Path) -> list[str]:
    """`Pulumi.<name>.yaml` files in `stacks_dir`, by name."""
    try:
        files = sorted(stacks_dir.glob("Pulumi.*.yaml"))
    except OSError:
        return []
    return [f.name[len("Pulumi.") : -len(".yaml")] for f in files if f.is_file()]


def complete_stacks(ctx: object, param: object, incomplete: str) -> list[str]:
    """Shell completion for a STACK argument: the stacks of the project found from the current directory."""
    return [name for name in stack_names(project_for_cwd().stacks_dir) if name.startswith(incomplete)]


def project_relative(path: Path, root: Path) -> str:
    """`path` relative to the project root (as GitHub annotations and SARIF locate files), else as given."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except (ValueError, OSError):
        return path.as_posix()
