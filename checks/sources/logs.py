"""Log queries (KQL) through `LogsQueryClient.query_workspace`, for the App Insights tables.

Application Insights is workspace-based, so its tables (`AppRequests`, `AppDependencies`,
`AppBrowserTimings`, `AppPageViews`) live in the Log Analytics workspace; the query goes to the
workspace's customer id (`monitoring.logAnalyticsCustomerId` in the stack outputs). The
target table's query has `{start}`/`{end}` placeholders (replaced by the window's UTC
instants) and returns one row with a `value` column and a `samples` column: for latencies the
table weights `DurationMs` by `ItemCount` (sampling), so the mean is the mean of what was
really served. A null or non-finite value, or no samples, is NO_DATA; a partial result is
used and its error is shown, and it can prove a WARN or a FAIL but never a PASS (a partial
result that would pass is a WARN); a failed query turns only its own row into NO_DATA.

A query that judges one service's telemetry (`service` in the table) is scoped to that
service's role name (`{roleName}`) and, for database time, to the stack's dependency types
(`{dependencyTypes}`), both read from the stack outputs and filled as escaped KQL literals
(`checks.telemetry`). When such a query finds nothing, the reason names the part of the
telemetry contract (docs/telemetry.md) the app may be missing; when the outputs lack a value
the query needs, the row is NO_DATA without a query, rather than one averaging every app.
"""

from __future__ import annotations

import math
import time
from typing import Any

from checks.durations import utc_iso
from checks.interrupts import InterruptiblePool
from checks.jobs import Job
from checks.model import Evidence, Window, measured, no_data
from checks.outputs import StackOutputs
from checks.queries import kql_for
from checks.sources.azure import AzureAccess, describe_error
from checks.targets import LogsMeasure
from checks.telemetry import (
    DEPENDENCY_TYPES_PLACEHOLDER,
    TelemetryContract,
    TelemetryContractError,
    missing_telemetry_reason,
)

SOURCE = "azure-logs"


def render_query(measure: LogsMeasure, window: Window, telemetry: TelemetryContract | None = None) -> str:
    """The measure's KQL for `window`, telemetry placeholders filled (`checks.queries.kql_for`)."""
    return kql_for(measure, utc_iso(window.start), utc_iso(window.end), telemetry)


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def read_value(result: Any) -> tuple[float | None, int, str | None]:
    """(value, samples, problem) from a query result's first table: columns `value`, `samples`.

    `problem` names a malformed result; an empty one (no rows, a null value) has none: the
    caller says what is missing.
    """
    tables = getattr(result, "tables", None) or getattr(result, "partial_data", None) or []
    if not tables:
        return None, 0, "the query returned no table"
    table = tables[0]
    columns = [c if isinstance(c, str) else getattr(c, "name", str(c)) for c in table.columns]
    if "value" not in columns:
        return None, 0, f"the query's result has no 'value' column (columns: {columns})"
    if not table.rows:
        return None, 0, None
    row = list(table.rows[0])
    value = _number(row[columns.index("value")])
    samples_raw = _number(row[columns.index("samples")]) if "samples" in columns else None
    samples = int(samples_raw) if samples_raw is not None else (1 if value is not None else 0)
    return value, samples, None


class LogsSource:
    def __init__(self, access: AzureAccess, outputs: StackOutputs, window: Window, max_workers: int = 4):
        self.access = access
        self.outputs = outputs
        self.window = window
        self.max_workers = max_workers
        self.calls: list[dict[str, Any]] = []

    def collect(self, jobs: list[Job]) -> dict[str, list[Evidence]]:
        if not jobs:
            return {}
        workspace = self.outputs.monitoring.log_analytics_customer_id
        try:
            client = self.access.logs_client()
        except Exception as error:  # e.g. no credential: every log row is NO_DATA with the reason
            reason = f"logs client unavailable: {describe_error(error)}"
            return {job.key: [self._no_data(job, workspace, reason)] for job in jobs}
        with InterruptiblePool(max_workers=max(1, min(self.max_workers, len(jobs)))) as pool:
            results = list(pool.map(lambda job: self._run(client, workspace, job), jobs))
        return {job.key: [row] for job, row in zip(jobs, results, strict=True)}

    def _query(self, job: Job, workspace: str) -> dict[str, Any]:
        measure = self._measure(job)
        try:
            kql: str | None = render_query(measure, self.window, self.outputs.telemetry)
        except TelemetryContractError:
            kql = None  # reported by `_contract_gap`
        query: dict[str, Any] = {"api": "query_workspace", "workspace": workspace, "table": measure.table}
        if measure.service is not None:
            query["service"] = measure.service
        if kql is not None:
            query["kql"] = kql
        query["timespan"] = f"{utc_iso(self.window.start)}/{utc_iso(self.window.end)}"
        return query

    @staticmethod
    def _measure(job: Job) -> LogsMeasure:
        assert isinstance(job.measure, LogsMeasure)
        return job.measure

    def _contract_gap(self, job: Job) -> str | None:
        """What the stack outputs lack for this query to judge its service alone, if anything."""
        measure = self._measure(job)
        missing = []
        if measure.service is not None:
            service = self.outputs.services.get(measure.service)
            if service is None or not service.role_name:
                missing.append(f"services.{measure.service}.roleName")
        if DEPENDENCY_TYPES_PLACEHOLDER in measure.query and not self.outputs.monitoring.database_dependency_types:
            missing.append("monitoring.databaseDependencyTypes")
        if not missing:
            return None
        return (
            f"the stack outputs lack {' and '.join(missing)}, which the {measure.table} query filters on "
            "(outputs of a stack deployed before the telemetry contract, docs/telemetry.md): "
            "redeploy with this program, or add them to the outputs file; "
            "not queried, since the query would average every app's telemetry"
        )

    def _empty_reason(self, job: Job) -> str:
        measure = self._measure(job)
        telemetry = self.outputs.telemetry
        role = telemetry.role_names.get(measure.service) if measure.service is not None else None
        return missing_telemetry_reason(measure.table, measure.service, role, telemetry.dependency_types, measure.query)

    def _no_data(self, job: Job, workspace: str, reason: str) -> Evidence:
        return no_data(
            source=SOURCE,
            resource=self.outputs.monitoring.app_insights_id,
            label=f"workspace {workspace}",
            query=self._query(job, workspace),
            window=self.window,
            thresholds=job.thresholds,
            reason=reason,
        )

    def _run(self, client: Any, workspace: str, job: Job) -> Evidence:
        query = self._query(job, workspace)
        gap = self._contract_gap(job)
        if gap is not None or "kql" not in query:
            return self._no_data(job, workspace, gap or "the query's placeholders could not be filled")
        started = time.perf_counter()
        try:
            result = client.query_workspace(
                workspace, query["kql"], timespan=(self.window.start, self.window.end), server_timeout=60
            )
        except Exception as error:  # a failed query is this row's NO_DATA
            self.calls.append({"table": query["table"], "seconds": round(time.perf_counter() - started, 3)})
            return self._no_data(job, workspace, f"log query failed: {describe_error(error)}")
        self.calls.append({"table": query["table"], "seconds": round(time.perf_counter() - started, 3)})
        note = None
        partial_error = getattr(result, "partial_error", None)
        if partial_error is not None:
            note = f"partial result: {getattr(partial_error, 'message', partial_error)}"
        try:
            value, samples, problem = read_value(result)
        except Exception as error:
            return self._no_data(job, workspace, f"malformed log query result: {describe_error(error)}")
        row = measured(
            source=SOURCE,
            resource=self.outputs.monitoring.app_insights_id,
            label=f"{query['table']} in workspace {workspace}",
            query=query,
            window=self.window,
            thresholds=job.thresholds,
            value=value,
            samples=samples,
            no_data_reason=problem or self._empty_reason(job),
            note=note,
        )
        if partial_error is not None and row.verdict == "PASS":
            # the rows left out may be the slow ones: a partial mean cannot prove a PASS
            return row.model_copy(update={"verdict": "WARN"})
        return row
