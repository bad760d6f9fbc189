"""The preconditions over an offline plan, and the plan document's `preconditions` section.

`run` is shared with the CrossGuard pack, so a precondition means the same in `fin-infra plan`
and in `pulumi preview`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from infra.plan.engine.runner import PlanResult
from infra.policy.model import Undecidable, from_engine_inputs
from infra.policy.preconditions import STACK_RULES
from infra.policy.preconditions.model import StackFacts, StackResource, StackRule, StackView, Violation, from_planned


@dataclass(frozen=True)
class Outcome:
    rule: StackRule
    violations: tuple[Violation, ...] = ()
    undecided: str | None = None  # a value unknown during preview that the rule needed


@dataclass
class PreconditionsReport:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def mandatory(self) -> list[Violation]:
        return [v for o in self.outcomes if o.rule.level == "mandatory" for v in o.violations]

    @property
    def advisory(self) -> list[Violation]:
        return [v for o in self.outcomes if o.rule.level == "advisory" for v in o.violations]


def run(rule: StackRule, view: StackView, facts: StackFacts) -> Outcome:
    try:
        return Outcome(rule, tuple(rule.check(view, facts)))
    except Undecidable as unknown:
        return Outcome(rule, undecided=str(unknown))


def plan_view(result: PlanResult) -> StackView:
    return StackView(
        from_planned(r.type, r.name, r.urn, from_engine_inputs(r.inputs), r.depends_on, r.property_dependencies)
        for r in result.resources
        if r.custom
    )


def evaluate_stack(view: StackView, facts: StackFacts, rules: Sequence[StackRule] = STACK_RULES) -> PreconditionsReport:
    return PreconditionsReport([run(rule, view, facts) for rule in rules])


def evaluate_preconditions(result: PlanResult) -> PreconditionsReport:
    return evaluate_stack(plan_view(result), StackFacts(registry=result.loaded.settings.compute.registry))


def verdict(report: PreconditionsReport) -> str:
    mandatory, advisory = len(report.mandatory), len(report.advisory)
    if mandatory:
        return f"preconditions: FAIL, {mandatory} unmet: the first `pulumi up` would fail or measure nothing"
    if advisory:
        return f"preconditions: PASS with {advisory} advisory finding{'s' if advisory != 1 else ''}"
    return "preconditions: PASS, every precondition of a first `pulumi up` is met"


def _entry(rule: StackRule, violation: Violation) -> dict[str, Any]:
    resource: StackResource = violation.resource
    return {
        "precondition": rule.id,
        "level": rule.level,
        "type": resource.type,
        "resource": resource.name,
        "message": violation.message,
        "remediation": rule.remediation,
    }


def preconditions_section(report: PreconditionsReport) -> dict[str, Any]:
    """The plan document's `preconditions` section: stable keys and order, no secret values."""
    return {
        "verdict": verdict(report),
        "unmet": len(report.mandatory),
        "advisory": len(report.advisory),
        "rules": [
            {
                "id": o.rule.id,
                "level": o.rule.level,
                "severity": o.rule.severity.value,
                "title": o.rule.title,
                "status": "undecided" if o.undecided else ("fail" if o.violations else "pass"),
                "violations": len(o.violations),
            }
            for o in report.outcomes
        ],
        "violations": sorted(
            (_entry(o.rule, v) for o in report.outcomes for v in o.violations),
            key=lambda e: (e["precondition"], e["resource"], e["message"]),
        ),
    }
