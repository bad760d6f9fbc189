"""Read a long window of Azure Monitor metrics for tuning, batched like the checks.

The checks judge a short window per target; tuning needs days of history at a coarse grain
(PT1H by default) for every app, container group and cache of a stack. The reading works the
same way as `checks.sources.metrics`: `MetricsClient.query_resources` through the checks'
`AzureAccess` (cloud endpoints, lazy credential, bounded retries), one call per namespace,
metric set, aggregation set and dimension filter, at most 50 resources a call. A failed call
is recorded as the reason of every series it should have returned; nothing is retried beyond
the access's own policy.

Metric names and aggregations come from the sourced catalogue
`infra/policy/preconditions/data/metrics.yaml` (Learn "supported metrics" pages) and the
Managed Redis include page for `evictedkeys` (MicrosoftDocs/azure-reference-other
azure-monitor-ref/supported-metrics/includes/microsoft-cache-redisenterprise-metrics-include.md
@0f8cea78: Count, Total, PT5M/PT1H). Managed Redis has only PT5M and PT1H grains, so the grain
of a tune is one of those two.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from checks.sources.azure import AzureAccess, describe_error
from checks.sources.metrics import MAX_RESOURCES_PER_CALL, subscription_of

ALLOWED_GRAINS = {"PT5M": timedelta(minutes=5), "PT1H": timedelta(hours=1)}
# Largest `top` a split query asks for (as the checks do), so no replica is silently cut.
TOP = 1000


@dataclass(frozen=True)
class MetricAsk:
    """What one resource is asked for: metrics sharing aggregations and a dimension filter."""

    namespace: str
    metrics: tuple[str, ...]
    aggregations: tuple[str, ...]
    split: str | None = None

    @property
    def filter(self) -> str | None:
        return f"{self.split} eq '*'" if self.split else None


@dataclass
class Series:
    """One time series: its dimension value (or None) and (time, value) per aggregation."""

    dimension: str | None
    values: dict[str, list[tuple[datetime, float]]] = field(default_factory=dict)


@dataclass
class Readings:
    """Every series read, by (resource id lower, metric name lower), plus failures and calls."""

    series: dict[tuple[str, str], list[Series]] = field(default_factory=dict)
    errors: dict[tuple[str, str], str] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)

    def of(self, resource_id: str, metric: str) -> list[Series]:
        return self.series.get((resource_id.lower(), metric.lower()), [])

    def error(self, resource_id: str, metric: str) -> str | None:
        return self.errors.get((resource_id.lower(), metric.lower()))


def _number(value: Any, aggregation: str) -> float | None:
    number = getattr(value, aggregation.lower(), None)
    if number is None or getattr(value, "timestamp", None) is None:
        return None
    number = float(number)
    return number if math.isfinite(number) else None


def _dimension(metadata: dict[str, str] | None, split: str | None) -> str | None:
    if not split:
        return None
    for name, value in (metadata or {}).items():
        if name.lower() == split.lower():
            return value
    return None


def _store(readings: Readings, rid: str, metric: Any, ask: MetricAsk) -> None:
    bucket = readings.series.setdefault((rid.lower(), str(metric.name).lower()), [])
    by_dimension = {s.dimension: s for s in bucket}
    for element in metric.timeseries or []:
        key = _dimension(element.metadata_values, ask.split)
        series = by_dimension.get(key)
        if series is None:
            series = by_dimension[key] = Series(key)
            bucket.append(series)
        for value in element.data or []:
            for aggregation in ask.aggregations:
                number = _number(value, aggregation)
                if number is not None:
                    series.values.setdefault(aggregation, []).append((value.timestamp, number))


def _resource_of(result: Any, requested: list[str], position: int) -> str:
    wanted = {r.lower(): r for r in requested}
    for metric in result.metrics:
        prefix = (getattr(metric, "id", None) or "").lower().split("/providers/microsoft.insights/metrics")[0]
        if prefix in wanted:
            return wanted[prefix]
    return requested[position]


def read_metrics(
    access: AzureAccess,
    region: str,
    asks: dict[str, list[MetricAsk]],
    start: datetime,
    end: datetime,
    grain: str,
) -> Readings:
    """Every ask of every resource (`asks`: resource id -> asks), batched by ask and subscription."""
    if grain not in ALLOWED_GRAINS:
        raise ValueError(f"grain {grain!r} is not one of {sorted(ALLOWED_GRAINS)} (Managed Redis has no other)")
    groups: dict[tuple[str, MetricAsk], list[str]] = defaultdict(list)
    for rid, resource_asks in asks.items():
        for ask in resource_asks:
            groups[(subscription_of(rid).lower(), ask)].append(rid)
    readings = Readings()
    client = None
    try:
        client = access.metrics_client(region)
    except Exception as error:  # no credential or endpoint: every series gets the reason
        reason = describe_error(error)
        for (_, ask), rids in groups.items():
            for rid in rids:
                for name in ask.metrics:
                    readings.errors[(rid.lower(), name.lower())] = reason
        return readings
    for (_, ask), rids in groups.items():
        for offset in range(0, len(rids), MAX_RESOURCES_PER_CALL):
            _call(client, ask, rids[offset : offset + MAX_RESOURCES_PER_CALL], start, end, grain, readings)
    return readings


def _call(
    client: Any, ask: MetricAsk, rids: list[str], start: datetime, end: datetime, grain: str, readings: Readings
) -> None:
    record: dict[str, Any] = {
        "namespace": ask.namespace,
        "metrics": list(ask.metrics),
        "aggregations": list(ask.aggregations),
        "filter": ask.filter,
        "grain": grain,
        "resources": len(rids),
        "error": None,
    }
    try:
        results = client.query_resources(
            resource_ids=rids,
            metric_namespace=ask.namespace,
            metric_names=list(ask.metrics),
            timespan=(start, end),
            granularity=ALLOWED_GRAINS[grain],
            aggregations=list(ask.aggregations),
            filter=ask.filter,
            max_results=TOP if ask.filter else None,
        )
        for position, result in enumerate(results):
            rid = _resource_of(result, rids, position)
            for metric in result.metrics:
                _store(readings, rid, metric, ask)
    except Exception as error:  # this call's series are missing, with the reason
        record["error"] = describe_error(error)
        for rid in rids:
            for name in ask.metrics:
                readings.errors[(rid.lower(), name.lower())] = record["error"]
    readings.calls.append(record)
