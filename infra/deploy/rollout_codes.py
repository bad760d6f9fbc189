"""Exit codes of `fin-infra deploy` for a canary rollout, beyond the deploy's own (`stages.ExitCode`).

0 means promoted. The others say what happened to the traffic, so a CI job (or a person) knows
whether anything is left to do: 20 and 23 leave the stable revision serving everything; 21 and
22 leave traffic split, owned by the rollout state recorded in the stack outputs, which the
next `fin-infra deploy` resumes or rolls back (docs/rollout.md).
"""

from __future__ import annotations

from enum import IntEnum


class RolloutExit(IntEnum):
    PROMOTED = 0  # every step passed: the canary takes 100 % and is the stable revision now
    ROLLED_BACK = 20  # the canary failed a step (targets, relative rules, or NO_DATA with onNoData: rollback)
    HELD = 21  # NO_DATA with onNoData: hold: traffic stays split at this step; the next run resumes
    ROLLBACK_FAILED = 22  # a rollback `pulumi up` failed: traffic may be split; the next run rolls back
    UP_FAILED_ROLLED_BACK = 23  # a `pulumi up` of a step failed; the canary was rolled back
