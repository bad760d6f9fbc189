"""The exact queries the checks run for a measure, as pure functions both readers share.

The post-deploy checks (`checks/sources/metrics.py`, `checks/sources/logs.py`) send these
queries to Azure Monitor; the Pulumi program's workbook (`infra/workbook/`) charts the same
queries, so a dashboard can never show something other than what the gate judged. This
module imports nothing but the target table, so the program can use it without pulling in the
Azure client libraries.

- `metric_query_for(measure)`: namespace, metric names, aggregation, grain, and the dimension
  split (sent as the filter `<dimension> eq '*'`, which returns one series per value).
- `kql_for(measure, start, end, telemetry)`: the table's KQL with its `{start}`/`{end}`
  placeholders replaced by the given text verbatim (the checks pass UTC instants; the workbook
  passes its time-range parameters) and its telemetry placeholders (`{roleName}`,
  `{dependencyTypes}`) by escaped KQL literals from the stack's telemetry contract, in one pass
  (`checks.telemetry.fill`: KQL itself uses braces, and inserted text is never scanned again).
"""

from __future__ import annotations

from dataclasses import dataclass

from checks.targets import LogsMeasure, MetricsMeasure
from checks.telemetry import TelemetryContract, fill


@dataclass(frozen=True)
class MetricQuery:
    """One metrics measure as the batch metrics API is asked for it."""

    namespace: str
    metrics: tuple[str, ...]
    aggregation: str
    grain: str
    split: str | None = None

    @property
    def filter(self) -> str | None:
        """The `$filter` that splits the series by `split` (None: one series per resource)."""
        return f"{self.split} eq '*'" if self.split else None


def metric_query_for(measure: MetricsMeasure) -> MetricQuery:
    return MetricQuery(
        namespace=measure.namespace,
        metrics=tuple(measure.metrics),
        aggregation=measure.aggregation,
        grain=measure.grain,
        split=measure.split,
    )


def kql_for(measure: LogsMeasure, start: str, end: str, telemetry: TelemetryContract | None = None) -> str:
    """The KQL the checks run for `measure` over [start, end].

    Raises `TelemetryContractError` when the query needs a role name or dependency types that
    `telemetry` lacks.
    """
    values = {"start": start, "end": end}
    if telemetry is not None:
        values.update(telemetry.values(measure.service))
    return fill(measure.query, values)
