"""Advisory: a zone-redundant environment spreads an app only over as many zones as it has replicas.

Learn, "Reliability in Azure Container Apps" (learn.microsoft.com/azure/reliability/
reliability-azure-container-apps): zone redundancy "only provides benefits when you have 2 or
more replicas, with 3 or more being ideal since most regions that support zone redundancy have
3 zones". The guide fixes `minReplicas: 2`, which the stacks keep; at that floor the replicas
cover at most two of three zones, so losing one zone can leave a single replica until the
scaler adds more. Said as an advisory finding in every stack, never enforced.
"""

from __future__ import annotations

from collections.abc import Iterator

from infra.policy.model import Severity, lookup, number
from infra.policy.preconditions.model import StackFacts, StackRule, StackView, Violation
from infra.policy.rules.types import CONTAINER_APP, MANAGED_ENVIRONMENT

ZONES_PER_REGION = 3


def _zone_spread(view: StackView, facts: StackFacts) -> Iterator[Violation]:
    for app in view.of_type(CONTAINER_APP):
        environments = view.through(app, "environmentId", MANAGED_ENVIRONMENT)
        if not any(lookup(env.props, "zoneRedundant") is True for env in environments):
            continue
        minimum = number(lookup(app.props, "template.scale.minReplicas")) or 0
        if minimum < ZONES_PER_REGION:
            yield Violation(
                app,
                f"{app.name} keeps {minimum:g} replica(s) at minimum in a zone-redundant environment: they cover at "
                f"most {int(minimum)} of the region's {ZONES_PER_REGION} zones, so one zone outage can leave "
                f"{max(int(minimum) - 1, 0)} replica(s) until the scaler adds more (kept at the guide's value)",
            )


RULES = (
    StackRule(
        id="zone-spread",
        title=f"Apps in a zone-redundant environment keep at least {ZONES_PER_REGION} replicas, one per zone",
        remediation=f"Raise autoscale.minReplicas to {ZONES_PER_REGION} to cover every zone (the guide's 2 is kept "
        "by default: this finding is advisory).",
        severity=Severity.LOW,
        check=_zone_spread,
        level="advisory",
    ),
)
