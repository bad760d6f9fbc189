"""The cache, asked directly: hit rate over a window from `INFO stats`, and the live eviction policy.

`keyspace_hits` and `keyspace_misses` are counters since the server started (or since
`CONFIG RESETSTAT`); the hit rate over a window is Δhits / (Δhits + Δmisses) between a sample
at its start and one at its end (samples in between give the chart). A counter that went
backwards (a restart or reset) restarts the difference from that sample. No lookups in the
window is no data, not a perfect score.

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
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry


@dataclass(frozen=True)
class CounterSample:
    time: datetime
    hits: int
    misses: int


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
    stats: dict[str, Any] = client.info("stats")  # type: ignore[assignment]
    return CounterSample(datetime.now(UTC), int(stats["keyspace_hits"]), int(stats["keyspace_misses"]))


def eviction_policy(client: redis.Redis) -> str:
    memory: dict[str, Any] = client.info("memory")  # type: ignore[assignment]
    return str(memory["maxmemory_policy"])


@dataclass(frozen=True)
class HitRate:
    hits: int
    misses: int
    series: list[tuple[datetime, float]]

    @property
    def lookups(self) -> int:
        return self.hits + self.misses

    @property
    def percent(self) -> float | None:
        return 100.0 * self.hits / self.lookups if self.lookups else None


def hit_rate(samples: list[CounterSample]) -> HitRate:
    """Hits and misses between the first and last sample, tolerant of a counter reset."""
    hits = misses = 0
    series: list[tuple[datetime, float]] = []
    for before, after in itertools.pairwise(samples):
        reset = after.hits < before.hits or after.misses < before.misses
        d_hits = after.hits if reset else after.hits - before.hits
        d_misses = after.misses if reset else after.misses - before.misses
        hits += d_hits
        misses += d_misses
        if d_hits + d_misses:
            series.append((after.time, 100.0 * d_hits / (d_hits + d_misses)))
    return HitRate(hits, misses, series)
