"""Azure Monitor platform metrics through `MetricsClient.query_resources` (the batch API).

Planning: every (measure, resource) pair is grouped by what one batch call can share:
subscription, region, namespace, grain and dimension filter. Within a group the metric names
and aggregations of all measures are merged, and the resources are cut into calls of at most
50 (the API's limit). So 50 container groups' CPU and memory are one call, not a hundred.

Reading: each bucket's value is the requested aggregation; a bucket the service left empty
(a `None` aggregation) is skipped, and a series with no value at all is NO_DATA, never PASS.
The window value of a series is the mean of its bucket values for `Average`, the sum for
`Total`/`Count`, the maximum for `Maximum` and the minimum for `Minimum`. A measure split by a
dimension (`podName`, `containerName`) gives one row per dimension value; the worst decides.
Derived values:
- `ratio`: numerator / sum of the denominator metrics over the window, in percent (the cache
  hit rate is hits / (hits + misses));
- `percent-of-limit`: the value as a percentage of the service's configured limit from the
  stack outputs (`limits.cpu` or `limits.memoryGb`, times `unitsPerLimitUnit`, e.g. 1000
  millicores per vCPU, 1e9 bytes per GB). On container groups the service is found from the
  `containerName` dimension.

When the window is shorter than a measure's grain (Managed Redis has only PT5M and PT1H), the
query widens to one grain and the row says so. A failing call turns only its own rows into
NO_DATA with the reason; a metric the service answers with an `errorCode` other than `Success`
(the SDK drops it; it is read from the raw response) names the code in the reason, and beside
series of the measure's other metrics adds a NO_DATA row of its own (a PASS cannot be claimed).

Truncation: with a dimension filter the batch API returns at most `top` series per resource,
10 when `top` is absent, with no paging and no sign that series were left out (REST spec
`metricBatch.json` 2024-02-01, parameter `top`; SDK `max_results`). A Container App right after
a deploy easily has more than 10 pods. So a split query asks for `SERIES_PER_RESOURCE`; a
resource answering a full page is asked again with `MAX_SERIES_PER_RESOURCE`; still full, its
rows get a NO_DATA row saying the data is partial (a visible FAIL still fails; a PASS cannot
be claimed). Series are grouped by their dimension value, never by position, and two series
with the same value are merged, so a verdict does not depend on the order Azure returns them
in. A container group's container with no series while others have some is a NO_DATA row of
its own, never dropped.

Window values are exact sums (`math.fsum`), rounded once to the unit's precision in the model.

Revisions: when the outputs name a Container App's `revision` (a rollout step), its metrics are
scoped to that revision per `checks/revision_dimensions.yaml`: a `revisionName` filter, or the
pods whose name starts with the revision's; a metric with neither dimension (`ResponseTime`)
is NO_DATA for it, never the whole app's value.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from checks.durations import utc_iso as iso
from checks.interrupts import InterruptiblePool
from checks.jobs import Job, Subject, service_for_container, subjects_for
from checks.model import Evidence, Point, Window, measured, no_data
from checks.outputs import StackOutputs
from checks.queries import metric_query_for
from checks.revision_scope import RevisionScope, revision_scope
from checks.sources.azure import AzureAccess, describe_error
from checks.targets import MetricsMeasure, iso_minutes

SOURCE = "azure-metrics"
MAX_RESOURCES_PER_CALL = 50
SERIES_PER_RESOURCE = 1000
MAX_SERIES_PER_RESOURCE = 10000
# Metric units that can be compared with the target table's units without a derivation.
UNIT_SCALE = {
    ("ms", "milliseconds"): 1.0,
    ("ms", "seconds"): 1000.0,
    ("percent", "percent"): 1.0,
}


@dataclass(frozen=True)
class BatchKey:
    subscription: str
    region: str
    namespace: str
    grain: str
    filter: str | None


@dataclass
class Batch:
    key: BatchKey
    resource_ids: list[str]
    metric_names: list[str]
    aggregations: list[str]
    start: datetime
    end: datetime

    def describe(self) -> dict[str, Any]:
        return {
            "namespace": self.key.namespace,
            "region": self.key.region,
            "resources": len(self.resource_ids),
            "metrics": self.metric_names,
            "aggregations": self.aggregations,
            "grain": self.key.grain,
            "filter": self.key.filter,
        }


@dataclass
class SeriesData:
    unit: str
    dimensions: dict[str, str]
    points: list[Any]  # azure.monitor.querymetrics.MetricValue


@dataclass
class Ask:
    job: Job
    subject: Subject

    @property
    def measure(self) -> MetricsMeasure:
        assert isinstance(self.job.measure, MetricsMeasure)
        return self.job.measure

    @property
    def revision_scope(self) -> RevisionScope | None:
        revision = self.subject.revision
        if revision is None or self.measure.namespace.lower() != "microsoft.app/containerapps":
            return None
        try:
            return revision_scope(self.measure.metrics[0], revision)
        except KeyError:
            return RevisionScope(self.measure.metrics[0], "none", None, None)

    @property
    def filter(self) -> str | None:
        scope = self.revision_scope
        return scope.filter if scope is not None and scope.by != "none" else metric_query_for(self.measure).filter


@dataclass
class BatchOutcome:
    batch: Batch
    # (resource id lower, metric name) -> series
    series: dict[tuple[str, str], list[SeriesData]] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0
    # (resource id lower, metric name lower) -> "errorCode: errorMessage" of a metric not `Success`
    metric_errors: dict[tuple[str, str], str] = field(default_factory=dict)
    # resources whose answer was a full page at the largest `top`: more series may exist
    partial: dict[str, int] = field(default_factory=dict)
    top: int | None = None


def subscription_of(resource_id: str) -> str:
    parts = resource_id.split("/")
    if len(parts) < 3 or parts[1].lower() != "subscriptions":
        raise ValueError(f"not an Azure resource id: {resource_id!r}")
    return parts[2]


def effective_span(window: Window, grain: str) -> tuple[datetime, datetime, bool]:
    """The query's start and end: the window, widened to one grain when it is shorter."""
    grain_delta = iso_minutes(grain)
    if window.duration >= grain_delta:
        return window.start, window.end, False
    return window.end - grain_delta, window.end, True


def plan_batches(asks: list[Ask], region: str, window: Window) -> tuple[list[Batch], dict[int, int]]:
    """Batch calls for `asks`, and for each ask (by position) the batch that answers it."""
    groups: dict[BatchKey, list[int]] = defaultdict(list)
    for position, ask in enumerate(asks):
        query = metric_query_for(ask.measure)
        key = BatchKey(
            subscription=subscription_of(ask.subject.resource_id).lower(),
            region=region.lower(),
            namespace=query.namespace,
            grain=query.grain,
            filter=ask.filter,
        )
        groups[key].append(position)
    batches: list[Batch] = []
    owner: dict[int, int] = {}
    for key, positions in groups.items():
        names: list[str] = []
        aggregations: list[str] = []
        resources: list[str] = []
        for position in positions:
            query = metric_query_for(asks[position].measure)
            names += [m for m in query.metrics if m not in names]
            if query.aggregation not in aggregations:
                aggregations.append(query.aggregation)
            rid = asks[position].subject.resource_id
            if rid.lower() not in (r.lower() for r in resources):
                resources.append(rid)
        start, end, _ = effective_span(window, key.grain)
        chunk_of: dict[str, int] = {}
        for offset in range(0, len(resources), MAX_RESOURCES_PER_CALL):
            chunk = resources[offset : offset + MAX_RESOURCES_PER_CALL]
            for rid in chunk:
                chunk_of[rid.lower()] = len(batches)
            batches.append(Batch(key, chunk, names, aggregations, start, end))
        for position in positions:
            owner[position] = chunk_of[asks[position].subject.resource_id.lower()]
    return batches, owner


def _resource_of_result(result: Any, requested: list[str], position: int) -> str:
    """Which requested resource a result belongs to: by its metric ids, else by position."""
    wanted = {r.lower(): r for r in requested}
    for metric in result.metrics:
        metric_id = (getattr(metric, "id", None) or "").lower()
        prefix = metric_id.split("/providers/microsoft.insights/metrics")[0]
        if prefix in wanted:
            return wanted[prefix]
    if position < len(requested):
        return requested[position]
    raise ValueError("the response has more results than resources asked for")


def _metric_errors(pipeline_response: Any, into: dict[tuple[str, str], str]) -> None:
    """Each metric's `errorCode` (and `errorMessage`) from the raw batch response."""
    try:
        body = pipeline_response.http_response.json()
    except Exception:  # an unreadable body is reported by the SDK's own parsing
        return
    for item in (body or {}).get("values", []) if isinstance(body, dict) else []:
        rid = str(item.get("resourceid") or "").lower()
        for metric in item.get("value") or []:
            code = metric.get("errorCode")
            if code and code != "Success":
                name = str((metric.get("name") or {}).get("value") or "").lower()
                message = metric.get("errorMessage")
                into[(rid, name)] = f"errorCode {code}" + (f": {message}" if message else "")


def _query_once(client: Any, batch: Batch, top: int | None, outcome: BatchOutcome) -> dict[str, int]:
    """One call; fills `outcome.series` and returns the number of series per resource (lower)."""
    outcome.series.clear()
    outcome.metric_errors.clear()
    results = client.query_resources(
        resource_ids=batch.resource_ids,
        metric_namespace=batch.key.namespace,
        metric_names=batch.metric_names,
        timespan=(batch.start, batch.end),
        granularity=iso_minutes(batch.key.grain),
        aggregations=batch.aggregations,
        filter=batch.key.filter,
        max_results=top,
        raw_response_hook=lambda response: _metric_errors(response, outcome.metric_errors),
    )
    counts: dict[str, int] = defaultdict(int)
    for position, result in enumerate(results):
        rid = _resource_of_result(result, batch.resource_ids, position)
        for metric in result.metrics:
            if metric.name is None:
                raise ValueError("a metric in the response has no name")
            bucket = outcome.series.setdefault((rid.lower(), metric.name.lower()), [])
            for element in metric.timeseries or []:
                counts[rid.lower()] += 1
                bucket.append(
                    SeriesData(
                        metric.unit or "Unspecified", dict(element.metadata_values or {}), list(element.data or [])
                    )
                )
    return counts


def run_batch(
    client: Any,
    batch: Batch,
    timer: Callable[[], float],
    tops: tuple[int, ...] = (SERIES_PER_RESOURCE, MAX_SERIES_PER_RESOURCE),
) -> BatchOutcome:
    """One batch; a split query is asked again with a larger `top` when a page came back full."""
    outcome = BatchOutcome(batch)
    started = timer()
    try:
        for top in tops if batch.key.filter else (None,):
            outcome.top = top
            counts = _query_once(client, batch, top, outcome)
            per_metric = defaultdict(int)
            for (rid, _), found in outcome.series.items():
                per_metric[rid] = max(per_metric[rid], len(found))
            full = {rid: n for rid, n in per_metric.items() if top is not None and (n >= top or counts[rid] >= top)}
            if not full:
                outcome.partial = {}
                break
            outcome.partial = full
    except Exception as error:  # any failure of this call is this call's NO_DATA
        outcome.series.clear()
        outcome.partial = {}
        outcome.error = describe_error(error)
    outcome.seconds = timer() - started
    return outcome


def window_value(values: list[float], aggregation: str) -> float:
    if aggregation == "Average":
        return math.fsum(values) / len(values)
    if aggregation in ("Total", "Count"):
        return math.fsum(values)
    if aggregation == "Maximum":
        return max(values)
    return min(values)


def _points(series: SeriesData, aggregation: str) -> list[tuple[datetime, float]]:
    attribute = aggregation.lower()
    found = []
    for value in series.points:
        number = getattr(value, attribute, None)
        if number is None or getattr(value, "timestamp", None) is None:
            continue
        number = float(number)
        if math.isfinite(number):
            found.append((value.timestamp, number))
    return found


def _dims_key(series: SeriesData, split: str | None) -> str | None:
    if not split:
        return None
    for name, value in series.dimensions.items():
        if name.lower() == split.lower():
            return value
    return None


class MetricsSource:
    """Runs the metrics jobs of one check: plans batches, calls, and turns series into rows."""

    def __init__(
        self,
        access: AzureAccess,
        outputs: StackOutputs,
        window: Window,
        max_workers: int = 4,
        series_per_resource: tuple[int, ...] = (SERIES_PER_RESOURCE, MAX_SERIES_PER_RESOURCE),
    ):
        self.series_per_resource = series_per_resource
        self.access = access
        self.outputs = outputs
        self.window = window
        self.max_workers = max_workers
        self.calls: list[dict[str, Any]] = []

    def collect(self, jobs: list[Job]) -> dict[str, list[Evidence]]:
        import time

        asks = [Ask(job, subject) for job in jobs for subject in subjects_for(job.measure.scope, self.outputs)]
        rows: dict[str, list[Evidence]] = {job.key: [] for job in jobs}
        for ask in [a for a in asks if a.revision_scope is not None and a.revision_scope.by == "none"]:
            rows[ask.job.key].append(
                self._no_data(
                    ask.job,
                    ask.subject.resource_id,
                    ask.subject.label,
                    f"{ask.measure.metrics[0]} has no dimension that tells revisions apart: revision "
                    f"{ask.subject.revision} is judged by probes through its label, not this metric",
                )
            )
        asks = [a for a in asks if a.revision_scope is None or a.revision_scope.by != "none"]
        for job in jobs:
            if not subjects_for(job.measure.scope, self.outputs):
                rows[job.key].append(
                    self._no_data(
                        job, job.measure.scope, job.measure.scope, "the stack outputs name no resource for this scope"
                    )
                )
        if not asks:
            return rows
        batches, owner = plan_batches(asks, self.outputs.location, self.window)
        clients: dict[str, Any] = {}
        client_error: dict[str, str] = {}
        for batch in batches:
            region = batch.key.region
            if region in clients or region in client_error:
                continue
            try:
                clients[region] = self.access.metrics_client(region)
            except Exception as error:  # e.g. no credential: every row of the region is NO_DATA
                client_error[region] = describe_error(error)

        def run(batch: Batch) -> BatchOutcome:
            if batch.key.region in client_error:
                return BatchOutcome(batch, error=client_error[batch.key.region])
            return run_batch(clients[batch.key.region], batch, time.perf_counter, self.series_per_resource)

        with InterruptiblePool(max_workers=max(1, min(self.max_workers, len(batches)))) as pool:
            outcomes = list(pool.map(run, batches))
        for outcome in outcomes:
            self.calls.append(
                {
                    **outcome.batch.describe(),
                    "top": outcome.top,
                    "seconds": round(outcome.seconds, 3),
                    "error": outcome.error,
                    "partial": sorted(outcome.partial),
                }
            )
        for position, ask in enumerate(asks):
            outcome = outcomes[owner[position]]
            rows[ask.job.key].extend(self._rows(ask, outcome))
        return rows

    # -- rows -------------------------------------------------------------------------------

    def _query(self, ask: Ask, batch: Batch) -> dict[str, Any]:
        measure = ask.measure
        asked = metric_query_for(measure)
        query: dict[str, Any] = {
            "api": "metrics:getBatch",
            "namespace": asked.namespace,
            "metrics": list(asked.metrics),
            "aggregation": asked.aggregation,
            "grain": asked.grain,
            "timespan": f"{iso(batch.start)}/{iso(batch.end)}",
        }
        if batch.key.filter:
            query["filter"] = batch.key.filter
        if measure.derive:
            query["derive"] = measure.derive.model_dump(by_alias=True, exclude_none=True)
        return query

    def _no_data(
        self, job: Job, resource: str, label: str, reason: str, query: dict[str, Any] | None = None
    ) -> Evidence:
        return no_data(
            source=SOURCE,
            resource=resource,
            label=label,
            query=query or {"api": "metrics:getBatch", "scope": job.measure.scope},
            window=self.window,
            thresholds=job.thresholds,
            reason=reason,
        )

    def _rows(self, ask: Ask, outcome: BatchOutcome) -> list[Evidence]:
        measure, job, subject = ask.measure, ask.job, ask.subject
        batch = outcome.batch
        query = self._query(ask, batch)
        window = Window(start=batch.start, end=batch.end)
        widened = effective_span(self.window, measure.grain)[2]
        note = f"window widened to {measure.grain}, the finest grain of this metric" if widened else None
        if outcome.error:
            return [
                self._no_data(job, subject.resource_id, subject.label, f"metrics call failed: {outcome.error}", query)
            ]
        rid = subject.resource_id.lower()
        by_metric = {name: outcome.series.get((rid, name.lower()), []) for name in measure.metrics}
        errors = [
            outcome.metric_errors[(rid, n.lower())]
            for n in measure.metrics
            if (rid, n.lower()) in outcome.metric_errors
        ]
        if errors:
            note = "; ".join([*([note] if note else []), *errors])
        groups = _grouped(by_metric, measure.split)
        scope = ask.revision_scope
        if scope is not None and scope.pod_prefix is not None:
            groups = {value: series for value, series in groups.items() if value is not None and scope.keeps(value)}
            query["revision"] = subject.revision
        elif scope is not None:
            query["revision"] = subject.revision
        if not groups:
            reason = "no time series in the response (the resource emitted no data in the window)"
            if scope is not None and scope.pod_prefix is not None:
                reason = f"no series of a pod of revision {subject.revision} in the window"
            if errors:
                reason = f"the service answered {'; '.join(errors)}"
            return [self._no_data(job, subject.resource_id, subject.label, reason, query)]
        rows = []
        for dim_value, per_metric in sorted(groups.items(), key=lambda item: str(item[0])):
            label = subject.label if dim_value is None else f"{subject.label} · {measure.split}={dim_value}"
            rows.append(self._row(ask, per_metric, dim_value, label, query, window, note))
        for container in self._missing_containers(subject, measure, groups):
            rows.append(
                self._no_data(
                    job,
                    subject.resource_id,
                    f"{subject.label} · {measure.split}={container}",
                    f"no series for container {container} in the window, while other containers of the group have "
                    "series (stopped, crashed or not emitting)",
                    query,
                )
            )
        if rid in outcome.partial:
            rows.append(
                self._no_data(
                    job,
                    subject.resource_id,
                    f"{subject.label} · more {measure.split} values",
                    f"partial data: the service returned a full page of {outcome.partial[rid]} series (top="
                    f"{outcome.top}); more {measure.split} values may exist and were not judged",
                    query,
                )
            )
        if errors:
            # A metric answered without `Success` beside others that have series (a ratio's
            # denominator, say): the rows above may lack its data, so they cannot prove a PASS.
            rows.append(
                self._no_data(
                    job,
                    subject.resource_id,
                    f"{subject.label} · metric errors",
                    f"the service answered {'; '.join(errors)}: the rows judged without that metric's data "
                    "cannot prove a PASS",
                    query,
                )
            )
        return rows

    def _missing_containers(
        self, subject: Subject, measure: MetricsMeasure, groups: dict[str | None, dict[str, SeriesData]]
    ) -> list[str]:
        """The containers the stack outputs put in this container group that have no series."""
        if (measure.split or "").lower() != "containername":
            return []
        expected = {
            service.container_name
            for service in self.outputs.services.values()
            if service.kind == "containergroup"
            and service.container_name
            and any(r.lower() == subject.resource_id.lower() for r in service.resource_ids)
        }
        seen = {str(key) for key in groups}
        return sorted(name for name in expected if name not in seen)

    def _row(
        self,
        ask: Ask,
        per_metric: dict[str, SeriesData],
        dim_value: str | None,
        label: str,
        query: dict[str, Any],
        window: Window,
        note: str | None,
    ) -> Evidence:
        measure, job, subject = ask.measure, ask.job, ask.subject
        derive = measure.derive
        common = dict(
            source=SOURCE,
            resource=subject.resource_id,
            label=label,
            query=query,
            window=window,
            thresholds=job.thresholds,
            note=note,
        )
        points = {name: _points(series, measure.aggregation) for name, series in per_metric.items()}
        units = {name: series.unit for name, series in per_metric.items()}
        empty_reason = "every bucket in the window was empty (null aggregations)"
        if derive is not None and derive.kind == "ratio":
            assert derive.numerator is not None
            numerator = math.fsum(v for _, v in points.get(derive.numerator, []))
            denominator = math.fsum(v for name in derive.denominator for _, v in points.get(name, []))
            buckets = {t for name in derive.denominator for t, _ in points.get(name, [])}
            series = _ratio_series(points, derive.numerator, derive.denominator)
            value = 100.0 * numerator / denominator if denominator > 0 else None
            reason = (
                empty_reason
                if not buckets
                else f"{' + '.join(derive.denominator)} was 0 over the window: nothing to divide"
            )
            return measured(
                **common,
                value=value,
                samples=len(buckets),
                no_data_reason=reason,
                series=series,
                raw={"numerator": numerator, "denominator": denominator, "units": units},
            )
        name = measure.metrics[0]
        values = points.get(name, [])
        unit = units.get(name, "Unspecified")
        if not values:
            return measured(**common, value=None, samples=0, no_data_reason=empty_reason)
        raw_value = window_value([v for _, v in values], measure.aggregation)
        stats = {"min": min(v for _, v in values), "max": max(v for _, v in values)}
        if derive is not None and derive.kind == "percent-of-limit":
            limit = self._limit(subject, dim_value, derive.limit)
            if limit is None:
                return measured(
                    **common,
                    value=None,
                    samples=0,
                    no_data_reason=f"no service in the stack outputs runs container {dim_value!r} here (no limit)",
                )
            assert derive.units_per_limit_unit is not None
            capacity = limit * derive.units_per_limit_unit
            scale = 100.0 / capacity
            return measured(
                **common,
                value=raw_value * 100.0 / capacity,
                samples=len(values),
                no_data_reason=empty_reason,
                series=[Point(time=t, value=v * scale) for t, v in values],
                stats={k: v * scale for k, v in stats.items()},
                raw={
                    "value": raw_value,
                    "unit": unit,
                    "limit": limit,
                    "limitKind": derive.limit,
                    "unitsPerLimitUnit": derive.units_per_limit_unit,
                },
            )
        factor = UNIT_SCALE.get((job.target.unit, unit.lower()))
        if factor is None:
            return measured(
                **common,
                value=None,
                samples=0,
                no_data_reason=f"metric unit {unit} cannot be compared with the target's unit {job.target.unit}",
            )
        return measured(
            **common,
            value=raw_value * factor,
            samples=len(values),
            no_data_reason=empty_reason,
            series=[Point(time=t, value=v * factor) for t, v in values],
            stats={k: v * factor for k, v in stats.items()},
            raw={"value": raw_value, "unit": unit},
        )

    def _limit(self, subject: Subject, container: str | None, kind: str | None) -> float | None:
        service = None
        if subject.service is not None:
            service = self.outputs.services.get(subject.service)
        elif container is not None:
            found = service_for_container(self.outputs, subject.resource_id, container)
            service = found[1] if found else None
        if service is None:
            return None
        return service.limits.cpu if kind == "cpu" else service.limits.memory_gb


def _grouped(by_metric: dict[str, list[SeriesData]], split: str | None) -> dict[str | None, dict[str, SeriesData]]:
    """Series by the split dimension's value, then metric; series sharing a value are merged."""
    groups: dict[str | None, dict[str, SeriesData]] = defaultdict(dict)
    for name, series_list in by_metric.items():
        for series in series_list:
            key = _dims_key(series, split)
            existing = groups[key].get(name)
            if existing is None:
                groups[key][name] = series
            else:
                groups[key][name] = SeriesData(existing.unit, existing.dimensions, existing.points + series.points)
    return groups


def _ratio_series(
    points: dict[str, list[tuple[datetime, float]]], numerator: str, denominator: list[str]
) -> list[Point]:
    top: dict[datetime, float] = defaultdict(float)
    bottom: dict[datetime, float] = defaultdict(float)
    for t, v in points.get(numerator, []):
        top[t] += v
    for name in denominator:
        for t, v in points.get(name, []):
            bottom[t] += v
    return [Point(time=t, value=100.0 * top[t] / bottom[t]) for t in sorted(bottom) if bottom[t] > 0]
