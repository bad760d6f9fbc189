"""A settings problem and the error that reports every problem at once.

Messages name the full config key (`fin-agent:services.backend.resources.limits.cpu`) and the
offending value, so the user can find and fix each one. Values of secret keys are never shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi

NAMESPACE = "fin-agent"
_HIDDEN = object()


@dataclass(frozen=True)
class Problem:
    path: str  # key path without the namespace, e.g. "services.backend.port"
    message: str
    value: Any = field(default=_HIDDEN)

    @property
    def key(self) -> str:
        return f"{NAMESPACE}:{self.path}"

    def __str__(self) -> str:
        shown = "" if self.value is _HIDDEN else f" (got {self.value!r})"
        return f"{self.key}: {self.message}{shown}"


class SettingsError(pulumi.RunError):
    """Stack settings are invalid. Raised before any resource is declared.

    Derived from `pulumi.RunError` so `pulumi up` prints it without a traceback.
    """

    def __init__(self, problems: list[Problem], stack: str | None = None) -> None:
        self.problems = list(problems)
        self.stack = stack
        where = f" for stack '{stack}'" if stack else ""
        count = len(self.problems)
        lines = [f"Stack settings are invalid{where} ({count} problem{'s' if count != 1 else ''}):"]
        lines += [f"  - {problem}" for problem in self.problems]
        super().__init__("\n".join(lines))
