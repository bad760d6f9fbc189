"""Alerts and diagnostic settings that Azure accepts and that measure something.

- `alert-metrics`: every metric alert criterion names a metric that exists in its namespace
  (the namespace of the resource it watches), with an aggregation and dimensions that metric
  has, per the sourced catalogue `data/metrics.yaml`.
- `diagnostic-categories`: every category and category group a diagnostic setting asks for
  exists for its target's type, per `data/diagnostic_categories.yaml`.
"""

from __future__ import annotations

from collections.abc import Iterator

from infra.policy.model import Severity, entries, field_of
from infra.policy.preconditions.catalogue import diagnostic_types, metric_namespaces
from infra.policy.preconditions.model import StackFacts, StackRule, StackView, Violation
from infra.policy.rules.types import DIAGNOSTIC_SETTING, METRIC_ALERT


def _alert_metrics(view: StackView, facts: StackFacts) -> Iterator[Violation]:
    catalogue = metric_namespaces()
    for alert in view.of_type(METRIC_ALERT):
        watched = view.through(alert, "scopes")
        for index, criterion in enumerate(entries(alert.props, "criteria.allOf")):
            where = f"criteria.allOf[{index}]"
            namespace = str(field_of(criterion, "metricNamespace", where) or "")
            metric = str(field_of(criterion, "metricName", where) or "")
            aggregation = str(field_of(criterion, "timeAggregation", where) or "")
            entry = catalogue.get(namespace.lower())
            if entry is None:
                yield Violation(
                    alert, f"{alert.name} watches namespace '{namespace}', which is not in the metric catalogue"
                )
                continue
            for resource in watched:
                if resource.type not in entry.pulumi_types:
                    yield Violation(
                        alert,
                        f"{alert.name} watches {resource.name} ({resource.type}), not an '{entry.name}' resource",
                    )
            spec = entry.metrics.get(metric)
            if spec is None:
                yield Violation(
                    alert,
                    f"{alert.name} watches metric '{metric}', which does not exist in {entry.name} "
                    f"(metric catalogue, source {entry.source})",
                )
                continue
            if aggregation not in spec.aggregations:
                yield Violation(
                    alert,
                    f"{alert.name} aggregates '{metric}' by {aggregation}; {entry.name} offers "
                    f"{', '.join(sorted(spec.aggregations))}",
                )
            for dimension in field_of(criterion, "dimensions", where, []) or []:
                name = str(dimension.get("name")) if isinstance(dimension, dict) else "?"
                if name not in spec.dimensions:
                    offered = ", ".join(sorted(spec.dimensions)) or "none"
                    yield Violation(alert, f"{alert.name} filters '{metric}' on dimension '{name}'; it has {offered}")


def _diagnostic_categories(view: StackView, facts: StackFacts) -> Iterator[Violation]:
    catalogue = diagnostic_types()
    for setting in view.of_type(DIAGNOSTIC_SETTING):
        targets = view.through(setting, "resourceUri")
        if not targets:
            yield Violation(setting, f"{setting.name} sends the diagnostics of a resource this stack does not declare")
            continue
        target = targets[0]
        kind = catalogue.get(target.type)
        if kind is None:
            yield Violation(
                setting, f"{setting.name} targets {target.name} ({target.type}), which the category catalogue lacks"
            )
            continue
        for index, log in enumerate(entries(setting.props, "logs")):
            group = field_of(log, "categoryGroup", f"logs[{index}]")
            category = field_of(log, "category", f"logs[{index}]")
            if group is not None and group not in kind.category_groups:
                yield Violation(
                    setting,
                    f"{setting.name} asks {target.name} ({kind.name}) for category group '{group}'; it has "
                    f"{', '.join(sorted(kind.category_groups)) or 'none'}",
                )
            if category is not None and category not in kind.log_categories:
                yield Violation(
                    setting,
                    f"{setting.name} asks {target.name} ({kind.name}) for log category '{category}'; it has "
                    f"{', '.join(sorted(kind.log_categories)) or 'none'}",
                )
        for index, metric in enumerate(entries(setting.props, "metrics")):
            category = field_of(metric, "category", f"metrics[{index}]")
            if category not in kind.metric_categories:
                yield Violation(
                    setting,
                    f"{setting.name} asks {target.name} ({kind.name}) for metric category '{category}'; it has "
                    f"{', '.join(sorted(kind.metric_categories)) or 'none'}",
                )


RULES = (
    StackRule(
        id="alert-metrics",
        title="Every alert watches a metric that exists in its resource's namespace, with a valid aggregation "
        "and dimensions",
        remediation="Fix the target table's watch entry (checks/targets.yaml) or, for a metric Azure has added, "
        "add it to infra/policy/preconditions/data/metrics.yaml with its Learn source.",
        severity=Severity.HIGH,
        check=_alert_metrics,
    ),
    StackRule(
        id="diagnostic-categories",
        title="Every diagnostic-setting category or category group exists for its target's type",
        remediation="Ask only for what infra/policy/preconditions/data/diagnostic_categories.yaml lists for the "
        "type (infra/components/diagnostics.py).",
        severity=Severity.HIGH,
        check=_diagnostic_categories,
    ),
)
