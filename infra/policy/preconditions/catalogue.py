"""The sourced catalogues the preconditions judge against: metrics per namespace, diagnostic
categories per resource type. Data files beside this module, each entry naming its source."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

DATA_DIR = Path(__file__).with_name("data")
METRICS_FILE = DATA_DIR / "metrics.yaml"
DIAGNOSTICS_FILE = DATA_DIR / "diagnostic_categories.yaml"


@dataclass(frozen=True)
class MetricEntry:
    aggregations: frozenset[str]
    dimensions: frozenset[str]


@dataclass(frozen=True)
class Namespace:
    name: str
    source: str
    pulumi_types: frozenset[str]
    metrics: dict[str, MetricEntry]


@dataclass(frozen=True)
class DiagnosticType:
    name: str
    source: str
    pulumi_types: frozenset[str]
    log_categories: frozenset[str]
    category_groups: frozenset[str]
    metric_categories: frozenset[str]


@cache
def metric_namespaces(path: Path = METRICS_FILE) -> dict[str, Namespace]:
    """Namespace (lowercase: Azure compares namespaces case-insensitively) -> its catalogue entry."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    catalogue = {}
    for name, entry in document["namespaces"].items():
        metrics = {
            metric: MetricEntry(frozenset(spec["aggregations"]), frozenset(spec.get("dimensions") or []))
            for metric, spec in entry["metrics"].items()
        }
        catalogue[name.lower()] = Namespace(name, entry["source"], frozenset(entry["pulumiTypes"]), metrics)
    return catalogue


@cache
def diagnostic_types(path: Path = DIAGNOSTICS_FILE) -> dict[str, DiagnosticType]:
    """Pulumi type token -> what a diagnostic setting on it may ask for."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    by_pulumi_type = {}
    for name, entry in document["types"].items():
        kind = DiagnosticType(
            name,
            entry["source"],
            frozenset(entry["pulumiTypes"]),
            frozenset(entry.get("logCategories") or []),
            frozenset(entry.get("categoryGroups") or []),
            frozenset(entry.get("metricCategories") or []),
        )
        by_pulumi_type.update({token: kind for token in kind.pulumi_types})
    return by_pulumi_type
