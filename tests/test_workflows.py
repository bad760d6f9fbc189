"""The GitHub workflows and Dependabot config: valid, pinned, least privilege, lean installs.

- Schema: check-jsonschema's vendored GitHub workflow and Dependabot schemas (shipped in its
  package; run with the network pointed at a closed loopback port, so nothing is fetched).
- Every `uses:` is a local workflow or an action pinned to the full commit its version tag
  names (`# vX.Y.Z` beside it), as recorded in `tests/fixtures/workflows/actions.yaml`; every
  `with:` key is an input that action version declares, and its required inputs are given.
- No `${{ }}` inside `run:` (inputs and contexts reach scripts through `env:`).
- `id-token: write` only on jobs that sign in; plan/policy/deploy jobs never install the
  checks' extras, Node.js or Artillery; caches keyed on the lockfiles; Node.js >= 22.18.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml"))
DEPENDABOT = REPO_ROOT / ".github" / "dependabot.yml"
ACTIONS = yaml.safe_load((Path(__file__).parent / "fixtures" / "workflows" / "actions.yaml").read_text())
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"
USES = re.compile(r"^\s*(?:-\s*)?uses:\s*(?P<ref>\S+)(?:\s*#\s*(?P<comment>\S+))?\s*$")
SIGN_IN_ACTIONS = {"azure/login", "pulumi/auth-actions"}
SIGN_IN_ENV = {"ARM_USE_OIDC", "AZURE_CLIENT_ID"}  # the azure-native provider's OIDC; checks/credentials.py
MIN_NODE = (22, 18, 0)  # Artillery 2.0.34's engines.node


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    if True in document:  # YAML 1.1 reads the key `on` as a boolean
        document["on"] = document.pop(True)
    return document


def jobs() -> list[tuple[Path, str, dict[str, Any]]]:
    return [(path, name, job) for path in WORKFLOWS for name, job in load(path)["jobs"].items()]


def steps() -> list[tuple[Path, str, dict[str, Any]]]:
    return [(path, name, step) for path, name, job in jobs() for step in job.get("steps", [])]


def action_of(uses: str) -> str:
    return uses.split("@")[0]


def run_schema(schema: str, *paths: Path) -> subprocess.CompletedProcess[str]:
    dead_proxy = "http://127.0.0.1:9"  # any attempt to fetch a schema would fail here
    env = {**os.environ, "HTTP_PROXY": dead_proxy, "HTTPS_PROXY": dead_proxy, "NO_PROXY": ""}
    return subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", schema, *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def test_there_are_workflows_to_check() -> None:
    assert {p.name for p in WORKFLOWS} >= {"tests.yml", "infra.yml", "deploy-stack.yml"}


def test_workflows_and_dependabot_match_githubs_schemas() -> None:
    result = run_schema("vendor.github-workflows", *WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr
    result = run_schema("vendor.dependabot", DEPENDABOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("name: x\non: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    step:\n      - run: true\n")
    result = run_schema("vendor.github-workflows", broken)
    assert result.returncode == 1
    assert "broken.yml" in result.stdout


def test_every_uses_is_a_local_workflow_or_pinned_to_the_recorded_commit() -> None:
    seen = 0
    for path in WORKFLOWS:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            match = USES.match(line)
            if not match:
                continue
            seen += 1
            ref, where = match["ref"], f"{path.name}:{number}"
            if ref.startswith("./"):
                assert (REPO_ROOT / ref).is_file(), where
                continue
            action, _, sha = ref.partition("@")
            assert re.fullmatch(r"[0-9a-f]{40}", sha), f"{where}: {ref} is not pinned to a full commit SHA"
            assert action in ACTIONS, f"{where}: {action} has no entry in tests/fixtures/workflows/actions.yaml"
            recorded = ACTIONS[action]
            assert sha == recorded["commit"], f"{where}: {action} pins {sha}, the data says {recorded['commit']}"
            assert match["comment"] == recorded["version"], f"{where}: the comment should be # {recorded['version']}"
    assert seen >= 10


def test_every_with_key_is_an_input_of_that_action_version() -> None:
    for path, job_name, step in steps():
        if "uses" not in step:
            continue
        recorded = ACTIONS[action_of(step["uses"])]
        given = set(step.get("with") or {})
        unknown = given - set(recorded["inputs"])
        assert not unknown, f"{path.name} {job_name}: {step['uses']} has no input(s) {sorted(unknown)}"
        missing = set(recorded["required"]) - given
        assert not missing, f"{path.name} {job_name}: {step['uses']} needs {sorted(missing)}"


def test_reusable_workflow_calls_pass_declared_inputs() -> None:
    for path, job_name, job in jobs():
        uses = job.get("uses")
        if not uses:
            continue
        called = load(REPO_ROOT / uses)["on"]["workflow_call"]
        declared = called.get("inputs") or {}
        assert set(job.get("with") or {}) <= set(declared), f"{path.name} {job_name}"
        required = {name for name, spec in declared.items() if spec.get("required")}
        assert required <= set(job.get("with") or {}), f"{path.name} {job_name}"


def test_no_expression_inside_a_run_script() -> None:
    scripts = [(path, job, step["run"]) for path, job, step in steps() if "run" in step]
    assert scripts
    for path, job_name, script in scripts:
        assert "${{" not in script, f"{path.name} {job_name}: pass it through env: instead\n{script}"


def signs_in(job: dict[str, Any]) -> bool:
    if job.get("uses"):  # a reusable workflow: does any of its jobs sign in?
        return any(signs_in(called) for called in load(REPO_ROOT / job["uses"])["jobs"].values())
    used = {action_of(step["uses"]) for step in job.get("steps", []) if "uses" in step}
    return bool(used & SIGN_IN_ACTIONS or set(job.get("env") or {}) & SIGN_IN_ENV)


def test_id_token_write_only_on_jobs_that_sign_in() -> None:
    for path in WORKFLOWS:
        assert "id-token" not in (load(path).get("permissions") or {}), f"{path.name}: workflow-wide id-token"
    granted = 0
    for path, job_name, job in jobs():
        wants = (job.get("permissions") or {}).get("id-token") == "write"
        assert wants == signs_in(job), f"{path.name} {job_name}: id-token write={wants}, signs in={signs_in(job)}"
        granted += wants
    assert granted >= 2


def commands(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in job.get("steps", []))


def test_plan_policy_and_deploy_jobs_install_the_base_set_only() -> None:
    lean = heavy = 0
    for path, job_name, job in jobs():
        script = commands(job)
        used = {action_of(step["uses"]) for step in job.get("steps", []) if "uses" in step}
        if re.search(r"fin-infra (plan|policy|deploy)\b", script):
            lean += 1
            assert "make setup\n" in script + "\n", f"{path.name} {job_name}"
            for heavy_install in ("setup-checks", "setup-dev", "make test", "npm ", "playwright", "--all-extras"):
                assert heavy_install not in script, f"{path.name} {job_name}: {heavy_install}"
            assert "actions/setup-node" not in used, f"{path.name} {job_name}"
        if re.search(r"fin-infra (check|loadtest)\b", script):
            heavy += 1
            assert "make setup-checks" in script and "actions/setup-node" in used, f"{path.name} {job_name}"
    assert lean >= 2 and heavy >= 1


def test_caches_are_keyed_on_the_lockfiles_and_node_is_pinned() -> None:
    uv_steps = node_steps = 0
    for path, job_name, step in steps():
        uses, given = action_of(step.get("uses", "")), step.get("with") or {}
        if uses == "astral-sh/setup-uv":
            uv_steps += 1
            assert given.get("enable-cache") is True and given.get("cache-dependency-glob") == "uv.lock"
            assert re.fullmatch(r"\d+\.\d+\.\d+", str(given.get("version"))), f"{path.name} {job_name}: pin uv"
        if uses == "actions/setup-node":
            node_steps += 1
            assert given.get("cache") == "npm" and given.get("cache-dependency-path") == "package-lock.json"
            version = str(given.get("node-version"))
            assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{path.name} {job_name}: pin an exact Node.js"
            assert tuple(map(int, version.split("."))) >= MIN_NODE, f"{path.name} {job_name}: Node.js {version}"
    assert uv_steps >= 3 and node_steps >= 2


def test_the_make_uv_pin_is_the_workflows_uv() -> None:
    pinned = re.search(r"^UV_VERSION := (\S+)$", (REPO_ROOT / "Makefile").read_text(), re.M)
    versions = {
        str(s["with"]["version"]) for _, _, s in steps() if action_of(s.get("uses", "")) == "astral-sh/setup-uv"
    }
    assert pinned and versions == {pinned[1]}


def test_a_pull_request_job_runs_the_readmes_test_command() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    tests_section = readme.split("\n## Tests\n", 1)[1]
    command = re.search(r"```sh\n(.+?)\n```", tests_section, re.S)[1].strip()
    assert command == "make test"
    found = [
        (path.name, job_name)
        for path, job_name, job in jobs()
        if "pull_request" in load(path)["on"]
        and any(step.get("run", "").strip() == command for step in job.get("steps", []))
    ]
    assert found, "no pull-request job runs `make test`"


def test_ci_selects_stacks_and_never_creates_them() -> None:
    deploys = 0
    for path, job_name, job in jobs():
        for line in commands(job).splitlines():
            if "fin-infra deploy" in line:
                deploys += 1
                assert "--select-only" in line, f"{path.name} {job_name}: {line.strip()}"
        for step in job.get("steps", []):
            if action_of(step.get("uses", "")) == "pulumi/actions" and "command" in (step.get("with") or {}):
                assert str(step["with"].get("upsert", "false")).lower() == "false"
    assert deploys >= 1


def test_checkouts_do_not_persist_the_token() -> None:
    for path, job_name, step in steps():
        if action_of(step.get("uses", "")) == "actions/checkout":
            assert (step.get("with") or {}).get("persist-credentials") is False, f"{path.name} {job_name}"


@pytest.mark.parametrize("ecosystem", ["uv", "npm", "github-actions"])
def test_dependabot_watches(ecosystem: str) -> None:
    updates = yaml.safe_load(DEPENDABOT.read_text())["updates"]
    assert any(u["package-ecosystem"] == ecosystem and u["directory"] == "/" for u in updates)
