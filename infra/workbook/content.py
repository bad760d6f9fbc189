"""The workbook's content, as data: one section per target, built from what the checks run.

Input: the target table and the stack outputs (the contract the checks read, resolved). The
checks' own functions choose what is shown: `checks.jobs.jobs_for` picks each target's
measures for this platform and cache tier, `checks.jobs.subjects_for` the resources a scope
names, and `checks.queries` gives the metric definition or the KQL. So each chart is the query
`fin-infra check` runs, never a copy of its text:

- a metrics measure: a line chart of the same namespace, metrics, aggregation, grain and split,
  and tiles with the value over the check's window, coloured by the target's thresholds (for
  percent-of-limit, converted into the metric's unit per service, as the alerts do; a ratio
  cannot be computed by a metric tile, so its section says how the check derives it);
- a logs measure: the check's KQL summarized per time bin, with the target and critical
  values as two more series (threshold lines), and a tile running the check's KQL unchanged
  over the check's window;
- a target measured only by probes: a text section saying how `fin-infra check` judges it.

Parameters: `TimeRange` (the charts), `Window` (the tiles; default `fin-infra check`'s window)
and `Stack`. With `reportUrl` set, a link to the latest published check report.
"""

from __future__ import annotations

from typing import Any

from checks.durations import DEFAULT_CHECK_WINDOW, parse_duration
from checks.jobs import Job, Subject, jobs_for, subjects_for
from checks.outputs import ServiceOut, StackOutputs
from checks.queries import kql_for, metric_query_for
from checks.targets import Conversion, LogsMeasure, MetricsMeasure, ProbeMeasure, Target, TargetTable
from checks.telemetry import TelemetryContract
from infra.workbook import items as wb

TIME_RANGE, WINDOW, STACK = "TimeRange", "Window", "Stack"
CHART_START, CHART_END = "{TimeRange:startISO}", "{TimeRange:endISO}"
TILE_START, TILE_END = "{Window:startISO}", "{Window:endISO}"
DEFAULT_TIME_RANGE_MS = 86_400_000


class WorkbookError(ValueError):
    """The table asks for something the workbook cannot chart; the message names the target."""


def thresholds_grid(target: Target, target_value: float, critical_value: float, unit: str) -> list[dict[str, Any]]:
    """Colours in the order `Target.judge` decides: empty is no data, then FAIL, WARN, PASS."""
    operator = ">=" if target.better == "lower" else "<="
    return [
        wb.threshold_rule("is Empty", None, "gray", "no data (never PASS)"),
        wb.threshold_rule(operator, critical_value, "redBright", f"{{0}} FAIL (critical {critical_value:g} {unit})"),
        wb.threshold_rule(operator, target_value, "orange", f"{{0}} WARN (target {target_value:g} {unit})"),
        wb.threshold_rule("Default", None, "green", "{0} PASS"),
    ]


def trend_kql(measure: LogsMeasure, target: Target, telemetry: TelemetryContract) -> str:
    """The check's KQL, summarized per time bin, with the target and critical values as series."""
    base = kql_for(measure, CHART_START, CHART_END, telemetry)
    last = base.rsplit("|", 1)[-1].strip()
    if not last.startswith("summarize") or " by " in f" {last} ":
        raise WorkbookError(
            f"target {target.id}: its logs query must end in a `summarize` without `by` to be charted "
            f"over time; it ends in {last[:60]!r}"
        )
    return (
        f"{base} by bin(TimeGenerated, {{TimeRange:grain}})\n"
        f"| extend target = {float(target.target)!r}, critical = {float(target.critical)!r}\n"
        "| project TimeGenerated, value, target, critical"
    )


def _unit(target: Target) -> str:
    return "%" if target.unit == "percent" else f" {target.unit}"


def _bound(target: Target) -> str:
    """How the verdict reads, e.g. `PASS < 200 ms, FAIL >= 500 ms` (`Target.judge`)."""
    passes, fails = ("<", ">=") if target.better == "lower" else (">", "<=")
    unit = _unit(target)
    return f"PASS {passes} {target.target:g}{unit}, FAIL {fails} {target.critical:g}{unit}"


def _metrics_items(job: Job, outputs: StackOutputs) -> list[dict[str, Any]]:
    measure = job.measure
    assert isinstance(measure, MetricsMeasure)
    query = metric_query_for(measure)
    subjects = subjects_for(measure.scope, outputs)
    if not subjects:
        return [wb.markdown(f"{job.key}-none", f"The stack outputs name no resource for `{measure.scope}`.", "warning")]
    key = job.key.replace("#", "-")
    described = f"{', '.join(query.metrics)} ({query.aggregation}, {query.grain}" + (
        f", per {query.split})" if query.split else ")"
    )
    series = [wb.metric_series(query.namespace, m, query.aggregation, query.split) for m in query.metrics]
    resource_ids = [s.resource_id for s in subjects]
    found = [
        wb.metric_chart(
            f"{key}-chart",
            f"{described} over {{TimeRange:label}}",
            query.namespace,
            resource_ids,
            series,
            query.grain,
            TIME_RANGE,
        )
    ]
    derive = measure.derive
    if derive is not None and derive.kind == "ratio":
        found.append(
            wb.metric_tiles(
                f"{key}-tiles",
                f"{described}, last {{Window:label}}",
                query.namespace,
                resource_ids,
                series,
                WINDOW,
                None,
            )
        )
        found.append(
            wb.markdown(
                f"{key}-derive",
                f"The check judges {derive.numerator} / ({' + '.join(derive.denominator)}) over its window, in % "
                f"({_bound(job.target)}). A metric chart cannot divide two metrics: read the ratio in the "
                "check report.",
                "info",
            )
        )
        return found
    if derive is not None and derive.kind == "percent-of-limit":
        return found + _limit_tiles(job, query, subjects, outputs, described)
    thresholds = thresholds_grid(job.target, job.target.target, job.target.critical, job.target.unit)
    found.append(
        wb.metric_tiles(
            f"{key}-tiles",
            f"{described}, last {{Window:label}}",
            query.namespace,
            resource_ids,
            series,
            WINDOW,
            thresholds,
        )
    )
    return found


def _limit_tiles(job: Job, query: Any, subjects: list[Subject], outputs: StackOutputs, described: str) -> list[dict]:
    """Per service, tiles coloured by the table's percentages of that service's limit, in the metric's unit."""
    derive = job.measure.derive  # type: ignore[union-attr]
    conversion = Conversion.model_validate(
        {"convert": "percent-of-limit", "limit": derive.limit, "unitsPerLimitUnit": derive.units_per_limit_unit}
    )
    tiles = []
    for name, service in outputs.services.items():
        limit = _limit_of(service, derive.limit)
        own = [s for s in subjects if s.service == name]
        shared = [s for s in subjects if s.service is None and _runs(service, s.resource_id)]
        if not own and not shared:
            continue
        filters = [wb.equals_filter(query.split, service.container_name)] if shared and query.split else None
        series = [wb.metric_series(query.namespace, m, query.aggregation, query.split, filters) for m in query.metrics]
        warn = round(conversion.metric_threshold(job.target.target, limit), 6)
        fail = round(conversion.metric_threshold(job.target.critical, limit), 6)
        tiles.append(
            wb.metric_tiles(
                f"{job.key.replace('#', '-')}-tiles-{name}",
                f"{name}: {described}, last {{Window:label}} ({job.target.target:g} % / {job.target.critical:g} % "
                f"of its {derive.limit} limit {limit:g} = {warn:.12g} / {fail:.12g} in the metric's unit)",
                query.namespace,
                [s.resource_id for s in own + shared],
                series,
                WINDOW,
                thresholds_grid(job.target, warn, fail, "in the metric's unit"),
            )
        )
    return tiles


def _limit_of(service: ServiceOut, kind: str | None) -> float:
    return service.limits.cpu if kind == "cpu" else service.limits.memory_gb


def _runs(service: ServiceOut, resource_id: str) -> bool:
    return any(rid.lower() == resource_id.lower() for rid in service.resource_ids)


def _logs_items(job: Job, outputs: StackOutputs) -> list[dict[str, Any]]:
    measure = job.measure
    assert isinstance(measure, LogsMeasure)
    target = job.target
    key = job.key.replace("#", "-")
    workspace = outputs.monitoring.log_analytics_workspace_id
    chart = wb.logs_query(
        f"{key}-chart",
        f"{measure.table}: {target.statistic} per time bin over {{TimeRange:label}} ({_bound(target)})",
        trend_kql(measure, target, outputs.telemetry),
        workspace,
        TIME_RANGE,
        "timechart",
        chart_settings={
            "xAxis": "TimeGenerated",
            "yAxis": ["value", "target", "critical"],
            "showLegend": True,
            "seriesLabelSettings": [
                {"seriesName": "value", "label": target.statistic},
                {"seriesName": "target", "label": f"target {target.target:g} {target.unit}", "color": "orange"},
                {
                    "seriesName": "critical",
                    "label": f"critical {target.critical:g} {target.unit}",
                    "color": "redBright",
                },
            ],
        },
    )
    tile = wb.logs_query(
        f"{key}-tile",
        f"{measure.table}: the check's query over the last {{Window:label}}",
        kql_for(measure, TILE_START, TILE_END, outputs.telemetry),
        workspace,
        WINDOW,
        "tiles",
        tile_settings={
            "leftContent": {
                "columnMatch": "value",
                "formatter": wb.FORMAT_THRESHOLDS,
                "formatOptions": {
                    "thresholdsOptions": "colors",
                    "thresholdsGrid": thresholds_grid(target, target.target, target.critical, target.unit),
                },
            },
            "secondaryContent": {"columnMatch": "samples", "formatter": wb.FORMAT_TEXT},
            "showBorder": True,
            "size": "auto",
        },
    )
    return [chart, tile]


def _probe_text(target: Target, probes: list[ProbeMeasure], only: bool) -> str:
    named = "; ".join(f"`{p.probe}` on `{p.scope}`" + (f" ({', '.join(p.paths)})" if p.paths else "") for p in probes)
    if only:
        return (
            f"**Measured by direct probes only** on this stack: {named}. `fin-infra check` runs them after a "
            f"deploy and judges the result by the same thresholds ({_bound(target)}); Azure Monitor holds no "
            "series for this target here, so there is nothing to chart."
        )
    return f"When Azure has no data, `fin-infra check` falls back to a direct probe: {named}."


def target_section(target: Target, jobs: list[Job], outputs: StackOutputs) -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        wb.markdown(
            f"{target.id}-about",
            f"**{target.component}, {target.statistic}** ({target.better} is better): {_bound(target)}. "
            "Judged after each deploy by `fin-infra check` from the same queries "
            f"(checks/targets.yaml, `{target.id}`).",
        )
    ]
    probes = [j.measure for j in jobs if isinstance(j.measure, ProbeMeasure)]
    for job in jobs:
        if isinstance(job.measure, MetricsMeasure):
            body += _metrics_items(job, outputs)
        elif isinstance(job.measure, LogsMeasure):
            body += _logs_items(job, outputs)
    if probes:
        only = len(probes) == len(jobs)
        body.append(wb.markdown(f"{target.id}-probes", _probe_text(target, probes, only), "info" if only else None))
    if not jobs:
        body.append(wb.markdown(f"{target.id}-none", "No measure of the table applies to this platform.", "warning"))
    title = f"{target.id}: {target.component} {target.statistic} ({_bound(target)})"
    return wb.group(f"target-{target.id}", title, body)


def build_workbook(table: TargetTable, outputs: StackOutputs, report_url: str | None = None) -> dict[str, Any]:
    """The workbook document (`serializedData`, before JSON encoding) for one stack."""
    window_ms = int(parse_duration(DEFAULT_CHECK_WINDOW).total_seconds() * 1000)
    header = (
        f"# {outputs.project} / {{{STACK}}}: performance targets\n"
        f"Generated by the Pulumi program from `checks/targets.yaml` and the stack's resources "
        f"(platform `{outputs.platform}`, cache `{outputs.cache.tier}`); `pulumi up` rewrites it, so edit the "
        "table, not this page. Charts use **TimeRange**; tiles show the value over **Window**, the span "
        "`fin-infra check` judges by default, coloured PASS / WARN / FAIL by the same thresholds."
    )
    found: list[dict[str, Any]] = [
        wb.markdown("header", header),
        wb.parameters(
            "parameters",
            [
                wb.time_range(TIME_RANGE, "Time range", DEFAULT_TIME_RANGE_MS, "The span the charts show."),
                wb.time_range(
                    WINDOW, "Check window", window_ms, "The span the tiles judge (fin-infra check --window)."
                ),
                wb.text_parameter(STACK, "Stack", outputs.stack, "The Pulumi stack this workbook was generated for."),
            ],
        ),
    ]
    if report_url:
        found.append(wb.links("report", [("Latest check report", report_url)]))
    for target_id, jobs in jobs_for(table, outputs).items():
        found.append(target_section(table.get(target_id), jobs, outputs))
    return wb.notebook(found, [outputs.monitoring.app_insights_id])
