"""The deploy, stage by stage, on Pulumi's Automation API.

Each stage either passes (recording what it found), or raises `StageFailed` with the exit
code that names it; later stages are then recorded as skipped and the reports are still
written. The Automation API drives the `pulumi` CLI found on PATH, in the project directory
(`Pulumi.yaml`, stack files in `stacks/`): `create_or_select_stack`, `preview`, `up`. Both
preview and up run the policy pack with a generated `--policy-pack-config` pinning this
stack's enforcement levels (mandatory in prod, advisory elsewhere); policy events are
collected for the report.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulumi import automation as auto
from pulumi.automation.errors import CommandError, InvalidVersionError

from checks.progress import progress
from checks.targets import TargetsError
from infra.deploy.checks import CheckOptions, run_checks
from infra.deploy.outputs import contract_problem, masked, save_outputs
from infra.deploy.rollout_judge import JudgeOptions
from infra.deploy.stages import STAGE_CRASH_CODES, STAGE_NAMES, ExitCode, StageFailed, StageResult
from infra.paths import REPO_ROOT
from infra.plan.engine.stackfile import StackFileError, read_stack_file
from infra.policy.crossguard import PACK_DIR, write_pack_config
from infra.settings import SettingsError, load_settings
from infra.settings.loader import LoadedSettings

INSTALL_HINT = (
    "The Pulumi CLI is not installed: no `pulumi` on PATH. Install it with "
    "`curl -fsSL https://get.pulumi.com | sh` and add ~/.pulumi/bin to PATH "
    "(other ways: https://www.pulumi.com/docs/install/; in GitHub Actions: pulumi/actions@v6 "
    "or pulumi/setup-pulumi), then run the deploy again."
)
LOGIN_HINT = (
    "Log in to the state backend first: `pulumi login` (Pulumi Cloud, with PULUMI_ACCESS_TOKEN in CI) "
    "or `pulumi login azblob://<container>` / PULUMI_BACKEND_URL for a self-managed backend."
)
TAIL_LINES = 15


@dataclass(frozen=True)
class DeployOptions:
    stack: str
    output_dir: Path
    work_dir: Path = REPO_ROOT
    stacks_dir: Path | None = None
    policy_pack: Path = PACK_DIR
    dry_run: bool = False
    bake_seconds: float = 300.0
    checks: CheckOptions = field(default_factory=CheckOptions)
    skip_checks: bool = False
    create_stack: bool = True  # False (CI): select the stack, never create it
    # None: the stack's rollout.strategy; "all-at-once" or "canary" overrides it for this run.
    strategy: str | None = None

    @property
    def outputs_file(self) -> Path:
        return self.output_dir / "outputs.json"

    @property
    def pack_config_file(self) -> Path:
        return self.output_dir / "policy-pack-config.json"

    @property
    def check_reports_dir(self) -> Path:
        return self.output_dir / "checks"


@dataclass
class DeployReport:
    stack: str
    dry_run: bool
    environment: str | None = None
    stages: list[StageResult] = field(default_factory=list)
    exit_code: ExitCode = ExitCode.OK
    policy_violations: list[dict[str, Any]] = field(default_factory=list)

    def stage(self, name: str) -> StageResult:
        return next(s for s in self.stages if s.name == name)


class PolicyEvents:
    """Collects the policy pack's findings from the engine's event stream."""

    def __init__(self, stage: str, into: list[dict[str, Any]]) -> None:
        self.stage = stage
        self.found = into
        self.mandatory = 0

    def __call__(self, event: auto.EngineEvent) -> None:
        policy = event.policy_event
        if policy is None:
            return
        if policy.enforcement_level == "mandatory":
            self.mandatory += 1
        self.found.append(
            {
                "stage": self.stage,
                "rule": policy.policy_name,
                "pack": policy.policy_pack_name,
                "level": policy.enforcement_level,
                "resource": policy.resource_urn or "",
                "message": policy.message.strip(),
            }
        )


def _tail(text: str, lines: int = TAIL_LINES) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


class Deployment:
    """One run of the deploy for one stack."""

    def __init__(
        self,
        options: DeployOptions,
        echo: Callable[[str], None] = print,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.options = options
        self.echo = echo
        self.sleep = sleep
        self.report = DeployReport(options.stack, options.dry_run)
        self.stack: auto.Stack | None = None
        self._outputs: dict[str, auto.OutputValue] = {}
        self.loaded: LoadedSettings | None = None
        self.judge: JudgeOptions = JudgeOptions()

    @property
    def last_outputs(self) -> dict[str, auto.OutputValue]:
        return self._outputs

    @property
    def canary(self) -> bool:
        if self.loaded is None:
            return False
        return (self.options.strategy or self.loaded.settings.rollout_strategy) == "canary"

    # --- running -------------------------------------------------------------------------

    def run(self) -> DeployReport:
        steps: list[tuple[str, Callable[[], StageResult]]] = [
            ("preflight", self.preflight),
            ("settings", self.settings),
            ("preview", self.preview),
        ]
        failed = self._run_steps(steps, False)
        steps = []
        if not self.options.dry_run and self.canary:
            steps += [("rollout", self.rollout)]  # up, outputs and checks, step by step
        elif not self.options.dry_run:
            steps += [("up", self.up), ("outputs", self.outputs)]
            if not self.options.skip_checks:
                steps += [("bake", self.bake), ("checks", self.checks)]
        failed = self._run_steps(steps, failed)
        for name in STAGE_NAMES:
            if name != "reports" and name not in {s.name for s in self.report.stages}:
                reason = ""
                if self.options.dry_run:
                    reason = "dry run: stops after the preview"
                elif self.canary and not failed:
                    reason = "canary rollout: see the rollout stage"
                elif self.options.skip_checks and not failed:
                    reason = "--skip-checks: the deployment is not gated by the checks"
                self.report.stages.append(StageResult(name, "skipped", detail=reason))
        return self.report

    def _run_steps(self, steps: list[tuple[str, Callable[[], StageResult]]], failed: bool) -> bool:
        for name, step in steps:
            if failed:
                self.report.stages.append(StageResult(name, "skipped"))
                continue
            self.echo(f"==> {name}")
            started = time.monotonic()
            try:
                result = step()
            except StageFailed as failure:
                failed = True
                self.report.exit_code = failure.code
                result = StageResult(name, "failed", detail=failure.detail, data=failure.data)
                self.echo(f"!! {name} failed: {failure.detail}")
            except Exception as error:  # a stage crashed: a clean failure of that stage, never a traceback
                failed = True
                self.report.exit_code = STAGE_CRASH_CODES[name]
                detail = f"the {name} stage stopped on an unexpected error: {type(error).__name__}: {str(error)[:300]}"
                result = StageResult(name, "failed", detail=detail)
                self.echo(f"!! {name} failed: {detail}")
            result.seconds = round(time.monotonic() - started, 3)
            self.report.stages.append(result)
        return failed

    # --- stages --------------------------------------------------------------------------

    def preflight(self) -> StageResult:
        if shutil.which("pulumi") is None:
            raise StageFailed(ExitCode.PREFLIGHT, INSTALL_HINT)
        try:
            command = auto.PulumiCommand()
        except (InvalidVersionError, subprocess.CalledProcessError, OSError) as error:
            raise StageFailed(ExitCode.PREFLIGHT, f"the Pulumi CLI is not usable: {error}") from error
        try:
            open_stack = auto.create_or_select_stack if self.options.create_stack else auto.select_stack
            self.stack = open_stack(
                self.options.stack,
                work_dir=str(self.options.work_dir),
                opts=auto.LocalWorkspaceOptions(pulumi_command=command),
            )
            who = self.stack.workspace.who_am_i()
        except CommandError as error:
            raise StageFailed(
                ExitCode.PREFLIGHT, f"could not select stack {self.options.stack}: {_tail(str(error))}\n{LOGIN_HINT}"
            ) from error
        detail = f"pulumi {command.version}, stack {self.options.stack}, logged in as {who.user}"
        return StageResult("preflight", "passed", detail=detail, data={"pulumiVersion": str(command.version)})

    def settings(self) -> StageResult:
        options = self.options
        try:
            raw = read_stack_file(options.stack, options.stacks_dir)
            loaded = load_settings(raw, options.stack, allow_missing_secrets=True)
        except (SettingsError, StackFileError, TargetsError) as error:
            raise StageFailed(ExitCode.INVALID, str(error)) from error
        except (UnicodeError, ValueError, TypeError) as error:  # a stack file the reader could not take
            raise StageFailed(
                ExitCode.INVALID,
                f"stack file Pulumi.{options.stack}.yaml could not be read: {type(error).__name__}: {str(error)[:300]}",
            ) from error
        environment = loaded.settings.environment
        if options.strategy == "canary" and not loaded.settings.uses_container_apps:
            raise StageFailed(
                ExitCode.INVALID,
                "--strategy canary needs Container Apps (revisions and traffic weights); this stack runs "
                "container groups, which are updated in place: deploy it all at once",
            )
        self.loaded = loaded
        self.report.environment = environment
        write_pack_config(environment, options.pack_config_file)
        return StageResult(
            "settings",
            "passed",
            detail=f"environment {environment}: policy violations are "
            f"{'mandatory' if environment == 'prod' else 'advisory'}",
            data={"environment": environment, "policyPackConfig": str(options.pack_config_file)},
        )

    def _policy_args(self) -> dict[str, Any]:
        return {
            "policy_packs": [str(self.options.policy_pack)],
            "policy_pack_configs": [str(self.options.pack_config_file)],
            "color": "never",
            "on_output": self.echo,
        }

    def preview(self) -> StageResult:
        assert self.stack is not None
        events = PolicyEvents("preview", self.report.policy_violations)
        try:
            result = self.stack.preview(on_event=events, **self._policy_args())
        except (CommandError, RuntimeError) as error:
            code = ExitCode.POLICY if events.mandatory else ExitCode.PREVIEW
            reason = f"{events.mandatory} mandatory policy violation(s)" if events.mandatory else _tail(str(error))
            raise StageFailed(code, reason) from error
        return StageResult(
            "preview",
            "passed",
            detail=_changes(result.change_summary),
            data={"changes": dict(result.change_summary or {})},
        )

    def up(self) -> StageResult:
        assert self.stack is not None
        events = PolicyEvents("up", self.report.policy_violations)
        try:
            result = self.stack.up(on_event=events, **self._policy_args())
        except (CommandError, RuntimeError) as error:
            code = ExitCode.POLICY if events.mandatory else ExitCode.UP
            reason = f"{events.mandatory} mandatory policy violation(s)" if events.mandatory else _tail(str(error))
            raise StageFailed(code, reason) from error
        self._outputs = result.outputs
        changes = dict(result.summary.resource_changes or {})
        return StageResult("up", "passed", detail=_changes(changes), data={"changes": changes})

    def outputs(self) -> StageResult:
        path = self.options.outputs_file
        try:
            secret_keys = save_outputs(self._outputs, path)
        except OSError as error:
            raise StageFailed(ExitCode.OUTPUTS, f"could not write {path}: {error}") from error
        plain, _ = masked(self._outputs)
        problem = contract_problem(plain, secret_keys, str(path))
        data = {"file": str(path), "maskedSecrets": secret_keys}
        if problem:
            raise StageFailed(ExitCode.OUTPUTS, problem, data)
        masked_note = f"; masked: {', '.join(secret_keys)}" if secret_keys else ""
        return StageResult("outputs", "passed", detail=f"saved to {path}{masked_note}", data=data)

    def bake(self) -> StageResult:
        seconds = self.options.bake_seconds
        if seconds > 0:
            self.echo(f"waiting {seconds:g} s for the deployment to bake before the checks")
            with progress("deploy: baking before the checks", seconds):
                self.sleep(seconds)
        return StageResult("bake", "passed", detail=f"waited {seconds:g} s", data={"seconds": seconds})

    def checks(self) -> StageResult:
        run = run_checks(
            self.options.stack, self.options.outputs_file, self.options.check_reports_dir, self.options.checks
        )
        data = {"command": run.command, "exitCode": run.exit_code, "reportsDir": str(self.options.check_reports_dir)}
        if run.outcome is not ExitCode.OK:
            raise StageFailed(run.outcome, run.detail, data)
        return StageResult("checks", "passed", detail=run.detail, data=data)

    def rollout(self) -> StageResult:
        from infra.deploy.rollout_stage import run_rollout_stage

        return run_rollout_stage(self)


def _changes(changes: dict[str, int] | None) -> str:
    if not changes:
        return "no changes"
    return ", ".join(f"{operation} {count}" for operation, count in sorted(changes.items()))
