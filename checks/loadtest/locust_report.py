"""Locust's final statistics (`--json-file`), read into the engine-neutral result the verdict is computed from.

Locust 2.47 writes a list of entries, one per request name and method (locust/stats.py
`StatsEntryDict`): `num_requests`, `num_failures`, `total_response_time` (ms, summed),
`response_times` (a histogram: rounded ms -> count), `num_reqs_per_sec` (epoch second ->
count), `start_time`, `last_request_timestamp`. Locust times a request until its body is read,
so the mean is the full response time, as Artillery's `http.total`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from checks.loadtest.config import LoadTestPlan
from checks.loadtest.engine_report import EngineResult, RequestStats
from checks.loadtest.locust_runner import LocustRun
from checks.model import Window

SOURCE = "locust"
PERCENTILES = {"p50": 0.50, "p90": 0.90, "p95": 0.95, "p99": 0.99}


class LocustStatsError(ValueError):
    """Locust's statistics file is missing or not the list of entries Locust writes."""


def read_locust_stats(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise LocustStatsError(f"Locust statistics {path} are unreadable: {error}") from None
    if not isinstance(data, list) or not all(isinstance(e, dict) and "name" in e for e in data):
        raise LocustStatsError(f"Locust statistics {path} are not a list of entries with a name")
    return data


def histogram_percentiles(histogram: dict[int, int]) -> dict[str, float]:
    """Percentiles of Locust's response-time histogram (keys are rounded milliseconds)."""
    points = sorted((float(k), int(v)) for k, v in histogram.items())
    total = sum(count for _, count in points)
    found: dict[str, float] = {}
    for name, share in PERCENTILES.items():
        seen = 0
        for value, count in points:
            seen += count
            if seen >= share * total:
                found[name] = value
                break
    if points:
        found["min"], found["max"] = points[0][0], points[-1][0]
    return found


def requests_per_second(entries: list[dict[str, Any]]) -> dict[int, int]:
    """Every entry's requests by epoch second, summed."""
    seconds: dict[int, int] = {}
    for entry in entries:
        for second, count in (entry.get("num_reqs_per_sec") or {}).items():
            seconds[int(second)] = seconds.get(int(second), 0) + int(count)
    return dict(sorted(seconds.items()))


def locust_result(plan: LoadTestPlan, run: LocustRun, entries: list[dict[str, Any]]) -> EngineResult:
    requests = []
    histogram: dict[int, int] = {}
    for entry in entries:
        count = int(entry.get("num_requests") or 0)
        total = entry.get("total_response_time") or 0
        requests.append(
            RequestStats(
                name=str(entry["name"]),
                count=count,
                failures=int(entry.get("num_failures") or 0),
                mean_ms=float(total) / count if count else None,
                percentiles=histogram_percentiles(entry.get("response_times") or {}),
            )
        )
        for key, value in (entry.get("response_times") or {}).items():
            histogram[int(float(key))] = histogram.get(int(float(key)), 0) + int(value)
    starts = [float(e["start_time"]) for e in entries if isinstance(e.get("start_time"), int | float)]
    ends = [
        float(e["last_request_timestamp"]) for e in entries if isinstance(e.get("last_request_timestamp"), int | float)
    ]
    window = (
        Window(start=datetime.fromtimestamp(min(starts), UTC), end=datetime.fromtimestamp(max(ends), UTC))
        if starts and ends and max(ends) >= min(starts)
        else Window(start=run.started, end=run.ended)
    )
    mode = f"master and {run.workers} workers on this host" if run.workers else "one headless process"
    return EngineResult(
        source=SOURCE,
        tool=f"locust {run.version}" if run.version else "locust",
        window=window,
        requests=requests,
        latency_percentiles=histogram_percentiles(histogram),
        raw={"requestsPerSecond": {str(k): v for k, v in requests_per_second(entries).items()}},
        notes=[f"Locust ran as {mode}, one arrival user per process (open model, Artillery's arrival rates)"],
        calls=[
            {
                "source": SOURCE,
                "command": run.command,
                "version": run.version,
                "exitCode": run.exit_code,
                "workers": run.workers,
                "seconds": round((run.ended - run.started).total_seconds(), 1),
            }
        ],
    )
