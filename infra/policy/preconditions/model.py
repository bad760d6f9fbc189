"""What a stack rule sees: every resource of the plan, with the dependencies Pulumi recorded.

A per-resource rule (`infra.policy.model`) sees one property bag. A precondition needs the
whole plan: which identity an app pulls with, whether a role assignment grants it, whether the
app waits for that grant, which network a private DNS zone is linked to. It reads all of that
from what the engine records for every resource, in the same form offline and in a preview:

- offline, from the mock engine (`PlannedResource`: inputs, `depends_on`, `property_dependencies`);
- in `pulumi preview`, from `StackValidationArgs.resources` (`PolicyResource`: props,
  `dependencies`, `property_dependencies`).

Values created by Azure (ids, principal ids) are unknown during a preview of a new stack, so
rules link resources by the engine's property dependencies (the role assignment's
`principalId` depends on the identity; the app's `configuration` depends on it), never by
comparing ids. `dependencies` are direct; `waits_for` follows them transitively, which is what
orders creation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from infra.policy.model import Severity, Undecidable, Unknown, normalize_type
from infra.settings.model import RegistrySettings

Level = Literal["mandatory", "advisory"]


@dataclass(frozen=True)
class StackResource:
    type: str  # normalized type token (no API-version module)
    name: str
    urn: str
    props: Mapping[str, Any]
    dependencies: frozenset[str] = frozenset()
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class StackFacts:
    """What the settings declare that the resources cannot show: how images may be pulled."""

    registry: RegistrySettings | None = None


class StackView:
    """The plan's resources, looked up by URN, type and property dependency."""

    def __init__(self, resources: Iterable[StackResource]) -> None:
        self.resources = list(resources)
        self.by_urn = {resource.urn: resource for resource in self.resources}
        self._closures: dict[str, frozenset[str]] = {}

    def of_type(self, *types: str) -> list[StackResource]:
        return [r for r in self.resources if r.type in types]

    def through(self, resource: StackResource, prop: str, *types: str) -> list[StackResource]:
        """Resources of `types` that the value of `resource.prop` depends on (directly)."""
        found = [self.by_urn[u] for u in resource.property_dependencies.get(prop, ()) if u in self.by_urn]
        return [r for r in found if not types or r.type in types]

    def waits_for(self, resource: StackResource) -> frozenset[str]:
        """Every URN `resource` is created after: its dependencies, transitively."""
        if resource.urn not in self._closures:
            seen: set[str] = set()
            stack = list(resource.dependencies)
            while stack:
                urn = stack.pop()
                if urn in seen:
                    continue
                seen.add(urn)
                if urn in self.by_urn:
                    stack.extend(self.by_urn[urn].dependencies)
            self._closures[resource.urn] = frozenset(seen)
        return self._closures[resource.urn]


@dataclass(frozen=True)
class Violation:
    resource: StackResource
    message: str  # names the resource and the missing precondition


StackCheck = Callable[[StackView, StackFacts], Iterable[Violation]]


@dataclass(frozen=True)
class StackRule:
    id: str
    title: str  # what must hold, one sentence
    remediation: str
    severity: Severity
    check: StackCheck
    level: Level = "mandatory"  # the same in every stack: each predicts a failed or useless deploy


def from_planned(
    type_token: str,
    name: str,
    urn: str,
    props: Mapping[str, Any],
    dependencies: Iterable[str],
    property_dependencies: Mapping[str, Iterable[str]],
) -> StackResource:
    return StackResource(
        normalize_type(type_token),
        name,
        urn,
        props,
        frozenset(dependencies),
        {key: tuple(urns) for key, urns in property_dependencies.items()},
    )


def known_text(value: Any, path: str) -> str | None:
    """A string the rule may compare, None when absent; `Undecidable` when unknown in preview."""
    if isinstance(value, Unknown):
        raise Undecidable(path, value)
    return value if isinstance(value, str) else None


def one_of(candidates: list[StackResource], value: Any, name_input: str, what: str) -> StackResource | None:
    """The candidate a reference points to: by name when the id is known, else the only one.

    `value` is an ARM id (known) or unknown during preview; `name_input` is the input holding
    each candidate's Azure name (the id's last segment).
    """
    if isinstance(value, str):
        name = value.rstrip("/").rsplit("/", 1)[-1].lower()
        matches = [c for c in candidates if str(c.props.get(name_input, "")).lower() == name]
        return matches[0] if matches else None
    if len(candidates) == 1:
        return candidates[0]
    if isinstance(value, Unknown):
        raise Undecidable(what, value)
    return None
