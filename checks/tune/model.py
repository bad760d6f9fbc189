"""What `fin-infra tune` reports: one finding per tuned subject and knob, with its evidence.

A finding is a recommendation (a change of one or more stack-file settings), "no change" (the
measurements sit where the target table wants them), or "no data" (nothing to base a change
on; never a recommendation). Each carries the rule that decided it, in words, and the figures
it was decided from, so a reviewer can redo the arithmetic.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

Kind = Literal["change", "no-change", "no-data"]


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class SettingChange(_Model):
    """One stack-file value: its dotted path under `config` (`services.backend.resources...`)."""

    path: str
    current: Any
    proposed: Any


class Finding(_Model):
    subject: str  # e.g. "service backend", "cache"
    knob: str  # e.g. "allocation", "maxReplicas", "cpuUtilization", "sku"
    kind: Kind
    summary: str
    rule: str
    evidence: dict[str, Any] = Field(default_factory=dict)
    changes: list[SettingChange] = Field(default_factory=list)


class Validation(_Model):
    """Whether the patched stack file passes the settings, the policy pack and the preconditions."""

    ran: bool
    passed: bool
    detail: str
    mandatory_violations: list[str] = Field(default_factory=list)


class TuneResult(_Model):
    stack: str
    stack_file: str
    window: str
    grain: str
    start: str
    end: str
    findings: list[Finding]
    patch: str
    validation: Validation
    cost: str
    calls: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def changes(self) -> list[Finding]:
        return [f for f in self.findings if f.kind == "change"]
