"""Rollout settings (`fin-agent:rollout`) and the rollout state the deploy writes (`fin-agent:rolloutState`).

`rollout` is the user's: the strategy, the traffic steps, the bake per step, the relative
comparison rules and what NO_DATA does. `rolloutState` belongs to `fin-infra deploy`: it is
rewritten before every `pulumi up` of a canary rollout (from the previous deploy's stack
outputs), so each step is a `pulumi up` with new weights and Pulumi's state always matches
Azure. A stack file never needs to hold it; see docs/rollout.md.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator
from pydantic.alias_generators import to_camel

from checks.durations import bounded_duration

Strategy = Literal["all-at-once", "canary"]
NoDataAction = Literal["hold", "rollback", "continue"]
# Phase of a canary rollout, as recorded in `rolloutState` and echoed in the stack outputs:
# - stable: one revision serves 100 % (single-revision mode); nothing in flight;
# - canary: two revisions, the latest (label `canary`) takes `canaryWeight` %;
# - rolledBack: the canary's traffic is gone and the template is the stable's again.
Phase = Literal["stable", "canary", "rolledBack"]

DEFAULT_STEPS = (10, 50, 100)
# Container Apps revision names: `<app>--<suffix>`, lowercase alphanumerics and dashes.
RevisionName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,30}--[a-z0-9][a-z0-9-]{0,62}$")]
ImageRef = Annotated[str, StringConstraints(min_length=1, max_length=1024)]


def duration_seconds(value: str | int | float) -> float:
    """'300', '90s', '5m', '1h', 'PT5M' (or a number of seconds) -> seconds, within the bake bound.

    The same parser and bound as `fin-infra deploy --bake-time` (`checks.durations`), so a
    stack file cannot set a bake a flag would refuse (nor NaN, infinity or a negative one)."""
    return bounded_duration(str(value), "bake").total_seconds()


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, extra="forbid", frozen=True, populate_by_name=True)


class RelativeRule(_Model):
    """Canary vs stable on one target of the target table: the canary may be worse by at most
    `tolerance_percent` of the stable's value (Keptn-style relative criterion). Which way is
    worse comes from the target's `better` (lower latency, higher hit rate)."""

    target: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*$")]
    tolerance_percent: Annotated[float, Field(ge=0, le=1000)]


DEFAULT_RULES = (RelativeRule(target="api-latency", tolerance_percent=10),)


class RolloutSettings(_Model):
    # None: canary in prod on Container Apps, all-at-once elsewhere (see `effective_strategy`).
    strategy: Strategy | None = None
    steps: Annotated[list[Annotated[int, Field(ge=1, le=100)]], Field(min_length=1, max_length=10)] = Field(
        default_factory=lambda: list(DEFAULT_STEPS)
    )
    # How long each step runs before it is judged: one duration, or one per step.
    bake: str | float | list[str | float] = "5m"
    # While baking, the canary is checked this often; a FAIL (a critical threshold crossed)
    # ends the step at once. None: only at the end of the bake.
    check_every: str | float | None = None
    rules: list[RelativeRule] = Field(default_factory=lambda: list(DEFAULT_RULES))
    # What a step whose checks have no data does. None: rollback in prod, continue elsewhere.
    on_no_data: NoDataAction | None = None

    @field_validator("steps")
    @classmethod
    def _increasing_to_100(cls, steps: list[int]) -> list[int]:
        if any(b <= a for a, b in pairwise(steps)):
            raise ValueError(f"{steps} must be strictly increasing")
        if steps[-1] != 100:
            raise ValueError(f"{steps} must end at 100 (the canary takes all the traffic before it is promoted)")
        return steps

    @field_validator("bake", "check_every")
    @classmethod
    def _durations(cls, value: str | float | list[str | float] | None) -> str | float | list[str | float] | None:
        for item in value if isinstance(value, list) else ([] if value is None else [value]):
            duration_seconds(item)
        return value

    @model_validator(mode="after")
    def _bake_per_step(self) -> RolloutSettings:
        if isinstance(self.bake, list) and len(self.bake) != len(self.steps):
            raise ValueError(f"bake lists {len(self.bake)} durations for {len(self.steps)} steps; give one per step")
        return self

    def bake_seconds(self, step_index: int) -> float:
        return duration_seconds(self.bake[step_index] if isinstance(self.bake, list) else self.bake)

    def check_every_seconds(self) -> float | None:
        return None if self.check_every is None else duration_seconds(self.check_every)


class ServiceRolloutState(_Model):
    stable_revision: RevisionName
    stable_image: ImageRef


class RolloutState(_Model):
    """Written by `fin-infra deploy` before each `pulumi up` of a canary rollout."""

    phase: Phase
    canary_weight: Annotated[int, Field(ge=0, le=100)] = 0
    # Per service: the revision serving before this rollout, and its image.
    services: dict[Literal["backend", "web"], ServiceRolloutState] = Field(default_factory=dict)


def effective_strategy(rollout: RolloutSettings | None, environment: str, platform: str) -> Strategy:
    chosen = rollout.strategy if rollout is not None else None
    if chosen is not None:
        return chosen
    return "canary" if environment == "prod" and platform == "containerapps" else "all-at-once"


def effective_on_no_data(rollout: RolloutSettings | None, environment: str) -> NoDataAction:
    chosen = rollout.on_no_data if rollout is not None else None
    if chosen is not None:
        return chosen
    return "rollback" if environment == "prod" else "continue"
