"""A settings problem and the error that reports every problem at once.

Messages name the full config key (`fin-agent:services.backend.resources.limits.cpu`), the
file and line when the config came from a stack file, and the offending value, so the user can
find and fix each one. A shown value is cut short (a hostile file cannot make the error huge)
and stripped of URL credentials; values that may be secrets are never shown (the loader passes
none for them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi

from checks.redact import redact_text
from checks.strict_yaml import excerpt

NAMESPACE = "fin-agent"
_HIDDEN = object()


@dataclass(frozen=True)
class Problem:
    path: str  # key path without the namespace, e.g. "services.backend.port"
    message: str
    value: Any = field(default=_HIDDEN)
    # "stacks/Pulumi.dev.yaml:12" when known
    where: str | None = None
    # the key exactly as written when it is not in this project's namespace
    full_key: str | None = None

    @property
    def key(self) -> str:
        return self.full_key or f"{NAMESPACE}:{self.path}"

    def __str__(self) -> str:
        shown = "" if self.value is _HIDDEN else f" (got {shown_value(self.value)})"
        prefix = f"{self.where}: " if self.where else ""
        # A validator's message may quote the value it refused (`'postgres://u:pw@h' is not a
        # duration`): strip credentials from it as from the shown value.
        return f"{prefix}{excerpt(self.key, 120)}: {redact_text(self.message)}{shown}"


def shown_value(value: Any) -> str:
    """A value as an error may echo it: credentials out of URLs, at most 80 characters."""
    if isinstance(value, str):
        return excerpt(repr(redact_text(value[:400])), 80)
    return excerpt(repr(value)[:400], 80)


class SettingsError(pulumi.RunError):
    """Stack settings are invalid. Raised before any resource is declared.

    Derived from `pulumi.RunError` so `pulumi up` prints it without a traceback.
    """

    def __init__(self, problems: list[Problem], stack: str | None = None, source: str | None = None) -> None:
        self.problems = list(problems)
        self.stack = stack
        where = f" for stack '{excerpt(stack, 40)}'" if stack else ""
        where += f" in {source}" if source else ""
        count = len(self.problems)
        lines = [f"Stack settings are invalid{where} ({count} problem{'s' if count != 1 else ''}):"]
        lines += [f"  - {problem}" for problem in self.problems]
        super().__init__("\n".join(lines))
