"""The stack-output contract, as the checks (and any later tool) read it.

`pulumi stack output --json` of a fin-agent stack, or the file a CI job saved from it, parses
into `StackOutputs`. The Pulumi program writes these outputs (`infra/program.py`); a test
plans every stack and parses its outputs here, so the two sides cannot drift apart. Readers
ignore keys they do not know, so the program may add outputs without breaking older checks;
`contractVersion` changes when a key's meaning changes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError
from pydantic.alias_generators import to_camel

from checks.telemetry import DEPENDENCY_TYPE_PATTERN, ROLE_NAME_PATTERN, TelemetryContract

CONTRACT_VERSION = 1


class OutputsError(ValueError):
    """The outputs are missing, unreadable, or do not follow the contract."""


class _Out(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, extra="ignore", frozen=True, populate_by_name=True)


class ResourceGroupOut(_Out):
    name: str
    id: str


class SizeOut(_Out):
    cpu: float
    memory_gb: float


class ScaleOut(_Out):
    min_replicas: int
    max_replicas: int
    cpu_utilization: int
    http_concurrency: int | None = None
    cooldown_seconds: int
    polling_seconds: int


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
    port: int
    ingress: Literal["external", "internal"]
    requests: SizeOut
    limits: SizeOut
    scale: ScaleOut | None = None


class CacheOut(_Out):
    tier: Literal["managed", "classic"]
    resource_id: str
    database_id: str | None = None
    host_name: str
    port: int
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
    url: str


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
    if version != CONTRACT_VERSION:
        raise OutputsError(f"{source}: contractVersion is {version!r}; these checks read version {CONTRACT_VERSION}")
    try:
        return StackOutputs.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in item['loc'])}: {item['msg']}" for item in error.errors())
        raise OutputsError(f"{source}: {problems}") from error


def read_outputs_file(path: Path) -> StackOutputs:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise OutputsError(f"outputs file {path} does not exist") from error
    except json.JSONDecodeError as error:
        raise OutputsError(f"outputs file {path} is not JSON: {error}") from error
    return parse_outputs(data, str(path))
