"""The canary rollout stage of `fin-infra deploy`: steps of traffic, each a `pulumi up`, judged by the checks.

It drives the program only through stack config (`fin-agent:rolloutState`, see
`infra.settings.rollout`) and `pulumi up`, and judges only through `fin-infra check`; it never
calls ARM. Where it starts comes from the stack outputs of the last successful `up` (the
`rollout` output): the stable revision and image per service, and whether a rollout was
already in flight. So a cancelled job or a failed `up` is picked up by the next run: an
in-flight canary of the same revisions resumes at its weight, any other is rolled back first.

Sequence: up with 0 % to the new revision -> judge the canary alone -> for each step: set the
weight, up, bake (checking every `checkEvery`, ending the step at once on a FAIL), judge ->
promote (single-revision mode: the canary takes 100 % and the platform deactivates the old
revision) or roll back (0 %, then the stable's image and revision suffix in single-revision
mode, which deactivates the canary). The exit codes are `RolloutExit`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pulumi import automation as auto

from checks.targets import load_targets
from infra.components.revisions import plan_revisions
from infra.deploy.outputs import masked, save_outputs
from infra.deploy.rollout_codes import RolloutExit
from infra.deploy.rollout_judge import CheckOutcome, Comparison, JudgeOptions, compare, run_check
from infra.deploy.stages import StageFailed
from infra.settings.rollout import RolloutSettings, RolloutState

if TYPE_CHECKING:
    from infra.deploy.pipeline import Deployment

STATE_KEY = "fin-agent:rolloutState"


@dataclass
class StepRecord:
    name: str  # "0 %", "10 %", ..., "promote", "rollback"
    weight: int
    verdict: str  # PASS, FAIL, NO_DATA, UP_FAILED, DONE
    detail: str = ""
    seconds: float = 0.0
    checks: list[dict[str, Any]] = field(default_factory=list)
    comparisons: list[dict[str, Any]] = field(default_factory=list)


class RolloutAborted(Exception):  # noqa: N818 (control flow: a step decided against the canary)
    def __init__(self, exit_code: RolloutExit, reason: str) -> None:
        super().__init__(reason)
        self.exit_code = exit_code
        self.reason = reason


class Rollout:
    def __init__(self, deployment: Deployment, judge: JudgeOptions) -> None:
        self.deployment = deployment
        self.judge_options = judge
        loaded = deployment.loaded
        assert loaded is not None and deployment.stack is not None
        self.settings = loaded.settings
        self.naming = loaded.naming
        self.config: RolloutSettings = self.settings.rollout or RolloutSettings()
        self.stack: auto.Stack = deployment.stack
        self.steps: list[StepRecord] = []
        self.ups: list[dict[str, Any]] = []  # the rollout state of every `up`, in order
        self.outputs: dict[str, Any] = {}
        self.dir = deployment.options.output_dir / "rollout"
        self.targets = load_targets()

    # --- stack config, up, outputs ---------------------------------------------------------

    def current_outputs(self) -> dict[str, Any]:
        plain, _ = masked(self.stack.outputs())
        return plain

    def up(self, state: dict[str, Any]) -> None:
        """Write the rollout state into stack config and `pulumi up`; keep the new outputs."""
        self.deployment.echo(f"rollout: up with {json.dumps(state, sort_keys=True)}")
        self.stack.set_config(STATE_KEY, auto.ConfigValue(json.dumps(state, sort_keys=True)))
        self.ups.append(state)
        self.deployment.up()  # raises StageFailed with the deploy's own code on failure
        self.outputs, _ = masked(self.deployment.last_outputs)
        save_outputs(self.deployment.last_outputs, self.deployment.options.outputs_file)

    # --- judging ---------------------------------------------------------------------------

    def check(self, label: str, step: str) -> CheckOutcome:
        folder = self.dir / step.replace(" %", "pct").replace(" ", "-") / label
        return run_check(self.deployment.options.stack, self.outputs, label, folder, self.judge_options)

    def judge(self, record: StepRecord) -> None:
        """Judge the canary at this step; raise RolloutAborted when it must not go on."""
        canary = self.check("canary", record.name)
        record.checks.append(_check_doc(canary))
        comparisons: list[Comparison] = []
        if self.config.rules and canary.exit_code in (0, 1, 2):
            stable = self.check("stable", record.name)
            record.checks.append(_check_doc(stable))
            comparisons = compare(self.config.rules, canary, stable, self.targets)
            record.comparisons = [c.__dict__ for c in comparisons]
        failed = [c for c in comparisons if c.verdict == "FAIL"]
        if canary.exit_code in (1, 2) or failed:
            record.verdict = "FAIL"
            reasons = [f"canary checks {canary.status}"] if canary.exit_code in (1, 2) else []
            reasons += [c.detail for c in failed]
            record.detail = "; ".join(reasons)
            raise RolloutAborted(RolloutExit.ROLLED_BACK, f"{record.name}: {record.detail}")
        if canary.exit_code != 0:
            record.verdict = "NO_DATA"
            action = self.settings.rollout_on_no_data
            record.detail = f"canary checks {canary.status}; onNoData: {action}"
            if action == "rollback":
                raise RolloutAborted(RolloutExit.ROLLED_BACK, f"{record.name}: {record.detail}")
            if action == "hold":
                raise RolloutAborted(RolloutExit.HELD, f"{record.name}: {record.detail}")
            return
        record.verdict = "PASS"
        record.detail = "; ".join(["canary checks PASS", *[c.detail for c in comparisons]])

    def bake(self, record: StepRecord, seconds: float) -> None:
        """Wait `seconds`; with checkEvery, check the canary meanwhile and stop on a FAIL."""
        every = self.config.check_every_seconds()
        waited = 0.0
        while every and waited + every < seconds:
            self.deployment.sleep(every)
            waited += every
            early = self.check("canary", f"{record.name}-at-{waited:g}s")
            if early.exit_code == 2:
                record.checks.append(_check_doc(early))
                record.verdict = "FAIL"
                record.detail = f"critical threshold crossed after {waited:g} s of {seconds:g} s: step ended early"
                raise RolloutAborted(RolloutExit.ROLLED_BACK, f"{record.name}: {record.detail}")
        if seconds > waited:
            self.deployment.sleep(seconds - waited)

    # --- the rollout -----------------------------------------------------------------------

    def stable_services(self, previous: dict[str, Any]) -> dict[str, dict[str, str]]:
        services = (previous.get("rollout") or {}).get("services") or {}
        return {
            name: {"stableRevision": s["stableRevision"], "stableImage": s["stableImage"]}
            for name, s in services.items()
            if s.get("stableRevision") and s.get("stableImage")
        }

    def planned_canaries(self, stable: dict[str, dict[str, str]]) -> dict[str, str]:
        """Service -> the revision this deploy would put under the canary label (new ones only)."""
        state = RolloutState.model_validate({"phase": "canary", "canaryWeight": 0, "services": stable})
        settings = self.settings.model_copy(update={"rollout_state": state})
        found = {}
        for name, _service in settings.services.items():
            plan = plan_revisions(settings, name, self.naming.name("container_app", name))
            if plan.canary_revision:
                found[name] = plan.canary_revision
        return found

    def run(self) -> tuple[RolloutExit | None, str]:
        """Returns (exit code, summary); exit code None means a plain deploy (first, or nothing new)."""
        previous = self.current_outputs()
        stable = self.stable_services(previous)
        rollout_output = previous.get("rollout") or {}
        if not stable:
            self.up({"phase": "stable"})
            self.steps.append(StepRecord("first deploy", 100, "DONE", "no stable revision yet: 100 % to the latest"))
            return None, "first deploy: 100 % to the latest revision"
        canaries = self.planned_canaries(stable)
        weights = list(self.config.steps)
        if rollout_output.get("phase") == "canary":
            in_flight = {n: s.get("canaryRevision") for n, s in rollout_output["services"].items()}
            if all(in_flight.get(n) == r for n, r in canaries.items()) and canaries:
                resumed_at = int(rollout_output.get("canaryWeight") or 0)
                self.deployment.echo(f"rollout: resuming the interrupted rollout at {resumed_at} %")
                self.steps.append(StepRecord("resume", resumed_at, "DONE", f"resumed at {resumed_at} %"))
                return self.advance(stable, [w for w in weights if w >= resumed_at], resumed_at)
            code, summary = self.rollback(
                stable, "an interrupted rollout of other revisions", int(rollout_output.get("canaryWeight") or 0)
            )
            if code is RolloutExit.ROLLBACK_FAILED:
                return code, summary
        if not canaries:
            self.up({"phase": "stable"})
            self.steps.append(StepRecord("no change", 100, "DONE", "every service already runs these revisions"))
            return None, "nothing to roll out: the stable revisions already match the settings"
        return self.advance(stable, weights, None)

    def advance(self, stable: dict[str, dict[str, str]], weights: list[int], at: int | None) -> tuple[RolloutExit, str]:
        weight = at or 0
        try:
            if at is None or at == 0:
                weight = 0
                self.step(stable, 0, 0.0)
            for weight in weights:
                self.step(stable, weight, self.config.bake_seconds(self.config.steps.index(weight)))
        except RolloutAborted as aborted:
            return self.rollback(stable, aborted.reason, weight, aborted.exit_code)
        except StageFailed as failure:
            self.steps[-1].verdict = "UP_FAILED"
            self.steps[-1].detail = failure.detail
            return self.rollback(stable, f"`pulumi up` failed at {weight} %", weight, RolloutExit.UP_FAILED_ROLLED_BACK)
        try:
            self.up({"phase": "stable"})
        except StageFailed as failure:
            self.steps.append(StepRecord("promote", 100, "UP_FAILED", failure.detail))
            return RolloutExit.ROLLBACK_FAILED, "promote failed; the canary holds 100 %, the next run finishes it"
        self.steps.append(StepRecord("promote", 100, "DONE", "single-revision mode: the old revision is deactivated"))
        return RolloutExit.PROMOTED, "promoted: the canary is the stable revision"

    def step(self, stable: dict[str, dict[str, str]], weight: int, bake_seconds: float) -> None:
        record = StepRecord(f"{weight} %", weight, "RUNNING")
        self.steps.append(record)
        started = time.monotonic()
        try:
            self.up({"phase": "canary", "canaryWeight": weight, "services": stable})
            self.bake(record, bake_seconds)
            self.judge(record)
        finally:
            record.seconds = round(time.monotonic() - started, 3)

    def rollback(
        self,
        stable: dict[str, dict[str, str]],
        reason: str,
        weight: int,
        code: RolloutExit = RolloutExit.ROLLED_BACK,
    ) -> tuple[RolloutExit, str]:
        if code is RolloutExit.HELD:
            return code, f"held: {reason}; traffic stays at {weight} % until the next run"
        record = StepRecord("rollback", 0, "RUNNING", reason)
        self.steps.append(record)
        try:
            if weight > 0:
                self.up({"phase": "canary", "canaryWeight": 0, "services": stable})
            self.up({"phase": "rolledBack", "canaryWeight": 0, "services": stable})
        except StageFailed as failure:
            record.verdict = "UP_FAILED"
            record.detail = f"{reason}; the rollback's `pulumi up` failed: {failure.detail}"
            return RolloutExit.ROLLBACK_FAILED, record.detail
        record.verdict = "DONE"
        return code, f"rolled back: {reason}"


def _check_doc(outcome: CheckOutcome) -> dict[str, Any]:
    return {
        "revision": outcome.revision,
        "status": outcome.status,
        "exitCode": outcome.exit_code,
        "reportDir": str(outcome.report_dir),
        "values": outcome.values,
        "verdicts": outcome.verdicts,
    }


def rollout_path(output_dir: Path) -> Path:
    return output_dir / "rollout"
