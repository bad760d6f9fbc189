"""Direct probes as a source: HTTP, page load, Redis and PostgreSQL, over one live window.

Azure sources look back over the window; probes watch it live. The counter probes (Redis hit
rate, PostgreSQL statement time) take a sample when the probe phase starts, every
`probes.counterSampleSeconds` while it runs (for the chart), and at its end, `--window` later;
the HTTP and page-load probes run at the start of the same window, bounded by their own
settings. Where each probe connects comes from the endpoints file, then from the stack outputs
(service URLs, the cache host); the database is external and comes only from the endpoints
file (its DSN from an environment variable, never shown).

A probe that cannot run (no endpoint, missing extension) turns only its own target's rows into
NO_DATA with the reason. A service that answers with errors, or not at all, is measured:

- latency: successful requests (page loads) and timed-out ones, each of these counted as at
  least the timeout; a figure with a timeout in it is a lower bound (`lowerBound`), judged
  (so it can prove a WARN or a FAIL, never a PASS);
- error rate: every HTTP or page-load row has a twin in `error_rows`, the share of failed
  requests (non-2xx after redirects, refused, TLS failure, timeout) judged by the target
  table's `loadTest.errorRate` thresholds, the same as the load test's; the runner reports
  them as the target `<id>-errors`. A health endpoint answering 503, refusing connections or
  failing TLS is a FAIL, whatever `--no-data` says. Without `loadTest.errorRate` in the table
  no error rate is judged and a row with failures is at least WARN.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from checks.endpoints import Endpoints
from checks.jobs import Job
from checks.model import ConformanceRow, Evidence, Point, Thresholds, Window, measured, no_data
from checks.outputs import StackOutputs
from checks.probes import http as http_probe
from checks.probes import pageload
from checks.probes import postgres as pg_probe
from checks.probes import redis as redis_probe
from checks.redact import redact_text, redact_url, url_secrets
from checks.sources.azure import AzureAccess, describe_error
from checks.targets import ProbeMeasure

HTTP_ERRORS = "failed requests, % of sent"
PAGE_ERRORS = "failed page loads, % of attempted"
PAGE_LOAD_NOTE = (
    "time to interactive proxy: Navigation Timing loadEventEnd of a first visit in headless Chromium "
    "(domInteractive and domContentLoaded in stats)"
)


@dataclass
class _Counter:
    """One counter probe's connection and samples (Redis or PostgreSQL)."""

    job: Job
    resource: str
    label: str
    sample: Callable[[], Any]
    close: Callable[[], None]
    samples: list[Any] = field(default_factory=list)
    error: str | None = None
    gaps: list[str] = field(default_factory=list)
    last_failed: bool = False
    secrets: list[str] = field(default_factory=list)  # masked in failure reasons (password, token, DSN)

    def take(self) -> None:
        """One sample. A failure before the first sample ends the probe (its row is NO_DATA); a
        later one (a server restarting) is a gap, tried again at once on a fresh connection and
        then at the next sample: counters read after a gap still cover it. The row says how many
        samples were missed, and is NO_DATA if the last one (the window's end) failed."""
        if self.error:
            return
        for attempt in range(2):
            try:
                self.samples.append(self.sample())
                self.last_failed = False
                return
            except Exception as error:
                self.last_failed = True
                reason = redact_text(
                    f"sampling failed: {type(error).__name__}: {(str(error).splitlines() or [''])[0][:200]}",
                    self.secrets,
                )
                if not self.samples:
                    self.error = reason
                    return
                if attempt == 1:
                    self.gaps.append(reason)


class ProbeSource:
    def __init__(
        self,
        outputs: StackOutputs,
        endpoints: Endpoints,
        window: timedelta,
        access: AzureAccess | None = None,
        *,
        progress: Callable[[str], None] | None = None,
        http_verify: bool | str = True,
        error_limits: Thresholds | None = None,
    ):
        self.outputs = outputs
        self.error_limits = error_limits
        # target id -> (statistic, error-rate rows) of its HTTP / page-load rows
        self.error_rows: dict[str, tuple[str, list[Evidence]]] = {}
        self.endpoints = endpoints
        self.window_length = window
        self.access = access
        self.progress = progress or (lambda message: None)
        self.http_verify = http_verify
        self.eviction_policy: str | None = None
        self.eviction_error: str | None = None
        self.window: Window | None = None

    # -- entry point --------------------------------------------------------------------------

    def collect(self, jobs: list[Job], *, want_eviction_policy: bool) -> dict[str, list[Evidence]]:
        rows: dict[str, list[Evidence]] = {job.key: [] for job in jobs}
        started = datetime.now(UTC)
        deadline = time.monotonic() + self.window_length.total_seconds()
        counters: list[_Counter] = []
        redis_client = None
        for job in jobs:
            measure = self._measure(job)
            if measure.probe == "redis":
                counter, redis_client, reason = self._open_redis(job)
            elif measure.probe == "postgres":
                counter, reason = self._open_postgres(job)
            else:
                continue
            if counter is None:
                rows[job.key].append(self._no_data(job, self._counter_resource(measure), started, reason))
            else:
                counters.append(counter)
        if want_eviction_policy:
            self._read_eviction_policy(redis_client)
        for counter in counters:
            counter.take()
        stop = threading.Event()
        sampler = threading.Thread(target=self._sample_loop, args=(counters, stop, deadline), daemon=True)
        sampler.start()
        try:
            for job in jobs:
                measure = self._measure(job)
                if measure.probe == "http":
                    rows[job.key].extend(self._http_rows(job, measure))
                elif measure.probe == "page-load":
                    rows[job.key].extend(self._page_rows(job, measure))
            if counters:
                remaining = deadline - time.monotonic()
                if remaining > 0:
                    self.progress(f"probes: counters sampled; window ends in {remaining:.0f} s")
                    time.sleep(remaining)
        finally:
            stop.set()
            sampler.join()
        for counter in counters:
            counter.take()
            rows[counter.job.key].append(self._counter_row(counter))
            counter.close()
        self.window = Window(start=started, end=datetime.now(UTC))
        return rows

    def _read_eviction_policy(self, client: Any) -> None:
        """The live `maxmemory_policy`, on the hit-rate probe's connection or a short-lived one."""
        own = client is None
        if own:
            _, client, reason = self._open_redis(None)
            if client is None:
                self.eviction_error = reason
                return
        try:
            self.eviction_policy = redis_probe.eviction_policy(client)
        except Exception as error:
            self.eviction_error = f"INFO memory failed: {type(error).__name__}: {str(error)[:200]}"
        finally:
            if own:
                client.close()

    def eviction_row(self) -> ConformanceRow:
        declared = self.outputs.cache.eviction_policy
        resource = self.outputs.cache.resource_id
        if self.eviction_policy is None:
            return ConformanceRow(
                check="cache eviction policy",
                resource=resource,
                source="probe:redis",
                declared=declared,
                verdict="NO_DATA",
                reason=self.eviction_error or "the cache was not reached",
            )
        same = redis_probe.normalize_policy(self.eviction_policy) == redis_probe.normalize_policy(declared)
        return ConformanceRow(
            check="cache eviction policy",
            resource=resource,
            source="probe:redis (INFO memory maxmemory_policy)",
            declared=declared,
            live=self.eviction_policy,
            verdict="PASS" if same else "FAIL",
        )

    # -- helpers ------------------------------------------------------------------------------

    @staticmethod
    def _measure(job: Job) -> ProbeMeasure:
        assert isinstance(job.measure, ProbeMeasure)
        return job.measure

    def _sample_loop(self, counters: list[_Counter], stop: threading.Event, deadline: float) -> None:
        interval = self.endpoints.probes.counter_sample_seconds
        while not stop.wait(interval):
            if time.monotonic() >= deadline - interval / 2:
                return
            for counter in counters:
                counter.take()

    def _no_data(self, job: Job, resource: str, started: datetime, reason: str) -> Evidence:
        measure = self._measure(job)
        return no_data(
            source=f"probe:{measure.probe}",
            resource=resource,
            label=resource,
            query={"probe": measure.probe},
            window=Window(start=started, end=datetime.now(UTC)),
            thresholds=job.thresholds,
            reason=reason,
        )

    def _counter_resource(self, measure: ProbeMeasure) -> str:
        if measure.probe == "redis":
            return self._redis_target_description()
        return "database (external)"

    # -- HTTP and page load ---------------------------------------------------------------------

    def _service_url(self, name: str) -> tuple[str | None, str]:
        configured = self.endpoints.service(name).url
        if configured:
            return configured, "endpoints file"
        service = self.outputs.services.get(name)
        if service is not None and service.url:
            return service.url.rstrip("/"), "stack outputs"
        return None, ""

    def _paths(self, name: str, measure: ProbeMeasure) -> list[str]:
        service = self.outputs.services.get(name)
        health = service.health_path if service is not None else "/health"
        paths = [health if p == "{healthPath}" else p for p in measure.default_paths()]
        for extra in self.endpoints.service(name).paths:
            if extra not in paths:
                paths.append(extra)
        return paths

    def _http_rows(self, job: Job, measure: ProbeMeasure) -> list[Evidence]:
        name = measure.scope.split(":", 1)[1] if measure.scope.startswith("service:") else "backend"
        base, origin = self._service_url(name)
        settings = self.endpoints.probes.http
        if base is None:
            reason = f"no URL for service {name}: the stack outputs have none and the endpoints file gives none"
            return [self._no_data(job, f"service {name}", datetime.now(UTC), reason)]
        rows = []
        for path in self._paths(name, measure):
            url = base + path
            shown = redact_url(url)
            query = {
                "probe": "http",
                "method": "GET",
                "url": shown,
                "urlFrom": origin,
                "requests": settings.requests,
                "ratePerSecond": settings.rate_per_second,
                "timeoutSeconds": settings.timeout_seconds,
                "schedule": "fixed rate (open loop); latency from scheduled send to end of body",
            }
            self.progress(f"probes: {settings.requests} requests to {shown}")
            first = datetime.now(UTC)
            try:
                result = http_probe.probe_http(
                    url,
                    requests=settings.requests,
                    rate=settings.rate_per_second,
                    timeout=settings.timeout_seconds,
                    verify=self.http_verify,
                )
            except Exception as error:
                reason = redact_text(f"HTTP probe failed: {type(error).__name__}: {error}", url_secrets(url))
                rows.append(self._no_data(job, shown, first, reason))
                continue
            window = Window(start=first, end=datetime.now(UTC))
            timed = result.timed
            latencies = [sample.latency_ms for sample in timed]
            stats = {}
            if latencies:
                stats = {
                    "mean": math.fsum(latencies) / len(latencies),
                    "p95": http_probe.percentile(latencies, 95) or 0.0,
                    "min": min(latencies),
                    "max": max(latencies),
                }
            failures = result.failure_summary()
            timeouts = len(result.timed_out)
            note = failures
            if timeouts:
                note = (
                    f"{failures}; {timeouts} timed out, each counted as at least {settings.timeout_seconds:g} s: "
                    "the mean is a lower bound"
                )
            label = f"{name} GET {path}"
            row = measured(
                source="probe:http",
                resource=shown,
                label=label,
                query=query,
                window=window,
                thresholds=job.thresholds,
                value=result.mean_ms(),
                samples=len(timed),
                no_data_reason="no request succeeded or timed out: no latency to judge (see the error rate)",
                stats=stats,
                raw={"requests": len(result.samples), "failed": len(result.failures), "timedOut": timeouts},
                series=[Point(time=s.sent_at, value=s.latency_ms) for s in timed],
                note=note,
                lower_bound=result.lower_bound,
            )
            rows.append(self._judged_failures(row, failures is not None))
            self._error_row(job, HTTP_ERRORS, row, len(result.samples), len(result.failures), failures, "requests")
        return rows

    def _judged_failures(self, row: Evidence, failed: bool) -> Evidence:
        """Without error-rate thresholds, a row with failures is at least WARN (never a silent PASS)."""
        if failed and self.error_limits is None:
            return _at_least_warn(row)
        return row

    def _error_row(
        self, job: Job, statistic: str, twin: Evidence, attempted: int, failed: int, summary: str | None, what: str
    ) -> None:
        """The error-rate twin of a latency row, judged by the table's `loadTest.errorRate`."""
        if self.error_limits is None or attempted == 0:
            return
        row = measured(
            source=twin.source,
            resource=twin.resource,
            label=twin.label,
            query={**twin.query, "statistic": statistic},
            window=twin.window,
            thresholds=self.error_limits,
            value=100.0 * failed / attempted,
            samples=attempted,
            no_data_reason="nothing was sent",
            raw={what: attempted, "failed": failed},
            note=summary or f"0 of {attempted} {what} failed",
        )
        self.error_rows.setdefault(job.target.id, (statistic, []))[1].append(row)

    def _page_rows(self, job: Job, measure: ProbeMeasure) -> list[Evidence]:
        name = measure.scope.split(":", 1)[1] if measure.scope.startswith("service:") else "web"
        base, origin = self._service_url(name)
        settings = self.endpoints.probes.page_load
        if base is None:
            reason = f"no URL for service {name}: the stack outputs have none and the endpoints file gives none"
            return [self._no_data(job, f"service {name}", datetime.now(UTC), reason)]
        rows = []
        for path in self._paths(name, measure):
            url = base + path
            shown = redact_url(url)
            query = {
                "probe": "page-load",
                "url": shown,
                "urlFrom": origin,
                "loads": settings.loads,
                "timeoutSeconds": settings.timeout_seconds,
                "browser": "headless Chromium (system), fresh context per load",
                "metric": "Navigation Timing loadEventEnd (time-to-interactive proxy)",
            }
            self.progress(f"probes: {settings.loads} page loads of {shown}")
            first = datetime.now(UTC)
            try:
                result = pageload.load_pages(url, loads=settings.loads, timeout_seconds=settings.timeout_seconds)
            except Exception as error:
                reason = redact_text(f"page-load probe failed: {error}", url_secrets(url))
                rows.append(self._no_data(job, shown, first, reason))
                continue
            timeout_ms = settings.timeout_seconds * 1000
            timed = [load for load in result.loads if load.ok or load.timed_out]
            failed = [load for load in result.loads if not load.ok]
            timeouts = [load for load in result.loads if load.timed_out]
            note = PAGE_LOAD_NOTE
            summary = None
            if failed:
                kinds = sorted({load.error or "failed" for load in failed})
                summary = f"{len(failed)} of {len(result.loads)} loads failed ({', '.join(kinds)})"
                note = f"{summary}; {PAGE_LOAD_NOTE}"
            if timeouts:
                note = (
                    f"{note}; {len(timeouts)} timed out, each counted as at least "
                    f"{settings.timeout_seconds:g} s: the mean is a lower bound"
                )
            loads_ms = [timeout_ms if load.timed_out else load.load_ms for load in timed]
            loads_ms = [value for value in loads_ms if value is not None]
            stats: dict[str, float] = {}
            if loads_ms:
                stats = {"mean": math.fsum(loads_ms) / len(loads_ms), "p95": http_probe.percentile(loads_ms, 95) or 0.0}
                for key, attribute in (
                    ("domInteractive", "dom_interactive_ms"),
                    ("domContentLoaded", "dom_content_loaded_ms"),
                ):
                    value = result.mean(attribute)
                    if value is not None:
                        stats[key] = value
            row = measured(
                source="probe:page-load",
                resource=shown,
                label=f"{name} page {path}",
                query=query,
                window=Window(start=first, end=datetime.now(UTC)),
                thresholds=job.thresholds,
                value=math.fsum(loads_ms) / len(loads_ms) if loads_ms else None,
                samples=len(loads_ms),
                no_data_reason="no page load completed or timed out",
                stats=stats,
                raw={"loads": len(result.loads), "failed": len(failed), "timedOut": len(timeouts)},
                series=[
                    Point(time=load.time, value=timeout_ms if load.timed_out else load.load_ms)
                    for load in timed
                    if load.timed_out or load.load_ms is not None
                ],
                note=note,
                lower_bound=bool(timeouts),
            )
            rows.append(self._judged_failures(row, bool(failed)))
            self._error_row(job, PAGE_ERRORS, row, len(result.loads), len(failed), summary, "loads")
        return rows

    # -- Redis ----------------------------------------------------------------------------------

    def _redis_target(self) -> tuple[redis_probe.RedisTarget | None, str]:
        cache = self.outputs.cache
        configured = self.endpoints.redis
        host = (configured.host if configured else None) or cache.host_name
        port = (configured.port if configured else None) or cache.port
        tls = configured.tls if configured is not None and configured.tls is not None else cache.tls
        auth = (configured.auth if configured else None) or ("entra" if cache.auth == "entra" else "password")
        username = configured.username if configured else None
        password = None
        if auth == "password":
            env = configured.password_env if configured else None
            if not env:
                return (
                    None,
                    "the cache uses a password or access key: name its environment variable in redis.passwordEnv",
                )
            password = os.environ.get(env) or None
            if password is None:
                return None, f"environment variable {env} (redis.passwordEnv) is not set"
        elif auth == "entra":
            if self.access is None:
                return None, "Entra authentication needs an Azure credential"
            scope = (configured.entra_scope if configured else None) or self.access.cloud.redis_scope
            try:
                token = self.access.credential.get_token(scope).token
                username = username or redis_probe.token_object_id(token)
            except Exception as error:
                return None, f"no Entra token for the cache ({scope}): {describe_error(error)}"
            password = token
        return redis_probe.RedisTarget(host, port, tls, username, password), ""

    def _redis_target_description(self) -> str:
        cache = self.outputs.cache
        configured = self.endpoints.redis
        host = (configured.host if configured else None) or cache.host_name
        port = (configured.port if configured else None) or cache.port
        return f"{host}:{port}"

    def _open_redis(self, job: Job | None) -> tuple[_Counter | None, Any, str]:
        target, reason = self._redis_target()
        if target is None:
            return None, None, reason
        client = redis_probe.connect(target)
        try:
            client.ping()
        except Exception as error:
            client.close()
            return (
                None,
                None,
                redact_text(
                    f"cannot reach the cache at {target.describe()}: {type(error).__name__}: {str(error)[:200]}",
                    [target.password or ""],
                ),
            )
        if job is None:
            return None, client, ""
        counter = _Counter(
            job=job,
            resource=self.outputs.cache.resource_id,
            label=f"cache {target.describe()}",
            sample=lambda: redis_probe.sample_counters(client),
            close=client.close,
            secrets=[target.password or ""],
        )
        return counter, client, ""

    # -- PostgreSQL -----------------------------------------------------------------------------

    def _open_postgres(self, job: Job) -> tuple[_Counter | None, str]:
        database = self.endpoints.database
        if database is None:
            return None, "the database is external: name the environment variable holding its DSN in database.dsnEnv"
        dsn = database.dsn()
        if dsn is None:
            return None, f"environment variable {database.dsn_env} (database.dsnEnv) is not set"
        try:
            connection = pg_probe.connect(dsn)
        except pg_probe.PostgresProbeError as error:
            return None, str(error)
        try:
            schema = pg_probe.statements_schema(connection)
            pg_probe.require_all_statements(connection)
        except (pg_probe.PostgresProbeError, Exception) as error:
            connection.close()
            return None, redact_text(
                str(error).splitlines()[0] if str(error) else type(error).__name__, url_secrets(dsn)
            )
        where = pg_probe.describe_dsn(dsn)
        return (
            _Counter(
                job=job,
                resource=where,
                label=f"database {where}",
                sample=lambda: pg_probe.snapshot(connection, schema),
                close=connection.close,
                secrets=url_secrets(dsn),
            ),
            "",
        )

    # -- counter rows ---------------------------------------------------------------------------

    def _counter_row(self, counter: _Counter) -> Evidence:
        measure = self._measure(counter.job)
        window = Window(
            start=counter.samples[0].time if counter.samples else datetime.now(UTC),
            end=counter.samples[-1].time if counter.samples else datetime.now(UTC),
        )
        if counter.error or len(counter.samples) < 2 or counter.last_failed:
            reason = counter.error or "fewer than two samples: no window to measure"
            if counter.last_failed and not counter.error:
                reason = "the end of the window could not be sampled: the rest of the window is unknown"
            if counter.gaps:
                reason = f"{reason}; {len(counter.gaps)} sample(s) failed: {counter.gaps[-1]}"
            return self._no_data(counter.job, counter.resource, window.start, reason)
        interval = self.endpoints.probes.counter_sample_seconds
        gaps = f"{len(counter.gaps)} sample(s) failed ({counter.gaps[-1]})" if counter.gaps else None
        if measure.probe == "redis":
            rate = redis_probe.hit_rate(counter.samples)
            note = "; ".join(part for part in (rate.note(), gaps) if part) or None
            return measured(
                source="probe:redis",
                resource=counter.resource,
                label=counter.label,
                query={
                    "probe": "redis",
                    "command": "INFO stats",
                    "formula": "Δkeyspace_hits / (Δkeyspace_hits + Δkeyspace_misses)",
                    "sampleSeconds": interval,
                },
                window=window,
                thresholds=counter.job.thresholds,
                value=rate.percent,
                samples=rate.lookups,
                no_data_reason="no cache lookups in the window (keyspace hits and misses unchanged)",
                raw={
                    "hits": rate.hits,
                    "misses": rate.misses,
                    "counterSamples": len(counter.samples),
                    "resets": len(rate.resets),
                },
                series=[Point(time=t, value=v) for t, v in rate.series],
                note=note,
            )
        timing = pg_probe.query_time(counter.samples)
        return measured(
            source="probe:postgres",
            resource=counter.resource,
            label=counter.label,
            query={
                "probe": "postgres",
                "view": "pg_stat_statements",
                "formula": "Σ Δtotal_exec_time / Σ Δcalls (this database; utility statements excluded)",
                "sampleSeconds": interval,
            },
            window=window,
            thresholds=counter.job.thresholds,
            value=timing.mean_ms,
            samples=timing.calls,
            no_data_reason="no statements executed in the window",
            raw={"calls": timing.calls, "totalExecTimeMs": timing.total_ms, "counterSamples": len(counter.samples)},
            series=[Point(time=t, value=v) for t, v in timing.series],
            note=gaps,
        )


def _at_least_warn(row: Evidence) -> Evidence:
    if row.verdict == "PASS":
        return row.model_copy(update={"verdict": "WARN"})
    return row
