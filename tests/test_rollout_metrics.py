"""The revision-scoping table agrees with the sourced metric catalogue, and gives the right filters."""

from __future__ import annotations

import pytest
import yaml

from checks.revision_scope import revision_dimensions, revision_scope
from infra.paths import REPO_ROOT

CATALOGUE = REPO_ROOT / "infra" / "policy" / "preconditions" / "data" / "metrics.yaml"


def catalogue_dimensions() -> dict[str, list[str]]:
    document = yaml.safe_load(CATALOGUE.read_text())
    namespaces = document.get("namespaces", document)
    metrics = namespaces["Microsoft.App/containerApps"]["metrics"]
    return {name: entry["dimensions"] for name, entry in metrics.items()}


def test_every_entry_uses_a_dimension_the_metric_has() -> None:
    dimensions = catalogue_dimensions()
    for metric, by in revision_dimensions().items():
        assert metric in dimensions, metric
        if by == "none":
            assert not {"revisionName", "podName"} & set(dimensions[metric]), metric
        else:
            assert by in dimensions[metric], metric
            # revisionName wins whenever the metric has it.
            assert by == "revisionName" or "revisionName" not in dimensions[metric], metric


def test_every_catalogued_container_apps_metric_is_mapped() -> None:
    assert set(catalogue_dimensions()) == set(revision_dimensions())


def test_filters() -> None:
    revision = "ca-finagent-backend-prod-264656--r519a9a8975"
    requests = revision_scope("Requests", revision)
    assert requests.filter == f"revisionName eq '{revision}'" and requests.keeps("anything")
    cpu = revision_scope("CpuPercentage", revision)
    assert cpu.filter == "podName eq '*'"
    assert cpu.keeps(f"{revision}-7d9f8c6b5-x2x4z")
    assert not cpu.keeps("ca-finagent-backend-prod-264656--r0000000000-7d9f8c6b5-x2x4z")
    assert revision_scope("ResponseTime", revision).filter is None
    with pytest.raises(ValueError, match="not a revision name"):
        revision_scope("Requests", "x' or 1 eq 1 or 'y")
