"""Judge a canary: `fin-infra check` on the canary alone, then relative rules against the stable.

The rollout judges only through `fin-infra check` (DESIGN.md). To scope a check to one
revision it writes a copy of the saved outputs file whose services point at that revision's
label address (`<app>---canary.<domain>`, from the `rollout` output) and name that revision,
so the probes reach only that revision and the Azure metrics are scoped to it; an endpoints
file given for the canary (tests, or a private network) replaces the address. The relative
rules then compare the canary's measured value of a target with the stable's (Keptn-style:
canary latency <= stable + 10 %), worse meaning the target's `better` direction.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from checks.targets import TargetTable
from infra.deploy.checks import fin_infra_executable
from infra.settings.rollout import RelativeRule

CHECK_FORMATS = "json,markdown,junit"


@dataclass(frozen=True)
class JudgeOptions:
    canary_endpoints: Path | None = None
    stable_endpoints: Path | None = None
    source: str | None = None
    window: str | None = None
    only: str | None = None


@dataclass
class CheckOutcome:
    revision: str  # "canary" or "stable"
    exit_code: int | None
    report_dir: Path
    values: dict[str, float | None] = field(default_factory=dict)
    verdicts: dict[str, str] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return {0: "PASS", 1: "WARN", 2: "FAIL", 3: "NO_DATA"}.get(self.exit_code, "NOT_RUN")


def scoped_outputs(outputs: dict[str, Any], label: str) -> dict[str, Any]:
    """The outputs with every rolled-out service pointing at its `label` address."""
    scoped = json.loads(json.dumps(outputs))
    rollout_services = (scoped.get("rollout") or {}).get("services") or {}
    for name, service in (scoped.get("services") or {}).items():
        recorded = rollout_services.get(name) or {}
        fqdn = recorded.get(f"{label}Fqdn")
        if fqdn:
            service["fqdn"] = fqdn
            service["url"] = f"https://{fqdn}"
            # Azure metrics of this service are then scoped to the revision (checks/sources/metrics.py).
            service["revision"] = recorded.get(f"{label}Revision")
    return scoped


def run_check(stack: str, outputs: dict[str, Any], label: str, report_dir: Path, options: JudgeOptions) -> CheckOutcome:
    report_dir.mkdir(parents=True, exist_ok=True)
    outputs_file = report_dir / "outputs.json"
    outputs_file.write_text(json.dumps(scoped_outputs(outputs, label), indent=2, sort_keys=True) + "\n")
    outputs_file.chmod(0o600)
    command = [str(fin_infra_executable()), "check", stack, "--outputs", str(outputs_file)]
    # Conformance (live settings vs declared) is about the stack, not a revision: the deploy's
    # checks cover it; a step judges the revision's targets only.
    command += ["--format", CHECK_FORMATS, "--output-dir", str(report_dir), "--no-conformance"]
    endpoints = options.canary_endpoints if label == "canary" else options.stable_endpoints
    for flag, value in (
        ("--endpoints", None if endpoints is None else str(endpoints)),
        ("--source", options.source),
        ("--window", options.window),
        ("--only", options.only),
    ):
        if value is not None:
            command += [flag, value]
    try:
        code: int | None = subprocess.run(command, check=False).returncode
    except OSError:
        code = None
    outcome = CheckOutcome(label, code, report_dir)
    report = report_dir / "check-report.json"
    if report.exists():
        for target in json.loads(report.read_text()).get("targets", []):
            outcome.values[target["id"]] = target.get("value")
            outcome.verdicts[target["id"]] = target.get("verdict", "")
    return outcome


@dataclass(frozen=True)
class Comparison:
    target: str
    canary: float | None
    stable: float | None
    limit: float | None
    verdict: str  # PASS, FAIL, NO_DATA
    detail: str


def compare(
    rules: list[RelativeRule], canary: CheckOutcome, stable: CheckOutcome, targets: TargetTable
) -> list[Comparison]:
    found = []
    for rule in rules:
        try:
            better = targets.get(rule.target).better
        except (KeyError, ValueError):
            found.append(Comparison(rule.target, None, None, None, "NO_DATA", "not in the target table"))
            continue
        mine, theirs = canary.values.get(rule.target), stable.values.get(rule.target)
        if mine is None or theirs is None:
            found.append(Comparison(rule.target, mine, theirs, None, "NO_DATA", "no value for both revisions"))
            continue
        factor = rule.tolerance_percent / 100
        limit = theirs * (1 + factor) if better == "lower" else theirs * (1 - factor)
        worse = mine > limit if better == "lower" else mine < limit
        sign = "<=" if better == "lower" else ">="
        detail = (
            f"canary {mine:g} {'breaks' if worse else 'meets'} {sign} stable {theirs:g} "
            f"{'+' if better == 'lower' else '-'} {rule.tolerance_percent:g} % (= {limit:g})"
        )
        found.append(Comparison(rule.target, mine, theirs, round(limit, 6), "FAIL" if worse else "PASS", detail))
    return found
