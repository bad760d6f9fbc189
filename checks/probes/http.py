"""Timed HTTP requests at a fixed rate: average and p95 latency of a URL, bounded in every way.

Requests are sent on a fixed schedule (`rate` per second), each on its own task, whether or not
earlier ones have answered: a slow server cannot slow the probe down and hide its own slowness
(closed-loop probes under-sample exactly when latency is high). Latency is measured from each
request's scheduled send time to the end of its response body, so client-side lateness is
counted, not hidden. One warm-up request (not counted) opens the connection first.

Bounds: `requests` requests, `rate` per second; each request, body included and redirects
followed, has a deadline of `timeout` seconds (not a per-read timeout: a server trickling its
body byte by byte is cut off at the deadline). The warm-up has the same deadline, so the whole
probe takes at most timeout + (requests - 1) / rate + timeout seconds.

Outcomes of a request:
- 2xx (after following redirects): a latency sample;
- timed out: a latency sample of at least `timeout` (it took that long and more), marked so:
  a mean with a timed-out request in it is a lower bound; it is also a failed request;
- any other status (a redirect to an error page is the error's status), a refused connection,
  a TLS failure: a failed request, with the kind named; no latency sample.

TLS: a CA bundle named by `REQUESTS_CA_BUNDLE` (what the README tells users to set, and what
the Azure clients read) or `SSL_CERT_FILE` is trusted in addition to the default store.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

MAX_REDIRECTS = 5


@dataclass
class HttpSample:
    sent_at: datetime
    latency_ms: float
    status: int | None
    error: str | None = None
    timed_out: bool = False

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

    @property
    def timed_out(self) -> list[HttpSample]:
        return [s for s in self.samples if s.timed_out]

    @property
    def timed(self) -> list[HttpSample]:
        """The latency samples: successful requests and timed-out ones (at least the timeout)."""
        return [s for s in self.samples if s.ok or s.timed_out]

    @property
    def lower_bound(self) -> bool:
        """True when a timed-out request is in the mean: the true mean is at least the figure."""
        return bool(self.timed_out)

    def mean_ms(self) -> float | None:
        timed = self.timed
        return math.fsum(s.latency_ms for s in timed) / len(timed) if timed else None

    def percentile_ms(self, percent: float) -> float | None:
        return percentile([s.latency_ms for s in self.timed], percent)

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


def verify_setting(verify: bool | str = True) -> bool | str | ssl.SSLContext:
    """What httpx verifies with: `verify` as given, or the default store plus the CA bundle of
    `REQUESTS_CA_BUNDLE` / `SSL_CERT_FILE` when set (httpx itself reads only `SSL_CERT_FILE`)."""
    if verify is not True:
        return verify
    bundles = [os.environ.get(name) for name in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")]
    bundles = [b for b in dict.fromkeys(bundles) if b]
    if not bundles:
        return True
    import certifi

    context = ssl.create_default_context(cafile=certifi.where())
    for bundle in bundles:
        context.load_verify_locations(cafile=bundle)
    return context


def describe_failure(error: BaseException) -> str:
    """A transport failure by kind: TLS certificate, TLS handshake, refused, reset, DNS, other."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    text = " ".join(str(e) for e in chain)
    for item in chain:
        if isinstance(item, ssl.SSLCertVerificationError):
            return f"TLS certificate verification failed ({item.verify_message or 'untrusted'})"
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return "TLS certificate verification failed"
    if any(isinstance(item, ssl.SSLError) for item in chain) or "SSL" in text:
        return "TLS handshake failed"
    if any(isinstance(item, ConnectionRefusedError) for item in chain) or "Connection refused" in text:
        return "connection refused"
    if any(isinstance(item, ConnectionResetError) for item in chain) or "reset" in text.lower():
        return "connection reset"
    if isinstance(error, httpx.TooManyRedirects):
        return f"more than {MAX_REDIRECTS} redirects"
    if "Name or service not known" in text or "nodename nor servname" in text:
        return "DNS lookup failed"
    return type(error).__name__


async def _probe(url: str, requests: int, rate: float, timeout: float, verify: bool | str) -> HttpProbeResult:
    result = HttpProbeResult(url)
    limits = httpx.Limits(max_connections=max(1, requests), max_keepalive_connections=max(1, requests))
    async with httpx.AsyncClient(
        timeout=timeout,
        limits=limits,
        verify=verify_setting(verify),
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
    ) as client:

        async def fetch() -> httpx.Response:
            response = await client.get(url)
            await response.aread()
            return response

        with contextlib.suppress(httpx.HTTPError, TimeoutError):  # warm-up (DNS, TCP, TLS): not counted
            await asyncio.wait_for(fetch(), timeout)
        loop = asyncio.get_running_loop()
        start = loop.time()

        async def one(index: int) -> HttpSample:
            scheduled = start + index / rate
            await asyncio.sleep(max(0.0, scheduled - loop.time()))
            sent_at = datetime.now(UTC)  # when it really left, so the schedule can be verified
            try:
                response = await asyncio.wait_for(fetch(), timeout)
            except (TimeoutError, httpx.TimeoutException):
                latency = max(loop.time() - scheduled, timeout) * 1000
                return HttpSample(sent_at, latency, None, f"timeout after {timeout:g} s", timed_out=True)
            except httpx.HTTPError as error:
                return HttpSample(sent_at, (loop.time() - scheduled) * 1000, None, describe_failure(error))
            latency = (loop.time() - scheduled) * 1000
            if response.history and not 200 <= response.status_code < 300:
                return HttpSample(
                    sent_at, latency, response.status_code, f"HTTP {response.status_code} after a redirect"
                )
            return HttpSample(sent_at, latency, response.status_code)

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
