"""What a rule is, what it sees, and how it reads a resource's properties.

A rule is a plain function over one resource and the stack's context that yields violation
messages. It sees the resource's inputs exactly as the Pulumi engine receives them (camelCase
SDK property names), in one neutral form built from either source:

- offline, from `PlannedResource.inputs` (mock engine): engine-wrapped secrets are unwrapped;
- in `pulumi preview`, from `ResourceValidationArgs.props`: the policy SDK has already
  unwrapped secrets; values the engine cannot know yet become `Unknown`.

Secretness is therefore not visible to rules in either place (Pulumi marks a whole top-level
property secret when any value inside it is), so rules that look for leaked secrets judge by
names and by comparing values, and never put a value into a message.

A rule that meets an unknown value raises `Undecidable` (the pack reports "can't run during
preview", as the policy SDK does for its own unknowns); a rule that does not concern a
resource raises `NotApplicable` with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from pulumi.runtime import rpc

from checks.targets import TargetTable

Pillar = Literal["security", "reliability", "performance", "operations"]

# The engine's placeholders for values not known until the resource exists (pulumi-policy's
# proxy module lists the same strings).
UNKNOWN_SENTINELS = frozenset(
    {
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",  # boolean
        "3eeb2bf0-c639-47a8-9e75-3b44932eb421",  # number
        "04da6b54-80e4-46f7-96ec-b56ff0331ba9",  # string
        "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",  # array
        "030794c1-ac77-496b-92df-f27374a8bd58",  # asset
        "e48ece36-62e2-4504-bad9-02848725956a",  # archive
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",  # object
    }
)


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Enforcement(StrEnum):
    MANDATORY = "mandatory"
    ADVISORY = "advisory"


def enforcement_for(environment: str | None) -> Enforcement:
    """Mandatory in prod, advisory in dev and staging; an unknown environment is treated as prod."""
    if environment in ("dev", "staging"):
        return Enforcement.ADVISORY
    return Enforcement.MANDATORY


@dataclass(frozen=True)
class Unknown:
    """A value the engine cannot know during preview (e.g. another resource's id)."""

    sentinel: str

    def __repr__(self) -> str:
        return "<unknown during preview>"


class Undecidable(Exception):  # noqa: N818 (an outcome, not an error)
    """The rule needs a value that is unknown during preview."""

    def __init__(self, path: str, unknown: Unknown) -> None:
        super().__init__(f"{path} is not known during preview")
        self.path = path
        self.unknown = unknown


class NotApplicable(Exception):  # noqa: N818 (an outcome, not an error)
    """The rule does not concern this resource; the reason says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Subject:
    """One resource as a rule sees it."""

    type: str
    name: str
    props: Mapping[str, Any]
    urn: str = ""

    @property
    def kind(self) -> str:
        """The type token without an explicit API-version module (`app/v20250101` -> `app`)."""
        return normalize_type(self.type)


@dataclass(frozen=True)
class StackContext:
    """What rules may know besides the resource: the stack's region, the target table, and the
    values of every secret the stack declares (Key Vault secrets included), so a rule can see a
    secret copied into a plain setting of another resource."""

    targets: TargetTable
    location: str | None = None
    secret_values: frozenset[str] = frozenset()


Check = Callable[[Subject, StackContext], Iterable[str]]


@dataclass(frozen=True)
class Rule:
    id: str
    pillar: Pillar
    severity: Severity
    title: str  # what must hold, one sentence
    remediation: str  # what to change, naming the stack setting where there is one
    check: Check
    types: frozenset[str] = field(default_factory=frozenset)  # normalized type tokens
    applies_to: Callable[[str], bool] | None = None  # instead of `types`, e.g. "every taggable resource"
    scope: str = ""  # human description of what is checked, for the README table

    def applies(self, type_token: str) -> bool:
        kind = normalize_type(type_token)
        if self.applies_to is not None:
            return self.applies_to(kind)
        return kind in self.types


_VERSIONED_MODULE = re.compile(r"^(?P<pkg>[^:]+):(?P<module>[^/:]+)/v[0-9a-z]+:(?P<name>.+)$")


def normalize_type(type_token: str) -> str:
    match = _VERSIONED_MODULE.match(type_token)
    if match:
        return f"{match['pkg']}:{match['module']}:{match['name']}"
    return type_token


# --- building the neutral form --------------------------------------------------------------


def from_engine_inputs(value: Any) -> Any:
    """Mock-engine inputs (`PlannedResource.inputs`) in the form rules read: secrets unwrapped."""
    if rpc.is_rpc_secret(value):
        return from_engine_inputs(rpc.unwrap_rpc_secret(value))
    if isinstance(value, str) and value in UNKNOWN_SENTINELS:
        return Unknown(value)
    if isinstance(value, Mapping):
        return {key: from_engine_inputs(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [from_engine_inputs(item) for item in value]
    return value


def from_policy_props(value: Any) -> Any:
    """`ResourceValidationArgs.props` (the policy SDK's unknown-checking proxy) in the same form.

    Reads through the proxy's `__target` so that an unknown value deep inside does not stop a
    rule that never looks at it; unknowns become `Unknown`.
    """
    target = _proxy_target(value)
    if isinstance(target, str) and target in UNKNOWN_SENTINELS:
        return Unknown(target)
    if isinstance(target, Mapping):
        return {key: from_policy_props(_proxy_item(target, key)) for key in target}
    if isinstance(target, (list, tuple)):
        return [from_policy_props(item) for item in target]
    return target


def _proxy_target(value: Any) -> Any:
    """The wrapped dict or list of a pulumi-policy proxy (plain values pass through)."""
    if isinstance(value, (dict, list, tuple, str)) or value is None:
        return value
    try:
        return value["__target"]
    except (KeyError, TypeError, IndexError):
        return value


def _proxy_item(target: Mapping[str, Any], key: str) -> Any:
    return dict.__getitem__(target, key) if isinstance(target, dict) else target[key]


# --- reading properties ---------------------------------------------------------------------

_MISSING = object()


def lookup(props: Mapping[str, Any], path: str, default: Any = None) -> Any:
    """The value at a dotted camelCase path; `default` when absent; `Undecidable` when unknown."""
    current: Any = props
    walked: list[str] = []
    for part in path.split("."):
        walked.append(part)
        if isinstance(current, Unknown):
            raise Undecidable(".".join(walked[:-1]), current)
        if not isinstance(current, Mapping):
            return default
        current = current.get(part, _MISSING)
        if current is _MISSING or current is None:
            return default
    if isinstance(current, Unknown):
        raise Undecidable(path, current)
    return current


def is_set(props: Mapping[str, Any], path: str) -> bool:
    """Whether the path holds a value; a value unknown during preview counts as set."""
    try:
        value = lookup(props, path)
    except Undecidable:
        return True
    return value not in (None, "", [], {})


def entries(props: Mapping[str, Any], path: str) -> list[Any]:
    """The list at `path` (empty when absent); `Undecidable` when it, or an entry, is unknown."""
    value = lookup(props, path, [])
    if not isinstance(value, list):
        return []
    for index, item in enumerate(value):
        if isinstance(item, Unknown):
            raise Undecidable(f"{path}[{index}]", item)
    return value


def field_of(item: Any, path: str, where: str, default: Any = None) -> Any:
    """`lookup` on a list entry, naming the entry in the error (`containers[0].resources.cpu`)."""
    if not isinstance(item, Mapping):
        return default
    try:
        return lookup(item, path, default)
    except Undecidable as unknown:
        raise Undecidable(f"{where}.{unknown.path}", unknown.unknown) from None


def number(value: Any) -> float | None:
    """A number the engine sent (ints arrive as floats; KEDA metadata as strings), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def shown(value: Any) -> str:
    """A non-secret value for a message: 'absent' when missing, else its repr-like text."""
    if value is None:
        return "absent"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return f"'{value}'"
    return str(value)
