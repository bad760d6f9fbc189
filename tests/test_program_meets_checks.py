"""The two halves agree: what the program declares, read back from ARM, passes the checks' conformance.

Each stack is planned; its outputs go to the checks as `pulumi stack output` would hand them;
a local stand-in for Azure Resource Manager answers each resource with the properties the
program declared (in ARM's shape). Every conformance row must then PASS, so a renamed output
key, a size in another unit or a differently spelled policy shows up here, not in production.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from checks.clouds import cloud_profile
from checks.conformance import ArmReader, conformance_rows
from checks.outputs import parse_outputs
from checks.sources.azure import AzureAccess
from infra.plan.engine.runner import PlannedResource, PlanResult
from tests.conftest import STACKS, opened, plan
from tests.fixtures.checks.fake_azure import FakeAzure, FakeCredential

CONTAINER_APP = "azure-native:app:ContainerApp"
CONTAINER_GROUP = "azure-native:containerinstance:ContainerGroup"
MANAGED_DATABASE = "azure-native:redisenterprise:Database"
CLASSIC_REDIS = "azure-native:redis:Redis"


def as_json_numbers(value: Any) -> Any:
    """Integral floats as integers, as ARM's JSON has them (the mock engine hands floats)."""
    if isinstance(value, dict):
        return {k: as_json_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_json_numbers(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def arm_properties(resource: PlannedResource) -> dict[str, Any]:
    """The declared inputs as ARM returns them (`properties` of a GET on the resource)."""
    inputs = as_json_numbers(opened(resource.inputs))
    if resource.type == CONTAINER_APP:
        return {"template": inputs["template"], "configuration": inputs["configuration"]}
    if resource.type == CONTAINER_GROUP:
        return {
            "containers": [
                {"name": c["name"], "properties": {k: v for k, v in c.items() if k != "name"}}
                for c in inputs["containers"]
            ]
        }
    if resource.type == MANAGED_DATABASE:
        return {k: inputs[k] for k in ("evictionPolicy", "clientProtocol", "clusteringPolicy")}
    if resource.type == CLASSIC_REDIS:
        return {"redisConfiguration": {"maxmemory-policy": inputs["redisConfiguration"]["maxmemoryPolicy"]}}
    raise AssertionError(resource.type)


@pytest.fixture
def arm(tmp_path: Path) -> Iterator[FakeAzure]:
    server = FakeAzure(tmp_path).start()
    yield server
    server.stop()


def serve_declared(arm: FakeAzure, result: PlanResult) -> None:
    for resource in result.resources:
        if resource.type in (CONTAINER_APP, CONTAINER_GROUP, MANAGED_DATABASE, CLASSIC_REDIS):
            assert resource.resource_id
            arm.resource(resource.resource_id, arm_properties(resource))


def rows_for(arm: FakeAzure, result: PlanResult):
    outputs = parse_outputs(json.loads(json.dumps(result.outputs)))
    access = AzureAccess(
        cloud_profile("public", arm_endpoint=arm.url),
        lambda: FakeCredential(),
        retries=1,
        backoff_factor=0.01,
        client_kwargs={"connection_verify": str(arm.cert)},
    )
    return conformance_rows(outputs, ArmReader(access))


@pytest.mark.parametrize("stack", STACKS)
def test_what_the_program_declares_passes_the_checks_conformance(arm: FakeAzure, stack: str) -> None:
    result = plan(stack)
    serve_declared(arm, result)
    rows = rows_for(arm, result)
    assert len(rows) >= 3
    assert {row.check: row.verdict for row in rows if row.verdict != "PASS"} == {}
    assert any(row.check == "cache eviction policy" for row in rows)


def test_classic_cache_declared_policy_passes_too(arm: FakeAzure) -> None:
    result = plan("dev", {"redis": {"tier": "classic", "sku": "Standard_C1"}})
    serve_declared(arm, result)
    rows = {row.check: row for row in rows_for(arm, result)}
    assert rows["cache eviction policy"].verdict == "PASS"


def test_drift_from_the_declaration_fails_with_both_values(arm: FakeAzure) -> None:
    result = plan("prod")
    serve_declared(arm, result)
    backend = result.one(CONTAINER_APP, "compute-backend")
    drifted = copy.deepcopy(arm_properties(backend))
    drifted["template"]["scale"]["maxReplicas"] = 3
    arm.resource(backend.resource_id or "", drifted)
    rows = {row.check: row for row in rows_for(arm, result)}
    bounds = rows["backend: replica bounds"]
    assert bounds.verdict == "FAIL"
    assert (bounds.declared, bounds.live) == ("2-10", "2-3")
