"""Deploy stages, their results, and the exit code each failing stage gives.

The exit code says which stage stopped the deploy, so a CI job (or a person) knows where to
look without reading the log. Codes 2 and 3 mean what they mean for `fin-infra plan` and
`fin-infra policy` (invalid settings; mandatory policy violations).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Literal

from infra.deploy.rollout_codes import RolloutExit


class ExitCode(IntEnum):
    OK = 0  # deployed and checked; with --dry-run: the preview passed
    INVALID = 2  # stack file, settings or options invalid: nothing ran
    POLICY = 3  # the policy pack refused the preview or the update (mandatory violations)
    PREFLIGHT = 4  # the Pulumi CLI is missing, too old, or not logged in
    PREVIEW = 5  # the preview failed for another reason
    UP = 6  # the update failed
    OUTPUTS = 7  # the stack outputs could not be read, saved, or break the checks' contract
    CHECKS_FAILED = 8  # a target is beyond its critical threshold (check exit 2)
    CHECKS_WARNED = 9  # a target is between target and critical, with --fail-on warn (check exit 1)
    CHECKS_INCONCLUSIVE = 10  # the checks had no data to judge (check exit 3)
    CHECKS_NOT_RUN = 11  # `fin-infra check` could not run, or answered an unknown exit code
    REPORTS = 12  # the deploy report could not be written (everything else passed)
    CHECKS_CRASHED = 13  # `fin-infra check` crashed (exit 1 without its report): the checks could not run


# `fin-infra check` exit code -> the deploy's.
CHECK_EXIT_CODES: dict[int, ExitCode] = {
    0: ExitCode.OK,
    1: ExitCode.CHECKS_WARNED,
    2: ExitCode.CHECKS_FAILED,
    3: ExitCode.CHECKS_INCONCLUSIVE,
    4: ExitCode.CHECKS_NOT_RUN,  # bad option, unreadable outputs or endpoints file
}

# A stage that stops on an unexpected error fails with its own code, never with a traceback.
STAGE_CRASH_CODES: dict[str, int] = {
    "preflight": ExitCode.PREFLIGHT,
    "settings": ExitCode.INVALID,
    "preview": ExitCode.PREVIEW,
    "up": ExitCode.UP,
    "outputs": ExitCode.OUTPUTS,
    "bake": ExitCode.CHECKS_NOT_RUN,
    "checks": ExitCode.CHECKS_NOT_RUN,
    # A crash mid-rollout may leave traffic split: the rollout state in the stack outputs owns it,
    # and the next deploy resumes or rolls back (docs/rollout.md), as after a failed rollback.
    "rollout": RolloutExit.ROLLBACK_FAILED,
}

STAGE_NAMES = ("preflight", "settings", "preview", "up", "outputs", "bake", "checks", "reports")
Status = Literal["passed", "failed", "skipped"]


@dataclass
class StageResult:
    name: str
    status: Status
    seconds: float = 0.0
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)


class StageFailed(Exception):  # noqa: N818 (control flow: a stage stopped the deploy)
    def __init__(self, code: ExitCode, detail: str, data: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.data = data or {}
