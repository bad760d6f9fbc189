"""The cache, asked directly: hit rate over a window from `INFO stats`, and the live eviction policy.

`keyspace_hits` and `keyspace_misses` are counters since the server started (or since
`CONFIG RESETSTAT`); the hit rate over a window is Δhits / (Δhits + Δmisses) between a sample
at its start and one at its end (samples in between give the chart). No lookups in the window
is no data, not a perfect score.

Resets inside the window are detected between two samples and the segments around them are
combined (Σ hits / Σ lookups over the segments):
- a restart: `run_id` changed or `uptime_in_seconds` fell (INFO server);
- `CONFIG RESETSTAT`: any of `keyspace_hits`, `keyspace_misses`, `total_commands_processed`,
  `total_connections_received`, `total_net_input_bytes` fell (all reset to zero; the last
  three count every client's traffic since the server started, so they fall even when the
  hits and misses after the reset already exceed the ones before it).
After a reset the counters are taken as counts since the reset; lookups between the sample
before it and the reset itself are not seen, and the row says so. A reset goes unseen only if,
within one sample interval, every one of those counters climbs past its value before the reset.

The eviction policy is read from `INFO memory` (`maxmemory_policy`): Azure Managed Redis and
Azure Cache for Redis disable `CONFIG`, but `INFO` answers everywhere.

Authentication: none, a password (or access key) from an environment variable, or a
Microsoft Entra token (scope `https://redis.azure.com/.default` in the public cloud) whose
username is the principal's object id, read from the token's `oid` claim.
"""

from __future__ import annotations

import base64
import itertools
import json
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

# Counters CONFIG RESETSTAT sets to zero and that only grow otherwise (INFO stats).
MONOTONIC = ("total_commands_processed", "total_connections_received", "total_net_input_bytes")


@dataclass(frozen=True)
class CounterSample:
    time: datetime
    hits: int
    misses: int
    run_id: str = ""
    uptime_seconds: int = 0
    totals: tuple[int, ...] = ()


@dataclass(frozen=True)
class RedisTarget:
    host: str
    port: int
    tls: bool
    username: str | None = None
    password: str | None = None
    timeout_seconds: float = 10.0

    def describe(self) -> str:
        """host:port and the transport; never the password."""
        return f"redis{'s' if self.tls else ''}://{self.host}:{self.port}"


def normalize_policy(policy: str) -> str:
    """`allkeys-lru` (Redis), `AllKeysLRU` (Azure) and `allkeys_lru` name the same policy."""
    return policy.lower().replace("-", "").replace("_", "")


def token_object_id(token: str) -> str:
    """The `oid` claim of an Entra access token (the Redis username for Entra auth)."""
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload))
        return str(claims["oid"])
    except (IndexError, KeyError, ValueError) as error:
        raise ValueError("the Entra token has no readable 'oid' claim to use as the Redis username") from error


def connect(target: RedisTarget) -> redis.Redis:
    return redis.Redis(
        host=target.host,
        port=target.port,
        username=target.username,
        password=target.password,
        ssl=target.tls,
        ssl_min_version=ssl.TLSVersion.TLSv1_2 if target.tls else None,
        socket_timeout=target.timeout_seconds,
        socket_connect_timeout=target.timeout_seconds,
        decode_responses=True,
        retry=Retry(NoBackoff(), 0),  # one attempt: a wrong password or a closed port is an answer
    )


def sample_counters(client: redis.Redis) -> CounterSample:
    server: dict[str, Any] = client.info("server")  # type: ignore[assignment]
    stats: dict[str, Any] = client.info("stats")  # type: ignore[assignment]
    return CounterSample(
        datetime.now(UTC),
        int(stats["keyspace_hits"]),
        int(stats["keyspace_misses"]),
        run_id=str(server.get("run_id", "")),
        uptime_seconds=int(server.get("uptime_in_seconds", 0)),
        totals=tuple(int(stats.get(name, 0)) for name in MONOTONIC),
    )


def reset_between(before: CounterSample, after: CounterSample) -> str | None:
    """`restart`, `reset` (CONFIG RESETSTAT) or None, from two consecutive samples."""
    if (
        before.run_id and after.run_id and before.run_id != after.run_id
    ) or after.uptime_seconds < before.uptime_seconds:
        return "restart"
    if after.hits < before.hits or after.misses < before.misses:
        return "reset"
    if before.totals and after.totals and any(a < b for a, b in zip(after.totals, before.totals, strict=True)):
        return "reset"
    return None


def eviction_policy(client: redis.Redis) -> str:
    memory: dict[str, Any] = client.info("memory")  # type: ignore[assignment]
    return str(memory["maxmemory_policy"])


@dataclass(frozen=True)
class HitRate:
    hits: int
    misses: int
    series: list[tuple[datetime, float]]
    resets: list[str] = field(default_factory=list)

    def note(self) -> str | None:
        """What the evidence says about resets (None without any)."""
        if not self.resets:
            return None
        return (
            f"counters reset inside the window ({'; '.join(self.resets)}): the segments around each reset are "
            "combined; lookups between the sample before a reset and the reset itself are not counted"
        )

    @property
    def lookups(self) -> int:
        return self.hits + self.misses

    @property
    def percent(self) -> float | None:
        return 100.0 * self.hits / self.lookups if self.lookups else None


def hit_rate(samples: list[CounterSample]) -> HitRate:
    """Hits and misses between the first and last sample, segments around resets combined."""
    hits = misses = 0
    series: list[tuple[datetime, float]] = []
    resets: list[str] = []
    for before, after in itertools.pairwise(samples):
        kind = reset_between(before, after)
        if kind is not None:
            what = "a server restart" if kind == "restart" else "CONFIG RESETSTAT"
            resets.append(f"{what} between {before.time:%H:%M:%S} and {after.time:%H:%M:%S}")
        d_hits = after.hits if kind else after.hits - before.hits
        d_misses = after.misses if kind else after.misses - before.misses
        hits += d_hits
        misses += d_misses
        if d_hits + d_misses:
            series.append((after.time, 100.0 * d_hits / (d_hits + d_misses)))
    return HitRate(hits, misses, series, resets)
