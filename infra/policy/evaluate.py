"""Run the rules over resources and collect what they found: the offline half of the pack.

`judge` interprets one rule on one resource (pass, violations, not applicable, undecided) and is
shared with the real pack (`infra.policy.pack`), so a rule means the same in `fin-infra plan`
and in `pulumi preview`. `evaluate_plan` runs every rule over a mock-engine plan;
`policy_section` is the plan document's `policy` section (documented in docs/plan-and-policy.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from infra.plan.engine.runner import PlannedResource, PlanResult
from infra.policy.model import (
    Enforcement,
    NotApplicable,
    Rule,
    StackContext,
    Subject,
    Undecidable,
    enforcement_for,
    from_engine_inputs,
)
from infra.policy.rules import RULES
from infra.policy.rules.security import stack_secret_values

PACK_NAME = "fin-agent"
Status = Literal["pass", "fail", "not-applicable", "undecided"]


@dataclass(frozen=True)
class Judgement:
    status: Status
    messages: tuple[str, ...] = ()  # violations (fail), or the reason (not-applicable, undecided)


def judge(rule: Rule, resource: Subject, context: StackContext) -> Judgement:
    try:
        messages = tuple(rule.check(resource, context))
    except NotApplicable as reason:
        return Judgement("not-applicable", (reason.reason,))
    except Undecidable as unknown:
        return Judgement("undecided", (str(unknown),))
    return Judgement("fail", messages) if messages else Judgement("pass")


@dataclass(frozen=True)
class Finding:
    rule: Rule
    resource: Subject
    message: str
    enforcement: Enforcement


@dataclass
class RuleTally:
    rule: Rule
    evaluated: int = 0  # resources the rule judged (passed or failed)
    failed: int = 0  # resources with at least one violation
    not_applicable: int = 0
    undecided: int = 0


@dataclass
class PolicyReport:
    environment: str
    enforcement: Enforcement
    tallies: list[RuleTally]
    findings: list[Finding] = field(default_factory=list)
    skipped: list[tuple[Rule, Subject, Status, str]] = field(default_factory=list)

    @property
    def mandatory(self) -> list[Finding]:
        return [f for f in self.findings if f.enforcement is Enforcement.MANDATORY]

    @property
    def advisory(self) -> list[Finding]:
        return [f for f in self.findings if f.enforcement is Enforcement.ADVISORY]

    def tally(self, rule_id: str) -> RuleTally:
        return next(t for t in self.tallies if t.rule.id == rule_id)


def subject_of(resource: PlannedResource) -> Subject:
    return Subject(resource.type, resource.name, from_engine_inputs(resource.inputs), resource.urn)


def evaluate(
    resources: Iterable[Subject],
    context: StackContext,
    environment: str,
    rules: Sequence[Rule] = RULES,
) -> PolicyReport:
    """Judge every resource by every rule that applies to its type."""
    enforcement = enforcement_for(environment)
    report = PolicyReport(environment, enforcement, [RuleTally(rule) for rule in rules])
    subjects = list(resources)
    if not context.secret_values:
        context = replace(context, secret_values=stack_secret_values(subjects))
    for tally in report.tallies:
        rule = tally.rule
        for resource in subjects:
            if not rule.applies(resource.type):
                continue
            judgement = judge(rule, resource, context)
            if judgement.status in ("pass", "fail"):
                tally.evaluated += 1
            if judgement.status == "fail":
                tally.failed += 1
                report.findings += [Finding(rule, resource, message, enforcement) for message in judgement.messages]
            elif judgement.status == "not-applicable":
                tally.not_applicable += 1
                report.skipped.append((rule, resource, judgement.status, judgement.messages[0]))
            elif judgement.status == "undecided":
                tally.undecided += 1
                report.skipped.append((rule, resource, judgement.status, judgement.messages[0]))
    return report


def evaluate_plan(result: PlanResult) -> PolicyReport:
    """The pack over an offline plan: custom resources only (components carry no Azure settings)."""
    settings = result.loaded.settings
    context = StackContext(targets=result.targets, location=settings.location)
    subjects = [subject_of(resource) for resource in result.resources if resource.custom]
    return evaluate(subjects, context, settings.environment)


def verdict(report: PolicyReport) -> str:
    mandatory, advisory = len(report.mandatory), len(report.advisory)
    if mandatory:
        outcome = f"FAIL: {mandatory} mandatory violation{'s' if mandatory != 1 else ''}"
    elif advisory:
        outcome = f"PASS with {advisory} advisory violation{'s' if advisory != 1 else ''}"
    else:
        outcome = "PASS: no violations"
    return f"policy pack {PACK_NAME} ({report.environment}: violations are {report.enforcement.value}): {outcome}"


def policy_section(report: PolicyReport) -> dict[str, Any]:
    """The plan document's `policy` section: stable keys and order, no secret values."""
    return {
        "pack": PACK_NAME,
        "environment": report.environment,
        "enforcement": report.enforcement.value,
        "verdict": verdict(report),
        "mandatoryViolations": len(report.mandatory),
        "advisoryViolations": len(report.advisory),
        "rules": [
            {
                "id": tally.rule.id,
                "pillar": tally.rule.pillar,
                "severity": tally.rule.severity.value,
                "title": tally.rule.title,
                "evaluated": tally.evaluated,
                "violations": tally.failed,
                "notApplicable": tally.not_applicable,
                "undecided": tally.undecided,
            }
            for tally in report.tallies
        ],
        "violations": [
            {
                "rule": finding.rule.id,
                "severity": finding.rule.severity.value,
                "enforcement": finding.enforcement.value,
                "type": finding.resource.type,
                "resource": finding.resource.name,
                "message": finding.message,
                "remediation": finding.rule.remediation,
            }
            for finding in sorted(report.findings, key=lambda f: (f.rule.id, f.resource.urn, f.message))
        ],
        "skipped": [
            {"rule": rule.id, "resource": resource.name, "status": status, "reason": reason}
            for rule, resource, status, reason in sorted(report.skipped, key=lambda s: (s[0].id, s[1].urn))
        ],
    }
