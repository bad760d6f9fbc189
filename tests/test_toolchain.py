"""The locked Python toolchain: Pulumi's uv toolchain installs the program from uv.lock.

Pulumi's uv toolchain (pulumi/pulumi `sdk/python/toolchain/uv.go`): `pulumi install` runs
`uv sync` in the program directory (`main: infra/`; uv finds the root pyproject.toml and
uv.lock upward), and every program run first runs `uv sync --inexact` there; both with
`UV_PROJECT_ENVIRONMENT` set to Pulumi.yaml's `virtualenv` (relative to the project root), then
start `<virtualenv>/bin/python`. The language host reads the runtime options `toolchain`,
`virtualenv` and `typechecker` (`sdk/python/cmd/pulumi-language-python/main.go`).

Every uv call here is `--offline`: the lock is checked against uv's cache, which `make test`
filled, never against an index.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
PROJECT_VARIABLES = {"UV_PROJECT_ENVIRONMENT", "UV_PROJECT", "UV_FROZEN", "UV_LOCKED", "UV_OFFLINE", "VIRTUAL_ENV"}


def find_uv() -> str:
    """The uv pinned in the dev extra (next to this Python), else the one `make` uses."""
    here = Path(sys.executable).parent / "uv"
    for candidate in (here, shutil.which("uv"), REPO_ROOT / ".cache" / "uv-tool" / "bin" / "uv"):
        if candidate and Path(candidate).exists():
            return str(candidate)
    pytest.fail("uv is not installed: `make test` installs it (pinned, from PyPI) before running the tests")


def uv(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    # the caller's project settings must not leak in (uv's cache location may: it holds the wheels)
    clean = {k: v for k, v in os.environ.items() if k not in PROJECT_VARIABLES}
    return subprocess.run(
        [find_uv(), *args],
        cwd=cwd,
        env={**clean, "UV_OFFLINE": "1", **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_pulumi_yaml_selects_the_uv_toolchain_and_the_project_venv() -> None:
    project = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())
    assert project["main"] == "infra/"
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "uv", "virtualenv": ".venv"}}
    assert (REPO_ROOT / "uv.lock").is_file()
    # pip's toolchain reads requirements.txt; a leftover one would be a second, unlocked source
    assert not list(REPO_ROOT.glob("requirements*.txt")) and not list((REPO_ROOT / "infra").glob("requirements*.txt"))


def test_the_lock_matches_pyproject() -> None:
    result = uv("lock", "--check", cwd=REPO_ROOT)
    assert result.returncode == 0, f"uv.lock is stale: run `make lock` and commit it\n{result.stderr}"


def test_the_lock_check_fails_when_pyproject_changes(tmp_path: Path) -> None:
    for name in ("pyproject.toml", "uv.lock", "README.md"):
        shutil.copy(REPO_ROOT / name, tmp_path / name)
    pyproject = tmp_path / "pyproject.toml"
    text = pyproject.read_text()
    assert '    "rich==15.0.0",\n' in text
    pyproject.write_text(text.replace('    "rich==15.0.0",\n', ""))
    result = uv("lock", "--check", cwd=tmp_path)
    assert result.returncode != 0
    assert "needs to be updated" in result.stderr


def test_every_install_path_uses_the_lock() -> None:
    """Make targets and workflows sync with --locked; nothing installs the project with pip."""
    texts = {"Makefile": (REPO_ROOT / "Makefile").read_text()}
    for workflow in (REPO_ROOT / ".github" / "workflows").glob("*.yml"):
        texts[str(workflow.relative_to(REPO_ROOT))] = workflow.read_text()
    syncs = 0
    for name, text in texts.items():
        for line in text.splitlines():
            if re.search(r"(\buv|\$\(UV\)) sync\b", line) and not line.lstrip().startswith("#"):
                syncs += 1
                assert "--locked" in line, f"{name}: {line.strip()}"
            if "pip install" in line and not line.lstrip().startswith("#"):
                assert re.search(r"pip install --quiet uv==\$\(UV_VERSION\);", line), f"{name}: {line.strip()}"
    assert syncs >= 1
    # the uv `make` bootstraps is the one the dev extra pins (and the lock was written with)
    pinned = re.search(r"^UV_VERSION := (\S+)$", texts["Makefile"], re.M)
    assert pinned and f'"uv=={pinned[1]}"' in (REPO_ROOT / "pyproject.toml").read_text()


def fresh_copy(destination: Path) -> Path:
    """The repository's files as git knows them (tracked and new, not ignored): a fresh clone's view."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for relative in filter(None, listed.split("\0")):
        source = REPO_ROOT / relative
        if source.is_file() and not source.is_symlink():
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


@pytest.mark.slow
def test_pulumis_uv_toolchain_installs_a_venv_that_imports_the_program(tmp_path: Path) -> None:
    repo = fresh_copy(tmp_path / "repo")
    assert not (repo / ".venv").exists()
    lock_before = (repo / "uv.lock").read_bytes()
    venv = repo / ".venv"  # Pulumi.yaml's virtualenv, joined to the project root as Pulumi does
    env = {"UV_PROJECT_ENVIRONMENT": str(venv)}
    installed = uv("sync", cwd=repo / "infra", env=env, timeout=300)  # what `pulumi install` runs
    assert installed.returncode == 0, installed.stderr
    run_sync = uv("sync", "--inexact", cwd=repo / "infra", env=env)  # what each program run runs first
    assert run_sync.returncode == 0, run_sync.stderr
    assert (repo / "uv.lock").read_bytes() == lock_before  # the lock was current: nothing re-resolved

    python = venv / "bin" / "python"
    probe = (
        "import importlib.util, infra.program, infra.plan.command.cli, infra.policy.cli, infra.deploy.cli, checks.cli\n"
        "print(infra.program.__file__)\n"
        "print(sorted(m for m in ('playwright', 'pytest', 'ruff') if importlib.util.find_spec(m)))\n"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    result = subprocess.run(
        [str(python), "-c", probe], cwd=repo / "infra", env=clean, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    program_file, extras = result.stdout.splitlines()
    assert Path(program_file) == repo / "infra" / "program.py"  # the copy's code, installed editable
    assert extras == "[]"  # the program's venv has no browser driver and no test tools

    plan = subprocess.run(
        [str(venv / "bin" / "fin-infra"), "plan", "dev", "--format", "json"],
        cwd=repo,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert plan.returncode == 0, plan.stderr
    assert json.loads(plan.stdout)["stack"] == "dev"
