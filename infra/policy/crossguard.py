"""The rules as a Pulumi policy pack (CrossGuard): what `pulumi preview --policy-pack infra/policy/pack` runs.

Each rule becomes a `ResourceValidationPolicy` named by its id, with its severity, pillar tag
and remediation text. The validation reads `args.props` into the rules' neutral form and
hands it to the same `judge` the offline plan uses: violations are reported, "not
applicable" is reported as such, and a value unknown during preview raises the SDK's own
`UnknownValueError` (Pulumi prints "can't run policy ... during preview" as an advisory).

Enforcement for a real preview. The engine starts the pack with the stack being previewed
(`PULUMI_STACK`) and its configuration (`PULUMI_CONFIG`). The environment is
`fin-agent:environment` from that configuration, or the stack's name, exactly as the program
decides it; prod (or an environment that cannot be determined: fail closed) makes every rule
mandatory, dev and staging advisory. `fin-infra deploy` also passes a generated
`--policy-pack-config` (see `pack_config`) that pins the same levels explicitly, and anyone
may pass their own (e.g. to disable one rule) the usual Pulumi way.

The preconditions (`infra.policy.preconditions`) become `StackValidationPolicy`s: the engine
sends every resource with its dependencies once the program has registered them all, and each
precondition runs the same `run` as the offline plan. They are mandatory in every stack
(advisory for `zone-spread`), whatever the environment; the registry's pull path they need
comes from the stack's `fin-agent:compute` config.

Building the `PolicyPack` starts a server and blocks, so it happens only in the pack
directory's `__main__.py`; everything here is importable and tested without it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pulumi_policy
from pulumi_policy.proxy import UnknownValueError

from checks.targets import TargetTable, load_targets
from infra.policy.evaluate import PACK_NAME, judge
from infra.policy.model import Enforcement, Rule, StackContext, Subject, enforcement_for, from_policy_props
from infra.policy.preconditions import STACK_RULES
from infra.policy.preconditions.evaluate import run
from infra.policy.preconditions.model import StackFacts, StackResource, StackRule, StackView, from_planned
from infra.policy.rules import RULES, RULES_BY_ID
from infra.policy.rules.security import stack_secret_values
from infra.settings.model import RegistrySettings
from infra.settings.problems import NAMESPACE

PACK_DIR = Path(__file__).with_name("pack")
ENVIRONMENTS = ("dev", "staging", "prod")
_LEVELS = {
    Enforcement.MANDATORY: pulumi_policy.EnforcementLevel.MANDATORY,
    Enforcement.ADVISORY: pulumi_policy.EnforcementLevel.ADVISORY,
}


def engine_stack(environ: Mapping[str, str]) -> tuple[str | None, str | None, str | None]:
    """(stack, environment, location) of the stack the engine is analysing, from its environment."""
    stack = (environ.get("PULUMI_STACK") or "").rsplit("/", 1)[-1] or None
    try:
        config = json.loads(environ.get("PULUMI_CONFIG") or "{}")
    except json.JSONDecodeError:
        config = {}
    if not isinstance(config, dict):
        config = {}
    environment = config.get(f"{NAMESPACE}:environment") or stack
    location = config.get(f"{NAMESPACE}:location")
    return stack, (environment if environment in ENVIRONMENTS else None), location


def engine_facts(environ: Mapping[str, str]) -> StackFacts:
    """What the preconditions need from the stack's settings (the registry's pull path), from its config."""
    try:
        config = json.loads(environ.get("PULUMI_CONFIG") or "{}")
        compute = config.get(f"{NAMESPACE}:compute") if isinstance(config, dict) else None
        compute = json.loads(compute) if isinstance(compute, str) else compute
        registry = compute.get("registry") if isinstance(compute, dict) else None
        return StackFacts(registry=RegistrySettings.model_validate(registry) if registry else None)
    except (json.JSONDecodeError, ValueError):
        return StackFacts()  # unreadable settings: every image must then show its own complete pull path


def _stack_resource(resource: pulumi_policy.PolicyResource) -> StackResource:
    return from_planned(
        resource.resource_type,
        resource.name,
        resource.urn,
        from_policy_props(resource.props),
        [dependency.urn for dependency in resource.dependencies],
        {key: [d.urn for d in deps] for key, deps in resource.property_dependencies.items()},
    )


def to_stack_policy(rule: StackRule, facts: StackFacts) -> pulumi_policy.StackValidationPolicy:
    """A precondition as a stack-validation policy: same `run` as offline, violations per resource."""

    def validate(args: pulumi_policy.StackValidationArgs, report_violation: pulumi_policy.ReportViolation) -> None:
        view = StackView(_stack_resource(resource) for resource in args.resources)
        outcome = run(rule, view, facts)
        if outcome.undecided:
            raise UnknownValueError("04da6b54-80e4-46f7-96ec-b56ff0331ba9", outcome.undecided.split(" ")[0].split("."))
        for violation in outcome.violations:
            report_violation(violation.message, violation.resource.urn)

    level = Enforcement.MANDATORY if rule.level == "mandatory" else Enforcement.ADVISORY
    return pulumi_policy.StackValidationPolicy(
        name=rule.id,
        description=rule.title,
        validate=validate,
        enforcement_level=_LEVELS[level],
        severity=pulumi_policy.Severity(rule.severity.value),
        tags=["precondition" if rule.level == "mandatory" else "reliability"],
        remediation_steps=rule.remediation,
    )


def to_policy(rule: Rule, context: StackContext, enforcement: Enforcement) -> pulumi_policy.ResourceValidationPolicy:
    def validate(args: pulumi_policy.ResourceValidationArgs, report_violation: pulumi_policy.ReportViolation) -> None:
        if not rule.applies(args.resource_type):
            return
        resource = Subject(args.resource_type, args.name, from_policy_props(args.props), args.urn)
        judgement = judge(rule, resource, context)
        if judgement.status == "fail":
            for message in judgement.messages:
                report_violation(message, None)
        elif judgement.status == "not-applicable":
            args.not_applicable(judgement.messages[0])
        elif judgement.status == "undecided":
            raise _unknown(rule, resource, context)

    return pulumi_policy.ResourceValidationPolicy(
        name=rule.id,
        description=rule.title,
        validate=validate,
        enforcement_level=_LEVELS[enforcement],
        severity=pulumi_policy.Severity(rule.severity.value),
        tags=[rule.pillar],
        remediation_steps=rule.remediation,
    )


def _unknown(rule: Rule, resource: Subject, context: StackContext) -> UnknownValueError:
    """The SDK's own error for an unknown value, naming the property the rule needed."""
    from infra.policy.model import Undecidable

    try:
        list(rule.check(resource, context))
    except Undecidable as unknown:
        return UnknownValueError(unknown.unknown.sentinel, unknown.path.split("."))
    raise AssertionError("judge said undecided, but the rule decided on a second run")  # pragma: no cover


# A resource policy sees one resource: a secret stored in Key Vault (another resource) and copied
# into an app's plain environment is invisible to it. This stack policy sees them all.
STACK_SECRETS_POLICY = "no-plain-secrets-across-resources"


def stack_secrets_policy(context: StackContext, enforcement: Enforcement) -> pulumi_policy.StackValidationPolicy:
    rule = RULES_BY_ID["no-plain-secrets"]

    def validate(args: pulumi_policy.StackValidationArgs, report_violation: pulumi_policy.ReportViolation) -> None:
        subjects = [Subject(r.resource_type, r.name, from_policy_props(r.props), r.urn) for r in args.resources]
        stack_wide = replace(context, secret_values=stack_secret_values(subjects))
        for subject in subjects:
            if not rule.applies(subject.type):
                continue
            judgement = judge(rule, subject, stack_wide)
            if judgement.status != "fail":
                continue
            own = judge(rule, subject, context)  # what the resource policy reports already
            already = set(own.messages) if own.status == "fail" else set()
            for message in judgement.messages:
                if message not in already:
                    report_violation(message, subject.urn)

    return pulumi_policy.StackValidationPolicy(
        name=STACK_SECRETS_POLICY,
        description="No secret of the stack (Key Vault secrets included) reaches a container as a plain value",
        validate=validate,
        enforcement_level=_LEVELS[enforcement],
        severity=pulumi_policy.Severity(rule.severity.value),
        tags=[rule.pillar],
        remediation_steps=rule.remediation,
    )


def policies(
    environment: str | None, location: str | None, targets: TargetTable | None = None
) -> list[pulumi_policy.ResourceValidationPolicy | pulumi_policy.StackValidationPolicy]:
    context = StackContext(targets=targets or load_targets(), location=location)
    enforcement = enforcement_for(environment)
    resource_policies: list[Any] = [to_policy(rule, context, enforcement) for rule in RULES]
    return [*resource_policies, stack_secrets_policy(context, enforcement)]


def pack_arguments(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Everything `PolicyPack(...)` takes, for the stack the engine is analysing."""
    stack, environment, location = engine_stack(os.environ if environ is None else environ)
    enforcement = enforcement_for(environment)
    described = environment or f"unknown (stack {stack!r}): enforced as prod"
    stack_policies = [
        to_stack_policy(rule, engine_facts(os.environ if environ is None else environ)) for rule in STACK_RULES
    ]
    return {
        "name": PACK_NAME,
        "policies": [*policies(environment, location), *stack_policies],
        "enforcement_level": _LEVELS[enforcement],
        "description": (
            f"Fin Agent guardrails (security, reliability, performance, operations); environment {described}, "
            f"violations {enforcement.value}"
        ),
        "provider": "azure",
        "tags": ["azure", "fin-agent"],
    }


def pack_config(environment: str) -> dict[str, dict[str, str]]:
    """A `--policy-pack-config` document pinning every rule's level for `environment`."""
    level = enforcement_for(environment).value
    pins = {policy_id: {"enforcementLevel": level} for policy_id in [*(r.id for r in RULES), STACK_SECRETS_POLICY]}
    pins.update({rule.id: {"enforcementLevel": rule.level} for rule in STACK_RULES})
    return pins


def write_pack_config(environment: str, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(pack_config(environment), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path
