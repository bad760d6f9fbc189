"""Timed HTTP requests at a fixed rate: average and p95 latency of a URL, bounded in every way.

Requests are sent on a fixed schedule (`rate` per second), each on its own task, whether or not
earlier ones have answered: a slow server cannot slow the probe down and hide its own slowness
(closed-loop probes under-sample exactly when latency is high). Latency is measured from each
request's scheduled send time to the end of its response body, so client-side lateness is
counted, not hidden. One warm-up request (not counted) opens the connection first.

Bounds: `requests` requests, `rate` per second, each with `timeout` seconds; the whole probe
takes at most requests / rate + timeout seconds. A response that is not 2xx, or a transport
error or timeout, is a failed request: listed, excluded from the latency figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx


@dataclass
class HttpSample:
    sent_at: datetime
    latency_ms: float
    status: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300


@dataclass
class HttpProbeResult:
    url: str
    samples: list[HttpSample] = field(default_factory=list)
    elapsed_seconds: float = 0.0

    @property
    def successes(self) -> list[HttpSample]:
        return [s for s in self.samples if s.ok]

    @property
    def failures(self) -> list[HttpSample]:
        return [s for s in self.samples if not s.ok]

    def mean_ms(self) -> float | None:
        ok = self.successes
        return sum(s.latency_ms for s in ok) / len(ok) if ok else None

    def percentile_ms(self, percent: float) -> float | None:
        return percentile([s.latency_ms for s in self.successes], percent)

    def failure_summary(self) -> str | None:
        failed = self.failures
        if not failed:
            return None
        kinds: dict[str, int] = {}
        for sample in failed:
            kind = sample.error or f"HTTP {sample.status}"
            kinds[kind] = kinds.get(kind, 0) + 1
        listed = ", ".join(f"{count}x {kind}" for kind, count in sorted(kinds.items(), key=lambda kv: -kv[1]))
        return f"{len(failed)} of {len(self.samples)} requests failed ({listed})"


def percentile(values: list[float], percent: float) -> float | None:
    """Nearest-rank percentile (no interpolation: a value that was actually observed)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


async def _probe(url: str, requests: int, rate: float, timeout: float, verify: bool | str) -> HttpProbeResult:
    result = HttpProbeResult(url)
    limits = httpx.Limits(max_connections=max(1, requests), max_keepalive_connections=max(1, requests))
    async with httpx.AsyncClient(timeout=timeout, limits=limits, verify=verify, follow_redirects=False) as client:
        with contextlib.suppress(httpx.HTTPError):
            await client.get(url)  # warm-up: DNS, TCP, TLS; not counted
        loop = asyncio.get_running_loop()
        start = loop.time()

        async def one(index: int) -> HttpSample:
            scheduled = start + index / rate
            await asyncio.sleep(max(0.0, scheduled - loop.time()))
            sent_at = datetime.now(UTC)  # when it really left, so the schedule can be verified
            try:
                response = await client.get(url)
                await response.aread()
                latency = (loop.time() - scheduled) * 1000
                return HttpSample(sent_at, latency, response.status_code)
            except httpx.TimeoutException:
                return HttpSample(sent_at, (loop.time() - scheduled) * 1000, None, f"timeout after {timeout:g} s")
            except httpx.HTTPError as error:
                return HttpSample(sent_at, (loop.time() - scheduled) * 1000, None, type(error).__name__)

        result.samples = list(await asyncio.gather(*(one(i) for i in range(requests))))
        result.elapsed_seconds = loop.time() - start
    return result


def probe_http(url: str, *, requests: int, rate: float, timeout: float, verify: bool | str = True) -> HttpProbeResult:
    """Send `requests` GETs to `url` at `rate` per second; see the module docstring."""
    if requests < 1 or rate <= 0 or timeout <= 0:
        raise ValueError("requests, rate and timeout must be positive")
    # A private loop, never installed as the thread's current one: callers that rely on the
    # current event loop (Pulumi's runtime does) are left as they were.
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(_probe(url, requests, rate, timeout, verify))
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
