"""Does the patched stack file pass the settings, the policy pack and the preconditions?

Validation runs the project's own plan machinery on the patched file, exactly as
`fin-infra plan --stacks-dir DIR` would: the settings loader (every rule of
`infra.settings.rules`), the Pulumi program under the mock engine, the policy pack and the
preconditions. A finding the original file does not have (mandatory or advisory) fails it, so
a tune can never trade a performance fix for a guardrail.

Why imported here, and lazily: the plan entry points (`infra.plan.engine.runner.plan_stack`,
`infra.policy.evaluate`, `infra.policy.preconditions.evaluate`) are the only way to know what
the program would declare, and DESIGN.md keeps the checks free of the Pulumi program. So no
module of `checks.tune` imports `infra.program` or the plan machinery at import time; this
function imports them when (and only when) a patch is validated. Reading the metrics and
deciding the recommendations never load Pulumi. A subprocess of `fin-infra plan` would give
the same verdict at the cost of a second interpreter and a parse of its output; the tests run
that command on every patched file as well.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from checks.tune.model import Validation


def _findings(stack: str, stacks_dir: Path, targets_file: Path | None) -> tuple[set[str], set[str]]:
    """(mandatory, all) findings of the policy pack and the preconditions, as text."""
    from infra.plan.engine.runner import plan_stack
    from infra.policy.evaluate import evaluate_plan
    from infra.policy.preconditions.evaluate import evaluate_preconditions

    result = plan_stack(stack, stacks_dir=stacks_dir, targets_file=targets_file)
    policy, preconditions = evaluate_plan(result), evaluate_preconditions(result)
    mandatory = {f"{f.rule.id}: {f.message}" for f in policy.mandatory}
    mandatory |= {f"precondition: {v.message}" for v in preconditions.mandatory}
    everything = {f"{f.rule.id}: {f.message}" for f in policy.findings} | mandatory
    return mandatory, everything


def validate_patch(stack: str, original_dir: Path, patched_text: str, targets_file: Path | None = None) -> Validation:
    """Plan the patched stack file in a scratch directory and compare its findings with the original's."""
    from infra.plan.engine.stackfile import StackFileError
    from infra.settings import SettingsError

    try:
        _, before = _findings(stack, original_dir, targets_file)
    except (SettingsError, StackFileError) as error:
        return Validation(ran=False, passed=False, detail=f"the original stack file does not plan: {error}")
    with tempfile.TemporaryDirectory(prefix="fin-infra-tune-") as scratch:
        directory = Path(scratch)
        (directory / f"Pulumi.{stack}.yaml").write_text(patched_text, encoding="utf-8")
        try:
            mandatory, after = _findings(stack, directory, targets_file)
        except (SettingsError, StackFileError) as error:
            return Validation(
                ran=True, passed=False, detail=f"the patched stack file is refused by the settings: {error}"
            )
    new = sorted(after - before)
    if mandatory or new:
        return Validation(
            ran=True,
            passed=False,
            detail="the patched stack file fails the policy pack or the preconditions",
            mandatory_violations=sorted(mandatory | set(new)),
        )
    return Validation(
        ran=True,
        passed=True,
        detail="planned offline (settings, program under mocks); no mandatory violation and no new policy finding",
    )
