"""The target table (`checks/targets.yaml`), loaded and validated: shared by both enforcers.

The Pulumi program reads `watch` entries to declare Azure Monitor alerts; the post-deploy
checks read `measure` entries to query, derive and judge. Neither holds a threshold of its own.

Schema (YAML keys camelCase):

- `targets[]`: `id`, `component`, `statistic`, `unit` (`ms` | `percent`), `better` (`lower` |
  `higher`), `target`, `critical`, `window` and `frequency` (ISO 8601 durations Azure Monitor
  alerts accept), `watch[]`, `measure[]`.
- `when`: optional filter on the deployed shape: `platform` (`containerapps` |
  `containerinstances`) and/or `cacheTier` (`managed` | `classic`).
- `scope`: what is measured, named as the stack outputs name it: `service:<name>` (one
  service), `services` (every service), `container-groups`, `cache`, `app-insights`, `database`.
- `watch[]` (continuous): `metric-alert` (`namespace`, `metric`, `aggregation`, optional
  `split` dimension, `window` override and `threshold` conversion, and `service`: on an
  Application Insights metric, only that service's role name, dimension `cloud/roleName`),
  `log-alert` (`query` returning a `value` column, optional `service`), or `post-deploy-only`
  with the `reason`.
- `measure[]` (after a deploy): `metrics` (`namespace`, `metrics`, `aggregation`, `grain`,
  optional `split` and `derive`), `logs` (`table`, `query` with `{start}`/`{end}`, optional
  `service`), `probe`
  (`http`, `redis`, `postgres`, `page-load`, with optional `paths`: for `http` the paths
  requested on the service's URL, `{healthPath}` standing for the service's configured health
  path; for `page-load` the pages loaded; absent: `{healthPath}` and `/` respectively. The
  endpoints file may add paths; it never removes the table's).
- Log queries (`log-alert`, `logs`) over the apps' telemetry: `service` names whose
  telemetry is judged, and the query filters on it with `AppRoleName == {roleName}`; a query
  over a server table (`AppRequests`, `AppDependencies`, ...) without a service is refused.
  `{dependencyTypes}` stands for the stack's database dependency types. Both are filled as
  escaped KQL literals (`checks.telemetry`) from settings (alerts) or stack outputs (checks).
- `threshold.convert` / `derive.kind`: `identity`; `complement` (100 - value: a hit-rate
  target becomes a miss-rate threshold); `percent-of-limit` (a raw usage metric against the
  configured limit: `limit` is `cpu` or `memory`, `unitsPerLimitUnit` converts the limit into
  the metric's unit, e.g. 1000 millicores per vCPU); `ratio` (numerator / sum of denominator
  metrics, as a percentage).
- `loadTest` (optional; read by `fin-infra loadtest` only, neither by the program nor by the
  checks): the limits the load test judges its client-side numbers by. `latencyTarget` names
  the target (in `targets`, `unit: ms`, `better: lower`) whose thresholds judge the average
  response time Artillery measures, so the load test and the checks judge latency by the same
  numbers; `errorRate` (`statistic`, `unit: percent`, `better: lower`, `target`, `critical`)
  judges the share of failed virtual users (a transport error, a timeout or an HTTP 5xx
  response ends a virtual user as failed). Kept out of `targets` because it has no Azure
  metric to alert on and no post-deploy measure: a target there needs `watch` and `measure`.
  `criteria` (optional): extra limits beyond the guide's averages, as k6 thresholds
  (`p(95)<400`) and Azure Load Testing's fail criteria (`percentage(response_time_ms)`, per
  request) allow. Each has an `id`, a `statistic` (`p50`, `p90`, `p95`, `p99`, `max` or `mean`),
  an optional `endpoint` (a request name of the scenario, e.g. `GET /api/portfolio/{userId}`;
  without it, every response), `unit: ms`, `better: lower`, `target` and `critical`. Judged from
  Artillery's report; the latency average and the error rate above are judged as before.
"""

from __future__ import annotations

import re
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from checks.telemetry import ROLE_PLACEHOLDER, SERVER_TABLES

TARGETS_FILE = Path(__file__).with_name("targets.yaml")

Platform = Literal["containerapps", "containerinstances"]
CacheTier = Literal["managed", "classic"]
Aggregation = Literal["Average", "Total", "Maximum", "Minimum", "Count"]
Verdict = Literal["PASS", "WARN", "FAIL"]
ServiceName = Literal["backend", "web"]
APP_INSIGHTS_NAMESPACE = "microsoft.insights/components"
SCOPE = re.compile(r"^(service:(backend|web)|services|container-groups|cache|app-insights|browser-insights|database)$")
# Durations Azure Monitor metric alerts accept for window size and evaluation frequency.
ALERT_WINDOWS = {"PT1M", "PT5M", "PT15M", "PT30M", "PT1H", "PT6H", "PT12H", "P1D"}
ALERT_FREQUENCIES = {"PT1M", "PT5M", "PT15M", "PT30M", "PT1H"}


class TargetsError(ValueError):
    """The target table is malformed; the message names the entry and key."""


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, extra="forbid", frozen=True)


def iso_minutes(duration: str) -> timedelta:
    """PT5M / PT1H / P1D as a timedelta (the forms this table uses)."""
    match = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?", duration)
    if not match or not any(match.groups()):
        raise ValueError(f"not an ISO 8601 duration in days, hours or minutes: {duration}")
    days, hours, minutes = (int(g or 0) for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes)


class When(_Model):
    platform: Platform | None = None
    cache_tier: CacheTier | None = None

    def matches(self, platform: str, cache_tier: str) -> bool:
        return (self.platform in (None, platform)) and (self.cache_tier in (None, cache_tier))


class Conversion(_Model):
    convert: Literal["identity", "complement", "percent-of-limit"] = "identity"
    limit: Literal["cpu", "memory"] | None = None
    units_per_limit_unit: Annotated[float, Field(gt=0)] | None = None

    @model_validator(mode="after")
    def _limit_given(self) -> Conversion:
        if self.convert == "percent-of-limit" and (self.limit is None or self.units_per_limit_unit is None):
            raise ValueError("percent-of-limit needs limit and unitsPerLimitUnit")
        return self

    def metric_threshold(self, percent_or_value: float, limit: float | None = None) -> float:
        """The threshold in the metric's own unit for a table value (e.g. 70 % of 2 vCPU = 1400 m)."""
        if self.convert == "identity":
            return percent_or_value
        if self.convert == "complement":
            return 100 - percent_or_value
        if limit is None:
            raise ValueError("percent-of-limit conversion needs the configured limit")
        assert self.units_per_limit_unit is not None
        return percent_or_value / 100 * limit * self.units_per_limit_unit


class Derivation(_Model):
    kind: Literal["ratio", "percent-of-limit"]
    numerator: str | None = None
    denominator: list[str] = Field(default_factory=list)
    limit: Literal["cpu", "memory"] | None = None
    units_per_limit_unit: Annotated[float, Field(gt=0)] | None = None

    @model_validator(mode="after")
    def _complete(self) -> Derivation:
        if self.kind == "ratio" and (not self.numerator or not self.denominator):
            raise ValueError("ratio needs numerator and denominator")
        if self.kind == "percent-of-limit" and (self.limit is None or self.units_per_limit_unit is None):
            raise ValueError("percent-of-limit needs limit and unitsPerLimitUnit")
        return self


class _Scoped(_Model):
    when: When = Field(default_factory=When)
    scope: str

    @field_validator("scope")
    @classmethod
    def _known_scope(cls, value: str) -> str:
        if not SCOPE.match(value):
            raise ValueError(f"unknown scope {value!r}")
        return value


class MetricAlertWatch(_Scoped):
    kind: Literal["metric-alert"]
    namespace: str
    metric: str
    aggregation: Aggregation
    split: str | None = None
    window: str | None = None
    threshold: Conversion = Field(default_factory=Conversion)
    # Application Insights metrics: judge this service only (dimension `cloud/roleName`).
    service: ServiceName | None = None

    @model_validator(mode="after")
    def _role_filter_on_app_insights(self) -> MetricAlertWatch:
        if self.service is not None and self.namespace.lower() != APP_INSIGHTS_NAMESPACE:
            raise ValueError(
                f"service ({self.service}) filters on the role name, a dimension of "
                f"{APP_INSIGHTS_NAMESPACE} metrics only, not of {self.namespace}"
            )
        return self

    @field_validator("window")
    @classmethod
    def _alert_window(cls, value: str | None) -> str | None:
        if value is not None and value not in ALERT_WINDOWS:
            raise ValueError(f"window {value} is not one Azure Monitor accepts: {sorted(ALERT_WINDOWS)}")
        return value


def _check_service_query(query: str, service: str | None) -> None:
    """`{roleName}` exactly when a service is judged; server tables always name the service."""
    has_role = ROLE_PLACEHOLDER in query
    if service is not None and not has_role:
        raise ValueError(f"service is {service}, but the query does not filter on AppRoleName == {ROLE_PLACEHOLDER}")
    if service is None and has_role:
        raise ValueError(f"the query uses {ROLE_PLACEHOLDER}; name the service it judges (service: backend | web)")
    tables = [t for t in SERVER_TABLES if re.search(rf"\b{t}\b", query)]
    if tables and service is None:
        raise ValueError(
            f"a query over {', '.join(tables)} must judge one service's telemetry: set service "
            f"and filter with `| where AppRoleName == {ROLE_PLACEHOLDER}`"
        )


class LogAlertWatch(_Scoped):
    kind: Literal["log-alert"]
    query: str
    # The service whose telemetry the query judges; `{roleName}` in the query is its role name.
    service: ServiceName | None = None

    @model_validator(mode="after")
    def _scoped_query(self) -> LogAlertWatch:
        _check_service_query(self.query, self.service)
        return self


class PostDeployOnlyWatch(_Model):
    kind: Literal["post-deploy-only"]
    when: When = Field(default_factory=When)
    reason: str


Watch = Annotated[MetricAlertWatch | LogAlertWatch | PostDeployOnlyWatch, Field(discriminator="kind")]


class MetricsMeasure(_Scoped):
    source: Literal["metrics"]
    namespace: str
    metrics: list[str] = Field(min_length=1)
    aggregation: Aggregation
    grain: str
    split: str | None = None
    derive: Derivation | None = None


class LogsMeasure(_Scoped):
    source: Literal["logs"]
    table: str
    query: str
    # The service whose telemetry the query judges; `{roleName}` in the query is its role name.
    service: ServiceName | None = None

    @model_validator(mode="after")
    def _scoped_query(self) -> LogsMeasure:
        _check_service_query(self.query, self.service)
        return self


class ProbeMeasure(_Scoped):
    source: Literal["probe"]
    probe: Literal["http", "redis", "postgres", "page-load"]
    paths: list[str] | None = None

    @field_validator("paths")
    @classmethod
    def _paths(cls, value: list[str] | None) -> list[str] | None:
        for path in value or []:
            if not (path.startswith("/") or path == "{healthPath}"):
                raise ValueError(f"a probe path starts with '/' or is {{healthPath}}, got {path!r}")
        return value

    def default_paths(self) -> list[str]:
        if self.paths is not None:
            return list(self.paths)
        return ["{healthPath}"] if self.probe == "http" else ["/"]


Measure = Annotated[MetricsMeasure | LogsMeasure | ProbeMeasure, Field(discriminator="source")]


class Target(_Model):
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$")]
    component: str
    statistic: str
    unit: Literal["ms", "percent"]
    better: Literal["lower", "higher"]
    target: float
    critical: float
    window: str
    frequency: str
    watch: list[Watch]
    measure: list[Measure] = Field(min_length=1)

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        if value not in ALERT_WINDOWS:
            raise ValueError(f"window {value} is not one Azure Monitor accepts: {sorted(ALERT_WINDOWS)}")
        return value

    @field_validator("frequency")
    @classmethod
    def _frequency(cls, value: str) -> str:
        if value not in ALERT_FREQUENCIES:
            raise ValueError(f"frequency {value} is not one Azure Monitor accepts: {sorted(ALERT_FREQUENCIES)}")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Target:
        if self.better == "lower" and not self.target < self.critical:
            raise ValueError(f"with better: lower, target ({self.target}) must be below critical ({self.critical})")
        if self.better == "higher" and not self.target > self.critical:
            raise ValueError(f"with better: higher, target ({self.target}) must be above critical ({self.critical})")
        if iso_minutes(self.frequency) > iso_minutes(self.window):
            raise ValueError(f"frequency {self.frequency} is longer than window {self.window}")
        return self

    def judge(self, value: float) -> Verdict:
        """PASS better than target, WARN between, FAIL at or beyond critical."""
        if self.better == "lower":
            if value < self.target:
                return "PASS"
            return "WARN" if value < self.critical else "FAIL"
        if value > self.target:
            return "PASS"
        return "WARN" if value > self.critical else "FAIL"

    def watches_for(
        self, platform: str, cache_tier: str
    ) -> list[MetricAlertWatch | LogAlertWatch | PostDeployOnlyWatch]:
        return [w for w in self.watch if w.when.matches(platform, cache_tier)]

    def measures_for(self, platform: str, cache_tier: str) -> list[MetricsMeasure | LogsMeasure | ProbeMeasure]:
        return [m for m in self.measure if m.when.matches(platform, cache_tier)]


class LoadTestLimit(_Model):
    """A load-test-only limit, judged like a target: PASS below `target`, FAIL at `critical` or more."""

    statistic: str
    unit: Literal["percent"]
    better: Literal["lower"]
    target: Annotated[float, Field(ge=0, le=100)]
    critical: Annotated[float, Field(gt=0, le=100)]

    @model_validator(mode="after")
    def _ordered(self) -> LoadTestLimit:
        if not self.target < self.critical:
            raise ValueError(f"with better: lower, target ({self.target}) must be below critical ({self.critical})")
        return self


LOAD_TEST_STATISTICS = ("p50", "p90", "p95", "p99", "max", "mean")


class LoadTestCriterion(_Model):
    """An optional load-test limit on a response-time statistic, overall or of one request."""

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$")]
    statistic: Literal["p50", "p90", "p95", "p99", "max", "mean"]
    endpoint: Annotated[str, Field(pattern=r"^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) /\S*$")] | None = None
    unit: Literal["ms"]
    better: Literal["lower"]
    target: Annotated[float, Field(gt=0)]
    critical: Annotated[float, Field(gt=0)]

    @model_validator(mode="after")
    def _ordered(self) -> LoadTestCriterion:
        if not self.target < self.critical:
            raise ValueError(f"with better: lower, target ({self.target}) must be below critical ({self.critical})")
        return self


class LoadTestLimits(_Model):
    latency_target: str
    error_rate: LoadTestLimit
    criteria: list[LoadTestCriterion] = Field(default_factory=list)


class TargetTable(_Model):
    schema_version: Literal[1]
    targets: list[Target] = Field(min_length=1)
    load_test: LoadTestLimits | None = None

    @model_validator(mode="after")
    def _unique_ids(self) -> TargetTable:
        ids = [t.id for t in self.targets]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate target ids: {duplicates}")
        return self

    @model_validator(mode="after")
    def _load_test_latency(self) -> TargetTable:
        if self.load_test is None:
            return self
        name = self.load_test.latency_target
        target = next((t for t in self.targets if t.id == name), None)
        if target is None:
            raise ValueError(f"loadTest.latencyTarget: no target {name!r} in targets {[t.id for t in self.targets]}")
        taken = {t.id for t in self.targets} | {"error-rate"}
        for criterion in self.load_test.criteria:
            if criterion.id in taken:
                raise ValueError(f"loadTest.criteria: id {criterion.id!r} is already used (ids must be unique)")
            taken.add(criterion.id)
        if target.unit != "ms" or target.better != "lower":
            raise ValueError(
                f"loadTest.latencyTarget: target {name!r} is not a latency (unit ms, better lower); "
                f"it has unit {target.unit}, better {target.better}"
            )
        return self

    def get(self, target_id: str) -> Target:
        for target in self.targets:
            if target.id == target_id:
                return target
        raise KeyError(target_id)


def parse_targets(text: str, source: str = "targets.yaml") -> TargetTable:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise TargetsError(f"{source}: not valid YAML: {error}") from error
    try:
        return TargetTable.model_validate(data)
    except ValidationError as error:
        lines = []
        for item in error.errors():
            loc = ".".join(str(p) for p in item["loc"])
            lines.append(f"  - {source}: {loc}: {item['msg']}")
        raise TargetsError("the target table is invalid:\n" + "\n".join(lines)) from error


def load_targets(path: Path | None = None) -> TargetTable:
    """The table at `path` (default: the repository's checks/targets.yaml)."""
    if path is None:
        return _load_default()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise TargetsError(f"target table {path} is not UTF-8 text (byte {error.start}): save it as UTF-8") from None
    except OSError as error:
        raise TargetsError(f"target table {path} cannot be read: {error.strerror or error}") from None
    return parse_targets(text, str(path))


@cache
def _load_default() -> TargetTable:
    return parse_targets(TARGETS_FILE.read_text(encoding="utf-8"), str(TARGETS_FILE))
