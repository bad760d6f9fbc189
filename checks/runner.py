"""One check run: bake, measure each target through the chosen sources, judge, report.

Sources and their fallback order (`--source`):

- `azure`: platform metrics, then logs for the targets metrics left without data;
- `probe`: the direct probes only (no Azure call, no credential);
- `auto`: metrics, then logs, then probes, each only for the targets still without data.

Per target the first source that measured something decides; what earlier sources said is
kept in the result's `attempts`. A target no selected source can measure is NO_DATA with the
reason (the policy decides what that means for the exit code); `--skip` leaves a target out
of the run entirely, and the report lists it.

Conformance: with an Azure source, Azure Resource Manager is read (in the background while
metrics and logs are queried); with probes, the cache's eviction policy is read from the Redis
server, and in `auto` mode only when ARM could not answer it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from checks.conformance import ArmReader, conformance_rows
from checks.durations import DEFAULT_CHECK_WINDOW, human_duration, parse_duration
from checks.endpoints import Endpoints
from checks.interrupts import Interrupted
from checks.jobs import SOURCE_LABELS, Job, jobs_for, thresholds_of
from checks.model import ConformanceRow, Evidence, Policy, Report, TargetResult, Thresholds, Window, decide
from checks.outputs import StackOutputs
from checks.progress import progress as show_progress
from checks.sources.azure import AzureAccess
from checks.sources.logs import LogsSource
from checks.sources.metrics import MetricsSource
from checks.sources.probes import ProbeSource
from checks.targets import TargetTable

SourceChoice = Literal["azure", "probe", "auto"]
SOURCE_KINDS: dict[str, tuple[str, ...]] = {
    "azure": ("metrics", "logs"),
    "probe": ("probe",),
    "auto": ("metrics", "logs", "probe"),
}


class RunInterrupted(Exception):  # noqa: N818 - a stop, not an error
    """SIGINT or SIGTERM stopped the run; `report` holds what was measured, marked interrupted."""

    def __init__(self, signum: int, report: Report) -> None:
        super().__init__(f"interrupted by signal {signum}")
        self.signum = signum
        self.report = report


@dataclass
class CheckOptions:
    source: SourceChoice = "auto"
    window: timedelta = field(default_factory=lambda: parse_duration(DEFAULT_CHECK_WINDOW))
    bake: timedelta = timedelta(0)
    policy: Policy = field(default_factory=Policy)
    only: list[str] | None = None
    skip: list[str] = field(default_factory=list)
    conformance: bool = True


def select_targets(table: TargetTable, only: list[str] | None, skip: list[str]) -> list[str]:
    known = [t.id for t in table.targets]
    for target_id in [*(only or []), *skip]:
        if target_id not in known:
            raise ValueError(f"unknown target {target_id!r}; the table has {known}")
    chosen = only if only else known
    return [t for t in known if t in chosen and t not in skip]


def run_check(
    outputs: StackOutputs,
    table: TargetTable,
    endpoints: Endpoints,
    options: CheckOptions,
    access: AzureAccess | None,
    *,
    progress: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    http_verify: bool | str = True,
) -> Report:
    say = progress or (lambda message: None)
    kinds = SOURCE_KINDS[options.source]
    uses_azure = any(kind in kinds for kind in ("metrics", "logs"))
    if uses_azure and access is None:
        raise ValueError(f"source {options.source} needs Azure access")
    selected = select_targets(table, options.only, options.skip)
    if options.bake > timedelta(0):
        say(f"baking for {human_duration(options.bake)} before measuring")
        with show_progress("baking before measuring", options.bake.total_seconds()):
            sleep(options.bake.total_seconds())
    end = datetime.now(UTC).replace(microsecond=0)
    window = Window(start=end - options.window, end=end)
    jobs = jobs_for(table, outputs, selected)
    attempts: dict[str, list[tuple[str, list[Evidence]]]] = {target_id: [] for target_id in selected}
    pending = set(selected)
    calls: list[dict[str, Any]] = []
    notes: list[str] = []

    background = ThreadPoolExecutor(max_workers=1)
    conformance: list[ConformanceRow] = []
    probe_window: Window | None = None
    error_results: dict[str, TargetResult] = {}
    started = time.monotonic()
    spent: dict[str, float] = {}
    try:
        arm_future: Future[list[ConformanceRow]] | None = None
        arm_reader = None
        if options.conformance and uses_azure:
            assert access is not None
            arm_reader = ArmReader(access)
            arm_future = background.submit(_timed, conformance_rows, outputs, arm_reader)

        for kind in (k for k in kinds if k != "probe"):
            todo = _pending_jobs(jobs, selected, pending, kind)
            if not todo:
                continue
            say(f"{SOURCE_LABELS[kind]}: {len(todo)} measure(s)")
            source: MetricsSource | LogsSource
            if kind == "metrics":
                assert access is not None
                source = MetricsSource(access, outputs, window)
            else:
                assert access is not None
                source = LogsSource(access, outputs, window)
            phase = time.monotonic()
            with show_progress(f"{SOURCE_LABELS[kind]}: reading {len(todo)} measure(s)"):
                rows = source.collect(todo)
            calls += [{"source": SOURCE_LABELS[kind], **call} for call in source.calls]
            _record(SOURCE_LABELS[kind], todo, rows, attempts, pending)
            _spend(spent, todo, time.monotonic() - phase)

        if arm_future is not None:
            conformance = _share(*arm_future.result())
            assert arm_reader is not None
            calls.append({"source": "arm", "reads": arm_reader.calls})

        if "probe" in kinds:
            todo = _pending_jobs(jobs, selected, pending, "probe")
            arm_policy = next((row for row in conformance if row.check == "cache eviction policy"), None)
            want_policy = options.conformance and (arm_policy is None or arm_policy.verdict == "NO_DATA")
            if todo or want_policy:
                say(f"probes: {len(todo)} measure(s), window {human_duration(options.window)}")
                probes = ProbeSource(
                    outputs,
                    endpoints,
                    options.window,
                    access,
                    progress=say,
                    http_verify=http_verify,
                    error_limits=_error_limits(table),
                )
                phase = time.monotonic()
                with show_progress(
                    f"probes: watching the {human_duration(options.window)} window", options.window.total_seconds()
                ):
                    rows = probes.collect(todo, want_eviction_policy=want_policy)
                _record("probe", todo, rows, attempts, pending)
                _spend(spent, todo, time.monotonic() - phase)
                error_results = _error_results(table, probes.error_rows)
                probe_window = probes.window
                if want_policy:
                    redis_row = probes.eviction_row()
                    if arm_policy is not None and redis_row.verdict == "NO_DATA":
                        redis_row = redis_row.model_copy(
                            update={"reason": f"ARM: {arm_policy.reason}; Redis: {redis_row.reason}"}
                        )
                    conformance = [row for row in conformance if row is not arm_policy] + [redis_row]
    except Interrupted as stop:
        # Do not wait for in-flight Azure reads: the run is over. What was measured is reported.
        background.shutdown(wait=False, cancel_futures=True)
        done = [t for t in selected if attempts[t]]
        notes.append(
            f"interrupted by {stop.name} after {time.monotonic() - started:.1f} s: a partial report, no verdict; "
            f"measured {', '.join(done) or 'nothing'}"
        )
        report = _report(outputs, table, options, selected, attempts, jobs, kinds, window, probe_window,
                         conformance, notes, calls, error_results, interrupted=stop.name,
                         timing=(spent, time.monotonic() - started))  # fmt: skip
        raise RunInterrupted(stop.signum, report) from None
    background.shutdown(wait=True)
    if options.conformance and not uses_azure:
        notes.append(
            "containers' CPU and memory and the scale settings are read from Azure Resource Manager: "
            f"not checked with --source {options.source}"
        )
    for target_id in options.skip:
        notes.append(f"target {target_id} skipped (--skip)")

    if "probe" in kinds and _error_limits(table) is None:
        notes.append("probe error rates not judged: the target table has no loadTest.errorRate")
    return _report(outputs, table, options, selected, attempts, jobs, kinds, window, probe_window, conformance,
                   notes, calls, error_results, timing=(spent, time.monotonic() - started))  # fmt: skip


def _report(
    outputs: StackOutputs,
    table: TargetTable,
    options: CheckOptions,
    selected: list[str],
    attempts: dict[str, list[tuple[str, list[Evidence]]]],
    jobs: dict[str, list[Job]],
    kinds: tuple[str, ...],
    window: Window,
    probe_window: Window | None,
    conformance: list[ConformanceRow],
    notes: list[str],
    calls: list[dict[str, Any]],
    error_results: dict[str, TargetResult],
    interrupted: str | None = None,
    timing: tuple[dict[str, float], float] = ({}, 0.0),
) -> Report:
    spent, elapsed = timing
    results = []
    for target_id in selected:
        result = _result(table, target_id, attempts[target_id], jobs[target_id], options, outputs)
        result = result.model_copy(update={"seconds": round(spent.get(target_id, 0.0), 3)})
        if interrupted and not attempts[target_id]:
            result = result.model_copy(update={"summary": f"no data: interrupted by {interrupted} before measuring"})
        results.append(result)
        if target_id in error_results:
            results.append(error_results[target_id])
    uses_azure = any(kind in kinds for kind in ("metrics", "logs"))
    report_window = window if uses_azure or probe_window is None else probe_window
    return Report(
        project=outputs.project,
        stack=outputs.stack,
        environment=outputs.environment,
        platform=outputs.platform,
        cache_tier=outputs.cache.tier,
        workbook_url=outputs.workbook.url if outputs.workbook else None,
        sources=[SOURCE_LABELS[k] for k in kinds],
        window=report_window,
        bake_seconds=options.bake.total_seconds(),
        generated_at=datetime.now(UTC).replace(microsecond=0),
        policy=options.policy,
        targets=results,
        conformance=conformance,
        notes=notes,
        calls=calls,
        elapsed_seconds=round(elapsed, 3),
        interrupted=interrupted,
    )


def _error_limits(table: TargetTable) -> Thresholds | None:
    """The probes' error-rate thresholds: the load test's (`loadTest.errorRate` in the table)."""
    if table.load_test is None:
        return None
    limit = table.load_test.error_rate
    return Thresholds(unit=limit.unit, better=limit.better, target=limit.target, critical=limit.critical)


def _error_results(table: TargetTable, error_rows: dict[str, tuple[str, list[Evidence]]]) -> dict[str, TargetResult]:
    """`<id>-errors`: the share of failed probe requests of a target, one result per target."""
    found = {}
    for target_id, (statistic, rows) in error_rows.items():
        target = table.get(target_id)
        thresholds = rows[0].thresholds
        found[target_id] = decide(f"{target_id}-errors", target.component, statistic, thresholds, [("probe", rows)])
    return found


def _spend(spent: dict[str, float], todo: list[Job], seconds: float) -> None:
    """Split a source phase's wall-clock time evenly among the targets it measured."""
    targets = {job.target.id for job in todo}
    for target_id in targets:
        spent[target_id] = spent.get(target_id, 0.0) + seconds / len(targets)


def _timed(read: Any, *args: Any) -> tuple[list[ConformanceRow], float]:
    started = time.monotonic()
    return read(*args), time.monotonic() - started


def _share(rows: list[ConformanceRow], seconds: float) -> list[ConformanceRow]:
    return [row.model_copy(update={"seconds": round(seconds / len(rows), 3)}) for row in rows] if rows else rows


def _pending_jobs(jobs: dict[str, list[Job]], selected: list[str], pending: set[str], kind: str) -> list[Job]:
    return [
        job for target_id in selected if target_id in pending for job in jobs[target_id] if job.measure.source == kind
    ]


def _record(
    label: str,
    todo: list[Job],
    rows: dict[str, list[Evidence]],
    attempts: dict[str, list[tuple[str, list[Evidence]]]],
    pending: set[str],
) -> None:
    by_target: dict[str, list[Evidence]] = {}
    for job in todo:
        by_target.setdefault(job.target.id, []).extend(rows.get(job.key, []))
    for target_id, target_rows in by_target.items():
        attempts[target_id].append((label, target_rows))
        if any(row.verdict != "NO_DATA" for row in target_rows):
            pending.discard(target_id)


def _result(
    table: TargetTable,
    target_id: str,
    attempts: list[tuple[str, list[Evidence]]],
    jobs: list[Job],
    options: CheckOptions,
    outputs: StackOutputs,
) -> TargetResult:
    target = table.get(target_id)
    result = decide(target.id, target.component, target.statistic, thresholds_of(target), attempts)
    if not attempts:
        kinds = SOURCE_KINDS[options.source]
        available = sorted({job.measure.source for job in jobs})
        reason = (
            f"no {'/'.join(kinds)} measure for this target on platform {outputs.platform}, "
            f"cache tier {outputs.cache.tier} (the table has: {', '.join(available) or 'none'})"
        )
        result = result.model_copy(update={"summary": f"no data: {reason}"})
    return result
