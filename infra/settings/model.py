"""Typed stack settings: the one shape every `stacks/Pulumi.<stack>.yaml` is validated into.

Each top-level field is one Pulumi config key in the `fin-agent` namespace
(`fin-agent:services`, `fin-agent:redis`, ...); YAML keys are camelCase. Unknown keys are
refused at every level (`extra="forbid"`), so a typo can never fall back to a default.

Types are strict: `true` is not a number and `'yes'` is not a boolean (pydantic's lax mode would
coerce both). Every number and string has an upper bound, from Azure's documented limits where
Azure documents one (sources beside each bound, and in docs/stack-files.md).

This module checks shapes, types and ranges only. Rules that relate several values to what
Azure accepts (Container Apps CPU/memory pairs, container-group totals, SKUs, autoscale on a
platform without autoscale, ...) live in `infra.settings.rules`, one module per concern.
The guide's numbers are not defaults here: they live in `infra.settings.defaults`, merged
under each stack file, so a stack states only what differs.
"""

from __future__ import annotations

from ipaddress import IPv4Network
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pydantic.alias_generators import to_camel

from checks.telemetry import DEFAULT_DATABASE_DEPENDENCY_TYPES, DEPENDENCY_TYPE_PATTERN, ROLE_NAME_PATTERN
from infra.settings.rollout import RolloutSettings, RolloutState, effective_on_no_data, effective_strategy

Environment = Literal["dev", "staging", "prod"]
Platform = Literal["containerapps", "containerinstances"]
ServiceName = Literal["backend", "web"]

# distribution/reference (the registry's own parser): a name of at most 255 characters, a tag of
# at most 128, a sha256 digest of 71: 512 covers them all with the registry host.
ImageRef = Annotated[
    str,
    StringConstraints(
        max_length=512,
        # registry[:port]/path[:tag][@sha256:digest], lowercase path as OCI requires
        pattern=r"^(?:[a-z0-9.-]+(?::[0-9]{1,5})?/)?[a-z0-9]+(?:[._/-][a-z0-9]+)*"
        r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$",
    ),
]
EnvVarName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,255}$")]
# No Azure-documented maximum for one variable; 32 KiB is far above any plain setting.
EnvValue = Annotated[str, StringConstraints(max_length=32768)]
SecretKeyName = Annotated[str, StringConstraints(pattern=r"^[a-z][A-Za-z0-9]{1,62}$")]
# No Azure-documented maximum for a probe path; 2048 characters is what browsers and proxies
# reliably accept in a whole URL, so a longer path is a mistake.
HttpPath = Annotated[str, StringConstraints(max_length=2048, pattern=r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$")]
Cpu = Annotated[float, Field(gt=0, le=64)]
MemoryGb = Annotated[float, Field(gt=0, le=512)]
# Written as text ("10.42.0.0/16"): parsed from a string even in strict mode.
Cidr = Annotated[IPv4Network, Field(strict=False)]
# Azure Resource Manager tag limits: 50 tags a resource, names up to 512 characters, values up
# to 256 (learn.microsoft.com/azure/azure-resource-manager/management/tag-resources#limitations).
MAX_TAGS_PER_RESOURCE = 50
TagText = Annotated[str, StringConstraints(min_length=1, max_length=256)]
TagName = Annotated[str, StringConstraints(pattern=r"^[^<>*%&:\\?/+]{1,512}$")]
# The app's OpenTelemetry service.name, which Application Insights shows as its role name.
RoleName = Annotated[str, StringConstraints(pattern=ROLE_NAME_PATTERN)]
DependencyType = Annotated[str, StringConstraints(pattern=DEPENDENCY_TYPE_PATTERN)]


class SettingsModel(BaseModel):
    """Base for every settings section: camelCase keys, unknown keys refused, immutable."""

    model_config = ConfigDict(alias_generator=to_camel, extra="forbid", frozen=True, strict=True)


class Resources(SettingsModel):
    """CPU in vCPU; memory in GB (container groups' unit; taken as Gi on Container Apps)."""

    cpu: Cpu
    memory_gb: MemoryGb


class ContainerResources(SettingsModel):
    requests: Resources
    limits: Resources


class ProbeTimings(SettingsModel):
    """Health-probe timings shared by liveness, readiness and (Container Apps) startup probes.

    Bounds are Container Apps' (initial delay at most 60 s); container groups accept them too.
    """

    initial_delay_seconds: Annotated[int, Field(ge=0, le=60)]
    period_seconds: Annotated[int, Field(ge=1, le=240)]
    timeout_seconds: Annotated[int, Field(ge=1, le=240)]
    failure_threshold: Annotated[int, Field(ge=1, le=10)]


class ServiceSettings(SettingsModel):
    image: ImageRef
    port: Annotated[int, Field(ge=1, le=65535)]
    resources: ContainerResources
    health_path: HttpPath
    ingress: Literal["external", "internal"]
    probes: ProbeTimings
    env: Annotated[dict[EnvVarName, EnvValue], Field(max_length=200)] = Field(default_factory=dict)
    # environment variable name -> name of a secret Pulumi config key (fin-agent:<name>)
    secrets: Annotated[dict[EnvVarName, SecretKeyName], Field(max_length=200)] = Field(default_factory=dict)
    # Sent as OTEL_SERVICE_NAME; Application Insights' cloud_RoleName / AppRoleName. The
    # defaults (infra.settings.defaults) are the service names: backend, web.
    role_name: RoleName


class Services(SettingsModel):
    backend: ServiceSettings
    web: ServiceSettings

    def items(self) -> list[tuple[ServiceName, ServiceSettings]]:
        return [("backend", self.backend), ("web", self.web)]


WorkloadProfile = Literal["Consumption", "D4", "D8", "D16", "D32", "E4", "E8", "E16", "E32"]


class ContainerAppsSettings(SettingsModel):
    workload_profile: WorkloadProfile = "Consumption"
    # For a Dedicated profile: how many nodes may run (Consumption ignores both).
    workload_profile_min_nodes: Annotated[int, Field(ge=0, le=100)] = 1
    workload_profile_max_nodes: Annotated[int, Field(ge=1, le=100)] = 3
    zone_redundant: bool = False


class ContainerInstancesSettings(SettingsModel):
    # A fixed number of identical groups (container groups cannot autoscale).
    group_count: Annotated[int, Field(ge=1, le=100)] = 1
    network: Literal["public", "subnet"] = "public"
    # DNS label of the public IP; default derived from the group's name.
    dns_label: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,61}[a-z0-9]$")] | None = None


IdentityId = Annotated[
    str,
    StringConstraints(
        pattern=r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.ManagedIdentity/userAssignedIdentities/[^/]+$"
    ),
]
RegistryId = Annotated[
    str,
    StringConstraints(
        pattern=r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.ContainerRegistry/registries/[^/]+$"
    ),
]


class RegistrySettings(SettingsModel):
    """The registry every image comes from, and how the apps may pull from it.

    Exactly one pull path (checked in `infra.settings.rules.registry`):
    - `resource_id`: the registry's ARM id; the program grants the apps' identities AcrPull on
      it and the apps wait for the grant;
    - `identity`: an existing user-assigned identity that already holds AcrPull; the apps run
      with it as well and pull with it;
    - `anonymous: true`: the registry allows anonymous pull; no credential is sent.
    """

    server: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?$")]
    resource_id: RegistryId | None = None
    identity: IdentityId | None = None
    anonymous: bool = False

    @property
    def pull_path(self) -> Literal["acr-pull", "identity", "anonymous"] | None:
        """The one pull path the settings chose, or None when none or several were chosen."""
        chosen = [
            path
            for path, given in (
                ("acr-pull", self.resource_id is not None),
                ("identity", self.identity is not None),
                ("anonymous", self.anonymous),
            )
            if given
        ]
        return chosen[0] if len(chosen) == 1 else None


class ComputeSettings(SettingsModel):
    platform: Platform
    registry: RegistrySettings | None = None
    container_apps: ContainerAppsSettings | None = None
    container_instances: ContainerInstancesSettings | None = None


class AutoscaleSettings(SettingsModel):
    """The guide's autoscale rule. Honoured on Container Apps (KEDA); see docs/configuration.md for the mapping."""

    min_replicas: Annotated[int, Field(ge=0, le=1000)]
    max_replicas: Annotated[int, Field(ge=1, le=1000)]
    cpu_utilization: Annotated[int, Field(ge=1, le=100)]
    # Container Apps documents the minimum (1) and default (10), no maximum; 10,000 concurrent
    # requests per replica is far beyond any one replica.
    http_concurrency: Annotated[int, Field(ge=1, le=10_000)] | None
    cooldown_seconds: Annotated[int, Field(ge=0, le=86400)]
    polling_seconds: Annotated[int, Field(ge=1, le=3600)]
    # Kept for fidelity to the guide; Container Apps has no knob for either (reported, not sent).
    scale_out_step: Annotated[int, Field(ge=1, le=1000)] | None = None
    cpu_window_minutes: Annotated[int, Field(ge=1, le=60)] | None = None


class RedisSettings(SettingsModel):
    tier: Literal["managed", "classic"]
    sku: str
    # Redis spelling (allkeys-lru) or Azure's (AllKeysLRU); validated and mapped in rules.
    eviction_policy: str
    minimum_tls_version: str
    database_name: str = "default"
    clustering_policy: Literal["OSSCluster", "EnterpriseCluster", "NoCluster"] = "EnterpriseCluster"
    high_availability: bool = True
    public_network_access: bool = True
    access_keys_authentication: bool = False
    # None: protected against deletion/replacement in prod only.
    protect: bool | None = None
    # Azure Cache for Redis (classic) only, Standard and Premium only.
    # At most the largest classic cache (Premium P5, 120 GB): a reservation cannot exceed the cache.
    maxmemory_reserved_mb: Annotated[int, Field(ge=0, le=122_880)] | None = None
    maxfragmentationmemory_reserved_mb: Annotated[int, Field(ge=0, le=122_880)] | None = None
    redis_version: Literal["6"] = "6"
    # The guide's server settings: accepted for fidelity, never sent (Azure does not let anyone
    # set them); reported as a warning, or an error when `strict` is true.
    maxmemory_samples: Annotated[int, Field(ge=1, le=64)] | None = None
    # Redis keeps both as C ints (seconds).
    timeout: Annotated[int, Field(ge=0, le=2_147_483_647)] | None = None
    tcp_keepalive: Annotated[int, Field(ge=0, le=2_147_483_647)] | None = None
    strict: bool = False


class EmailReceiver(SettingsModel):
    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9 _.-]{1,64}$")]
    address: Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class WebhookReceiver(SettingsModel):
    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9 _.-]{1,64}$")]
    # Webhook URLs carry tokens: the URL is read from this secret config key.
    url_secret: SecretKeyName


class Receivers(SettingsModel):
    # Azure Monitor service limits, action groups: 1,000 email and 10 webhook actions per group
    # (learn.microsoft.com/azure/azure-monitor/service-limits#action-groups).
    emails: Annotated[list[EmailReceiver], Field(max_length=1000)] = Field(default_factory=list)
    webhooks: Annotated[list[WebhookReceiver], Field(max_length=10)] = Field(default_factory=list)


class MonitoringSettings(SettingsModel):
    log_retention_days: Annotated[int, Field(ge=30, le=730)]
    # The daily cap has no documented maximum; 100,000 GB a day is beyond any real workspace
    # and keeps a typo (an extra digit group) from passing.
    daily_quota_gb: Annotated[float, Field(gt=0, le=100_000)] | None = None
    sampling_percentage: Annotated[float, Field(gt=0, le=100)] = 100
    receivers: Receivers = Field(default_factory=Receivers)
    # AppDependencies.DependencyType values that are database queries (db-query-time): the
    # PostgreSQL driver's spelling per SDK. Compared case-insensitively (KQL `in~`).
    database_dependency_types: Annotated[list[DependencyType], Field(min_length=1, max_length=20)] = Field(
        default_factory=lambda: list(DEFAULT_DATABASE_DEPENDENCY_TYPES)
    )

    @field_validator("database_dependency_types")
    @classmethod
    def _distinct_types(cls, value: list[str]) -> list[str]:
        seen: set[str] = set()
        for item in value:
            if item.lower() in seen:
                raise ValueError(f"{item!r} is listed twice (types compare case-insensitively)")
            seen.add(item.lower())
        return value

    # Where CI publishes the latest `fin-infra check` report (shown as a link in the workbook).
    # Shown to anyone who can read the workbook, so no query string (a SAS token would leak).
    report_url: Annotated[str, StringConstraints(pattern=r"^https://[^\s?#]+$", max_length=2048)] | None = None


class NetworkSettings(SettingsModel):
    """A virtual network for the stack: a subnet for the apps, one for private endpoints."""

    address_space: Cidr
    # Delegated to the Container Apps environment (at least /27) or to container groups (/29).
    apps_subnet: Cidr
    # Private endpoints of the cache (and Key Vault when private); at least /28.
    private_endpoints_subnet: Cidr


class LoadTestingSettings(SettingsModel):
    """An Azure Load Testing resource for `fin-infra loadtest --engine azure` (docs/load-engines.md).

    `maxEngineInstances` caps the engine instances one run may ask for (the service takes 1-45
    per test: loadtestservice.json 2022-11-01, `engineInstances`) and sizes `subnet`: in a stack
    with a network the engines join that subnet (virtual-network injection) to reach the
    internal backend.
    """

    enabled: bool = False
    max_engine_instances: Annotated[int, Field(ge=1, le=45)] = 5
    subnet: Cidr | None = None


class KeyVaultSettings(SettingsModel):
    """A Key Vault holding the app secrets; Container Apps read them by reference."""

    # None: on in prod. Once on, Azure never lets anyone turn it off again.
    purge_protection: bool | None = None
    soft_delete_retention_days: Annotated[int, Field(ge=7, le=90)] = 90
    public_network_access: bool = True


class StackSettings(SettingsModel):
    environment: Environment
    location: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+$")]
    allow_unlisted_location: bool = False
    name_suffix: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]{3,6}$")] | None = None
    owner: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    cost_center: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    tags: Annotated[dict[TagName, TagText], Field(max_length=MAX_TAGS_PER_RESOURCE)] = Field(default_factory=dict)
    compute: ComputeSettings
    services: Services
    autoscale: AutoscaleSettings | None = None
    redis: RedisSettings
    monitoring: MonitoringSettings
    network: NetworkSettings | None = None
    key_vault: KeyVaultSettings | None = None
    # How a deploy reaches users (docs/rollout.md); `rollout_state` is written by `fin-infra deploy`.
    rollout: RolloutSettings | None = None
    rollout_state: RolloutState | None = None
    load_testing: LoadTestingSettings | None = None  # issue 19: Azure Load Testing
    # Setting paths (dotted, as in the stack file) whose values are examples a user must
    # replace before a real deploy; `fin-infra plan` and `pulumi preview` list each.
    example_values: list[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]+(\.[A-Za-z0-9]+)*$")]] = Field(
        default_factory=list
    )

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"

    @property
    def uses_container_apps(self) -> bool:
        return self.compute.platform == "containerapps"

    @property
    def rollout_strategy(self) -> str:
        return effective_strategy(self.rollout, self.environment, self.compute.platform)

    @property
    def rollout_on_no_data(self) -> str:
        return effective_on_no_data(self.rollout, self.environment)


def settings_keys() -> list[str]:
    """The config keys (without namespace) that hold settings, in declaration order."""
    return [field.alias or name for name, field in StackSettings.model_fields.items()]
