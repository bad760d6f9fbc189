"""The project a command works on: found from the current directory as `pulumi` finds it (issue 18, item 1).

A second checkout must plan its own stacks, not those of the checkout fin-infra was installed
from; outside any project the installed checkout is used, and the command says which it used.
Shell completion offers the stacks of that same project.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from checks.project import INSTALLED_ROOT, find_project

FIN_INFRA = Path(sys.executable).with_name("fin-infra")


def second_checkout(tmp_path: Path) -> Path:
    """A project whose stack files live in its stackConfigDir, with one stack the installed checkout lacks."""
    (tmp_path / "Pulumi.yaml").write_text("name: fin-agent\nruntime: python\nstackConfigDir: conf/stacks\n")
    stacks = tmp_path / "conf" / "stacks"
    stacks.mkdir(parents=True)
    text = (INSTALLED_ROOT / "stacks" / "Pulumi.dev.yaml").read_text()
    text = text.replace("config:\n", "config:\n  fin-agent:environment: dev\n  fin-agent:nameSuffix: second\n", 1)
    (stacks / "Pulumi.second.yaml").write_text(text)
    (tmp_path / "deep" / "er").mkdir(parents=True)
    return tmp_path


def run(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FIN_INFRA), *args], cwd=cwd, capture_output=True, text=True, timeout=120, env={**os.environ, **env}
    )


def test_the_project_is_found_upwards_with_its_stack_config_dir(tmp_path: Path) -> None:
    root = second_checkout(tmp_path)
    project = find_project(root / "deep" / "er")
    assert project.root == root.resolve() and project.how == "current directory"
    assert project.stacks_dir == (root / "conf" / "stacks").resolve()


def test_outside_any_project_the_installed_checkout_is_used(tmp_path: Path) -> None:
    project = find_project(tmp_path)
    assert project.root == INSTALLED_ROOT and project.how == "installed checkout"
    assert project.stacks_dir == INSTALLED_ROOT / "stacks"
    assert "outside any Pulumi project" in project.describe()


def test_plan_in_a_second_checkout_plans_its_stacks_and_says_so(tmp_path: Path) -> None:
    root = second_checkout(tmp_path)
    result = run(root / "deep" / "er", "plan", "second", "--format", "json")
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout)["stack"] == "second"
    assert f"project {root.resolve()} (found from the current directory)" in result.stderr
    missing = run(root, "plan", "prod")  # the installed checkout's stack is not this project's
    assert missing.returncode == 2 and "stacks in" in missing.stderr and "second" in missing.stderr


def test_outside_a_project_the_plan_says_it_used_the_installed_checkout(tmp_path: Path) -> None:
    result = run(tmp_path, "plan", "dev", "--format", "json")
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"using the installed checkout {INSTALLED_ROOT}" in result.stderr


def test_shell_completion_offers_the_projects_stacks(tmp_path: Path) -> None:
    root = second_checkout(tmp_path)
    env = {"_FIN_INFRA_COMPLETE": "bash_complete", "COMP_CWORD": "2"}
    here = run(root, **env, COMP_WORDS="fin-infra plan s")
    assert here.stdout.split() == ["plain,second"]
    installed = run(INSTALLED_ROOT, **env, COMP_WORDS="fin-infra deploy ")
    assert installed.stdout.split() == ["plain,dev", "plain,prod", "plain,staging"]
    commands = run(INSTALLED_ROOT, **{**env, "COMP_CWORD": "1"}, COMP_WORDS="fin-infra p")
    assert commands.stdout.split() == ["plain,plan", "plain,policy"]
