"""The telemetry contract with the apps, as the alerts and the checks apply it to KQL.

Backend and web report to one Application Insights component. Each app's role name (the
OpenTelemetry `service.name`, which the Azure Monitor exporters write to `cloud_RoleName`,
the `AppRoleName` column of the workspace tables) tells their telemetry apart; the database
dependency types tell PostgreSQL calls apart from other dependencies. The target table's log
queries name them with placeholders, filled here for both enforcers (the alerts in the
Pulumi program and the post-deploy checks), so neither spells a value into KQL on its own:

- `{roleName}`: the judged service's role name, as a KQL string literal;
- `{dependencyTypes}`: the database dependency types, as a comma-separated list of literals;
- `{start}` / `{end}`: the checks' window (UTC instants), filled by the checks only.

Values become double-quoted KQL string literals with the backslash and double quote
escaped (learn.microsoft.com/azure/kusto/query/scalar-data-types/string, "string literals");
control characters are refused rather than escaped, since no role name or dependency type
has one. Substitution is one pass, so a value that looks like a placeholder stays literal.
See docs/telemetry.md for what the apps must do.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

# Printable, no leading or trailing blank (OpenTelemetry trims OTEL_SERVICE_NAME), at most 255
# characters (the longest resource attribute value OpenTelemetry JS's env detector accepts).
ROLE_NAME_PATTERN = r"^[^\s\x00-\x1f\x7f](?:[^\x00-\x1f\x7f]{0,253}[^\s\x00-\x1f\x7f])?$"
DEPENDENCY_TYPE_PATTERN = r"^[^\s\x00-\x1f\x7f](?:[^\x00-\x1f\x7f]{0,126}[^\s\x00-\x1f\x7f])?$"

DEFAULT_ROLE_NAMES: dict[str, str] = {"backend": "backend", "web": "web"}
# `DependencyType` values of PostgreSQL calls: the OpenTelemetry-based exporters write
# `postgresql` for spans with db.system=postgresql (Azure/azure-sdk-for-js,
# sdk/monitor/monitor-opentelemetry-exporter/src/utils/spanUtils.ts, createDependencyData);
# the other spellings come from older agents. supabase-js talks HTTP to PostgREST: its calls
# are `HTTP` dependencies and are not database query time.
DEFAULT_DATABASE_DEPENDENCY_TYPES: tuple[str, ...] = ("postgresql", "postgres", "pg", "SQL")

ROLE_PLACEHOLDER = "{roleName}"
DEPENDENCY_TYPES_PLACEHOLDER = "{dependencyTypes}"
PLACEHOLDER = re.compile(r"\{(start|end|roleName|dependencyTypes)\}")
# Tables the server-side SDKs write per app: a query over one must say whose telemetry it judges.
SERVER_TABLES = ("AppRequests", "AppDependencies", "AppExceptions", "AppTraces", "AppMetrics")

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class TelemetryContractError(ValueError):
    """A value cannot be placed in KQL, or a query needs a value the contract lacks."""


def kql_string(value: str) -> str:
    """`value` as a double-quoted KQL string literal: `a"b\\c` -> `"a\\"b\\\\c"`."""
    if _CONTROL.search(value):
        raise TelemetryContractError(f"{value!r} contains a control character; it cannot be a KQL string literal")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def kql_string_list(values: Iterable[str]) -> str:
    """Literals for `in~ (...)`: `"postgresql", "pg"`."""
    literals = [kql_string(value) for value in values]
    if not literals:
        raise TelemetryContractError("an empty list cannot be a KQL `in` operand")
    return ", ".join(literals)


def fill(template: str, values: Mapping[str, str]) -> str:
    """Replace each known `{name}` of `template` with `values[name]` in one pass.

    Placeholders absent from `values` are an error naming them; text inside values is never
    scanned again.
    """
    missing = sorted({m.group(1) for m in PLACEHOLDER.finditer(template)} - set(values))
    if missing:
        raise TelemetryContractError(f"the query needs {', '.join('{' + m + '}' for m in missing)}, which is not given")
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


@dataclass(frozen=True)
class TelemetryContract:
    """Role name per service, and the database dependency types: what the queries filter on."""

    role_names: Mapping[str, str | None]
    dependency_types: Sequence[str] | None

    def role_name(self, service: str) -> str:
        role = self.role_names.get(service)
        if not role:
            raise TelemetryContractError(f"no role name for service {service!r}")
        return role

    def values(self, service: str | None) -> dict[str, str]:
        """The KQL literals for a query judging `service` (None: a query judging no service)."""
        values: dict[str, str] = {}
        if service is not None:
            values["roleName"] = kql_string(self.role_name(service))
        if self.dependency_types:
            values["dependencyTypes"] = kql_string_list(self.dependency_types)
        return values


def single_line(query: str) -> str:
    """The table's query on one line (alert rules store it so); values are filled afterwards."""
    return " ".join(query.split())


def missing_telemetry_reason(
    table: str, service: str | None, role_name: str | None, dependency_types: Sequence[str] | None, query: str
) -> str:
    """Why a log query over the apps' telemetry found nothing, naming the contract it relies on."""
    if service is None or role_name is None:
        return f"no {table} rows in the window: is the app sending telemetry to this Application Insights component?"
    parts = [f"AppRoleName {role_name!r}"]
    if dependency_types and DEPENDENCY_TYPES_PLACEHOLDER in query:
        parts.append("DependencyType in (" + ", ".join(repr(t) for t in dependency_types) + ")")
    reason = (
        f"no {table} rows with {' and '.join(parts)} in the window: is the {service} sending telemetry "
        f"with its role name (OTEL_SERVICE_NAME={role_name})?"
    )
    if dependency_types and DEPENDENCY_TYPES_PLACEHOLDER in query:
        reason += (
            " Are its PostgreSQL driver calls instrumented? supabase-js calls are HTTP dependencies and do not "
            "count; monitoring.databaseDependencyTypes sets the types (docs/telemetry.md)"
        )
    return reason
