"""The stack-output contract, as the checks (and any later tool) read it.

`pulumi stack output --json` of a fin-agent stack, or the file a CI job saved from it, parses
into `StackOutputs`. The Pulumi program writes these outputs (`infra/program.py`); a test
plans every stack and parses its outputs here, so the two sides cannot drift apart. Readers
ignore keys they do not know, so the program may add outputs without breaking older checks;
`contractVersion` changes when a key's meaning changes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError
from pydantic.alias_generators import to_camel

from checks.inputfiles import InputFileError, read_json_bytes, read_limited
from checks.strict_yaml import excerpt, join_path
from checks.telemetry import DEPENDENCY_TYPE_PATTERN, ROLE_NAME_PATTERN, TelemetryContract

CONTRACT_VERSION = 1


class OutputsError(ValueError):
    """The outputs are missing, unreadable, or do not follow the contract."""


class _Out(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, extra="ignore", frozen=True, populate_by_name=True, allow_inf_nan=False
    )


def _not_bool(value: Any) -> Any:
    """JSON `true` is not the number 1 (pydantic's lax mode would say it is)."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not true/false")
    return value


# A deployed size or count is finite and positive (the program never writes another).
Positive = Annotated[float, BeforeValidator(_not_bool), Field(gt=0, le=1_000_000)]
Count = Annotated[int, BeforeValidator(_not_bool), Field(ge=0, le=1_000_000)]
Port = Annotated[int, BeforeValidator(_not_bool), Field(ge=1, le=65535)]


class ResourceGroupOut(_Out):
    name: str
    id: str


class SizeOut(_Out):
    cpu: Positive
    memory_gb: Positive


class ScaleOut(_Out):
    min_replicas: Count
    max_replicas: Count
    cpu_utilization: Annotated[int, BeforeValidator(_not_bool), Field(ge=1, le=100)]
    http_concurrency: Count | None = None
    cooldown_seconds: Count
    polling_seconds: Count


class ServiceOut(_Out):
    """One service (backend or web) as deployed.

    On Container Apps `resourceIds` holds the app; on container groups it holds every group
    running this container (`containerName` picks its rows in per-container metrics).
    """

    kind: Literal["containerapp", "containergroup"]
    resource_ids: list[str]
    container_name: str
    # The AppRoleName its telemetry carries (OTEL_SERVICE_NAME). Absent in outputs of stacks
    # deployed before the telemetry contract: log queries judging this service then say so.
    role_name: Annotated[str, StringConstraints(pattern=ROLE_NAME_PATTERN)] | None = None
    fqdn: str | None = None
    url: str | None = None
    # Set by a rollout step (docs/rollout.md): judge only this Container Apps revision; metrics
    # are scoped to it per checks/revision_dimensions.yaml.
    revision: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*--[a-z0-9][a-z0-9-]*$")] | None = None
    health_path: str
    port: Port
    ingress: Literal["external", "internal"]
    requests: SizeOut
    limits: SizeOut
    scale: ScaleOut | None = None


class CacheOut(_Out):
    tier: Literal["managed", "classic"]
    resource_id: str
    database_id: str | None = None
    host_name: str
    port: Port
    tls: bool
    eviction_policy: str  # Redis spelling, e.g. allkeys-lru
    sku: str
    auth: Literal["entra", "access-key"]


class MonitoringOut(_Out):
    log_analytics_workspace_id: str
    log_analytics_customer_id: str
    app_insights_id: str
    app_insights_app_id: str
    # The web app's browser telemetry (page loads), a separate component.
    browser_insights_id: str | None = None
    browser_insights_app_id: str | None = None
    action_group_id: str | None = None
    # AppDependencies.DependencyType values db-query-time counts as database queries.
    database_dependency_types: list[Annotated[str, StringConstraints(pattern=DEPENDENCY_TYPE_PATTERN)]] | None = None


class WorkbookOut(_Out):
    """The stack's Azure Monitor workbook (charts of every target): its id and portal link."""

    id: str
    name: str
    # Rendered as a link in the reports: only an https address, one line, no markup characters.
    url: Annotated[str, StringConstraints(pattern=r"^https://[^\s<>\"'`]+$", max_length=4096)]


class StackOutputs(_Out):
    contract_version: int
    project: str
    stack: str
    environment: str
    location: str
    platform: Literal["containerapps", "containerinstances"]
    resource_group: ResourceGroupOut
    services: dict[str, ServiceOut]
    cache: CacheOut
    monitoring: MonitoringOut
    # Absent on stacks deployed before the workbook existed.
    workbook: WorkbookOut | None = None

    @property
    def telemetry(self) -> TelemetryContract:
        """The role names and dependency types the checks' log queries filter on."""
        return TelemetryContract(
            role_names={name: service.role_name for name, service in self.services.items()},
            dependency_types=self.monitoring.database_dependency_types,
        )

    @property
    def subscription_id(self) -> str:
        return self.resource_group.id.split("/")[2]


def parse_outputs(data: Any, source: str = "stack outputs") -> StackOutputs:
    if not isinstance(data, dict):
        raise OutputsError(f"{source}: expected a JSON object of stack outputs")
    version = data.get("contractVersion")
    if type(version) is not int or version != CONTRACT_VERSION:
        raise OutputsError(
            f"{source}: contractVersion is {excerpt(repr(version), 40)}; these checks read version {CONTRACT_VERSION}"
        )
    try:
        return StackOutputs.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{join_path(tuple(item['loc']))}: {excerpt(item['msg'], 160)}" for item in error.errors()[:20]
        )
        raise OutputsError(f"{source}: {problems}") from None


def read_outputs_file(path: Path) -> StackOutputs:
    """Read a saved `pulumi stack output --json` file, within bounds (see `checks.inputfiles`)."""
    try:
        data = read_json_bytes(read_limited(Path(path), "outputs file"), str(path))
    except InputFileError as error:
        raise OutputsError(f"outputs file {error}") from None
    return parse_outputs(data, str(path))
