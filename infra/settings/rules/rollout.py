"""Rollout rules: a canary needs Container Apps' revisions; container groups keep the all-at-once flow.

A container group has no revisions, no traffic weights and no labels: an update replaces its
containers in place (Learn, "Update containers in Azure Container Instances"), so there is no
second version to send a share of the traffic to. Asking for a canary there is refused.
"""

from __future__ import annotations

from infra.settings.model import StackSettings
from infra.settings.problems import Problem

SECTIONS = frozenset({"compute", "rollout", "rollout_state"})


def check(settings: StackSettings) -> list[Problem]:
    if settings.compute.platform != "containerinstances":
        return []
    problems = []
    if settings.rollout is not None and settings.rollout.strategy == "canary":
        problems.append(
            Problem(
                "rollout.strategy",
                "a canary needs revisions and traffic weights, which only Container Apps have: container "
                "groups are updated in place, so there is no second version to split traffic with; use "
                "strategy: all-at-once or compute.platform: containerapps",
                "canary",
            )
        )
    if settings.rollout_state is not None:
        problems.append(Problem("rolloutState", "is written by a canary rollout, which container groups cannot run"))
    return problems


def notices(_settings: StackSettings) -> list[str]:
    return []
