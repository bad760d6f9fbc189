"""The deploy's `rollout` stage: runs `Rollout`, writes its reports, maps its outcome to a stage result.

A first deploy (no stable revision yet) or a deploy with nothing new is a plain `up`, then the
usual bake and checks on the whole stack. Otherwise the rollout's exit code (`RolloutExit`) is
the deploy's: 0 promoted, 20-23 otherwise (docs/rollout.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from infra.deploy.rollout import Rollout
from infra.deploy.rollout_codes import RolloutExit
from infra.deploy.rollout_report import write_rollout_reports
from infra.deploy.stages import StageFailed, StageResult

if TYPE_CHECKING:
    from infra.deploy.pipeline import Deployment


def run_rollout_stage(deployment: Deployment) -> StageResult:
    rollout = Rollout(deployment, deployment.judge)
    failure: StageFailed | None = None
    try:
        code, summary = rollout.run()
    except StageFailed as error:  # the very first `up` (nothing in flight yet) or the outputs
        code, summary, failure = None, error.detail, error
    data = {"steps": len(rollout.steps), "ups": rollout.ups, "reportsDir": str(rollout.dir)}
    try:
        paths = write_rollout_reports(deployment.options.stack, rollout, code, summary)
        data["reports"] = [str(p) for p in paths]
    except OSError as error:
        deployment.echo(f"could not write the rollout reports: {error}")
    if failure is not None:
        raise StageFailed(failure.code, failure.detail, data)
    if code is None:
        deployment.outputs()
        if not deployment.options.skip_checks:
            deployment.bake()
            deployment.checks()
        return StageResult("rollout", "passed", detail=summary, data=data)
    data["exitCode"] = int(code)
    if code is not RolloutExit.PROMOTED:
        raise StageFailed(code, summary, data)  # type: ignore[arg-type] (its own codes, see rollout_codes)
    return StageResult("rollout", "passed", detail=summary, data=data)
