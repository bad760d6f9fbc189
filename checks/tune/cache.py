"""The cache SKU, one step up or down, from used memory, evictions, hit rate and server load.

Evidence over the window (hourly buckets): `usedmemorypercentage` and `serverLoad` (Maximum),
`evictedkeys`, `cachehits` and `cachemisses` (Total); the hit rate is hits / (hits + misses).
The same metric names exist on Azure Managed Redis (Microsoft.Cache/redisEnterprise) and Azure
Cache for Redis (Microsoft.Cache/redis) (catalogue: infra/policy/preconditions/data/metrics.yaml).

Rules:
- up: keys were evicted and either the used memory peaked at `FULL_PERCENT` % or more, or the
  hit rate missed the `cache-hit-rate` target: the next SKU of the same tier (Managed Redis:
  the next size in `data/managed-redis-skus.yaml`; classic: the next capacity of its family);
- down (Managed Redis only, where the sizes are sourced): no evictions, hit rate at target,
  server load peak below `QUIET_LOAD_PERCENT` %, and the used-memory peak would stay below
  `DOWN_HEADROOM_PERCENT` % on the previous size; Learn lists limits to scaling down (how-to-scale,
  "Limitations of scaling"), so review before applying;
- otherwise no change; a server load at `BUSY_LOAD_PERCENT` % or more without evictions is a
  compute limit, not memory: reported, not changed (a higher-performance tier is a choice).
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from checks.outputs import CacheOut
from checks.targets import TargetTable
from checks.tune.model import Finding, SettingChange
from checks.tune.read import MetricAsk, Readings
from checks.tune.stats import per_bucket, percentile, rounded

SKU_TABLE = Path(__file__).parent / "data" / "managed-redis-skus.yaml"
FULL_PERCENT = 90.0
DOWN_HEADROOM_PERCENT = 60.0
QUIET_LOAD_PERCENT = 50.0
BUSY_LOAD_PERCENT = 90.0
NAMESPACES = {"managed": "Microsoft.Cache/redisEnterprise", "classic": "Microsoft.Cache/redis"}


def asks(tier: str) -> list[MetricAsk]:
    namespace = NAMESPACES[tier]
    return [
        MetricAsk(namespace, ("usedmemorypercentage", "serverLoad"), ("Maximum",)),
        MetricAsk(namespace, ("evictedkeys", "cachehits", "cachemisses"), ("Total",)),
    ]


@cache
def managed_tiers() -> dict[str, list[dict[str, Any]]]:
    return yaml.safe_load(SKU_TABLE.read_text(encoding="utf-8"))["tiers"]


def managed_neighbours(sku: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None, dict[str, Any] | None]:
    """(smaller, this, larger) entry of `sku` within its tier; this is None when not listed."""
    for entries in managed_tiers().values():
        names = [e["sku"] for e in entries]
        if sku in names:
            i = names.index(sku)
            return (entries[i - 1] if i else None, entries[i], entries[i + 1] if i + 1 < len(entries) else None)
    return None, None, None


def classic_next(sku: str) -> str | None:
    from infra.settings.rules.cache import classic_sku_parts

    name, family, capacity = classic_sku_parts(sku)
    top = 5 if family == "P" else 6
    return f"{name}_{family}{capacity + 1}" if capacity < top else None


def _totals(readings: Readings, rid: str, metric: str) -> float | None:
    values = per_bucket(readings.of(rid, metric), "Total", "sum")
    return math.fsum(values.values()) if values else None


def evidence(readings: Readings, rid: str) -> dict[str, Any] | str:
    memory = per_bucket(readings.of(rid, "usedmemorypercentage"), "Maximum")
    evicted = _totals(readings, rid, "evictedkeys")
    if not memory and evicted is None:
        failed = readings.error(rid, "usedmemorypercentage") or readings.error(rid, "evictedkeys")
        return (
            f"the metrics call failed: {failed}"
            if failed
            else ("no usedmemorypercentage/evictedkeys series in the window (the cache emitted no data)")
        )
    load = list(per_bucket(readings.of(rid, "serverLoad"), "Maximum").values())
    hits, misses = _totals(readings, rid, "cachehits"), _totals(readings, rid, "cachemisses")
    lookups = (hits or 0.0) + (misses or 0.0)
    return {
        "hours": len(memory),
        "usedMemoryPercentMax": rounded(max(memory.values())) if memory else None,
        "usedMemoryPercentP95": rounded(percentile(list(memory.values()), 95)),
        "evictedKeys": evicted,
        "hitRatePercent": rounded(100.0 * (hits or 0.0) / lookups, 2) if lookups else None,
        "serverLoadPercentMax": rounded(max(load)) if load else None,
        "serverLoadPercentP95": rounded(percentile(load, 95)),
    }


def recommend(cache_out: CacheOut, current_sku: str, figures: dict[str, Any] | str, table: TargetTable) -> Finding:
    hit = table.get("cache-hit-rate")
    rule = (
        f"next SKU up when keys were evicted and used memory peaked >= {FULL_PERCENT:g} % or the hit rate missed the "
        f"cache-hit-rate target ({hit.target:g} %); next SKU down (Managed Redis) when nothing was evicted, the hit "
        f"rate met its target, server load peaked < {QUIET_LOAD_PERCENT:g} % and the memory peak would stay < "
        f"{DOWN_HEADROOM_PERCENT:g} % on the smaller size"
    )
    if isinstance(figures, str):
        return Finding(subject="cache", knob="sku", kind="no-data", rule=rule, summary=f"no recommendation: {figures}")
    memory, evicted = figures["usedMemoryPercentMax"], figures["evictedKeys"] or 0.0
    rate, load = figures["hitRatePercent"], figures["serverLoadPercentMax"]
    if evicted > 0 and ((memory or 0) >= FULL_PERCENT or (rate is not None and rate < hit.target)):
        return _up(cache_out, current_sku, figures, rule)
    if cache_out.tier == "managed" and evicted == 0 and rate is not None and rate >= hit.target:
        smaller, this, _ = managed_neighbours(current_sku)
        if smaller and this and memory is not None and load is not None and load < QUIET_LOAD_PERCENT:
            projected = memory * this["memoryGb"] / smaller["memoryGb"]
            if projected < DOWN_HEADROOM_PERCENT:
                figures = {**figures, "projectedMemoryPercentOnSmaller": round(projected, 1)}
                return _change(
                    current_sku,
                    smaller["sku"],
                    figures,
                    rule,
                    f"{current_sku} -> {smaller['sku']} ({smaller['memoryGb']:g} GB): no evictions, hit "
                    f"rate {rate:g} %, memory peak {memory:g} % would be {projected:.1f} % on the smaller "
                    "size (check Learn's limits to scaling down before applying)",
                )
    note = ""
    if load is not None and load >= BUSY_LOAD_PERCENT and evicted == 0:
        note = f"; server load peaked at {load:g} %: a compute limit, not memory (consider a higher-performance tier)"
    return Finding(
        subject="cache",
        knob="sku",
        kind="no-change",
        rule=rule,
        evidence=figures,
        summary=f"{current_sku} fits: {evicted:g} keys evicted, memory peak {memory} %, hit rate {rate} %" + note,
    )


def _up(cache_out: CacheOut, current_sku: str, figures: dict[str, Any], rule: str) -> Finding:
    if cache_out.tier == "managed":
        _, this, larger = managed_neighbours(current_sku)
        proposed = larger["sku"] if larger else None
        size = f" ({larger['memoryGb']:g} GB, from {this['memoryGb']:g} GB)" if larger and this else ""
    else:
        proposed = classic_next(current_sku)
        size = ""
    why = (
        f"{figures['evictedKeys']:g} keys evicted, memory peak {figures['usedMemoryPercentMax']} %, "
        f"hit rate {figures['hitRatePercent']} %"
    )
    if proposed is None:
        return Finding(
            subject="cache",
            knob="sku",
            kind="no-change",
            rule=rule,
            evidence=figures,
            summary=f"{current_sku} is the largest SKU of its tier ({why}): change the tier by hand",
        )
    return _change(current_sku, proposed, figures, rule, f"{current_sku} -> {proposed}{size}: {why}")


def _change(current: str, proposed: str, figures: dict[str, Any], rule: str, summary: str) -> Finding:
    return Finding(
        subject="cache",
        knob="sku",
        kind="change",
        rule=rule,
        evidence=figures,
        summary=summary,
        changes=[SettingChange(path="redis.sku", current=current, proposed=proposed)],
    )
