"""Small statistics over hourly series: worst replica per hour, percentiles, shares of hours.

Across replicas (`podName`) or groups the worst one per bucket counts: an allocation must fit
the busiest replica, not the average one. Percentiles are nearest-rank (no interpolation), so
a reported p95 is a value that was actually measured.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime

from checks.tune.read import Series


def per_bucket(series: list[Series], aggregation: str, combine: str = "max") -> dict[datetime, float]:
    """One value per bucket over every series: the max (worst replica), min, or sum."""
    found: dict[datetime, list[float]] = defaultdict(list)
    for item in series:
        for moment, value in item.values.get(aggregation, []):
            found[moment].append(value)
    reduce = {"max": max, "min": min, "sum": math.fsum}[combine]
    return {moment: float(reduce(values)) for moment, values in sorted(found.items())}


def percentile(values: list[float], percent: float) -> float | None:
    """Nearest-rank percentile; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100.0 * len(ordered)))
    return ordered[rank - 1]


def peak(values: list[float]) -> float | None:
    return max(values) if values else None


def rounded(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)
