"""Conformance rows: live settings read back through Azure Resource Manager vs the stack outputs."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from checks.clouds import cloud_profile
from checks.conformance import ArmReader, conformance_rows, parse_memory_gib, resource_type
from checks.model import ConformanceRow
from checks.outputs import StackOutputs, parse_outputs, read_outputs_file
from checks.sources.azure import AzureAccess
from tests.fixtures.checks.fake_azure import FakeAzure, FakeCredential, Fault

FIXTURES = Path(__file__).parent / "fixtures" / "checks"


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeAzure]:
    server = FakeAzure(tmp_path).start()
    yield server
    server.stop()


def reader(fake: FakeAzure, credential: FakeCredential | None = None) -> ArmReader:
    profile = cloud_profile("public", arm_endpoint=fake.url)
    access = AzureAccess(
        profile,
        lambda: credential or FakeCredential(),
        retries=1,
        backoff_factor=0.01,
        client_kwargs={"connection_verify": str(fake.cert)},
    )
    return ArmReader(access)


def outputs(name: str) -> StackOutputs:
    return read_outputs_file(FIXTURES / f"outputs-{name}.json")


def container(
    name: str, requests: tuple[float, float], limits: tuple[float, float] | None, role: str | None = ""
) -> dict[str, Any]:
    """A container group's container as ARM returns it; `role` "" means its own name, None unset."""
    resources: dict[str, Any] = {"requests": {"cpu": requests[0], "memoryInGB": requests[1]}}
    if limits is not None:
        resources["limits"] = {"cpu": limits[0], "memoryInGB": limits[1]}
    env = [{"name": "APPLICATIONINSIGHTS_CONNECTION_STRING"}]  # secure: ARM returns no value
    if role is not None:
        env.append({"name": "OTEL_SERVICE_NAME", "value": role or name})
    return {"name": name, "properties": {"image": f"{name}:1", "resources": resources, "environmentVariables": env}}


def container_app(cpu: float, memory: str, scale: dict[str, Any], name: str, role: str | None = "") -> dict[str, Any]:
    env = [{"name": "APPLICATIONINSIGHTS_CONNECTION_STRING", "secretRef": "appinsights-connection-string"}]
    if role is not None:
        env.append({"name": "OTEL_SERVICE_NAME", "value": role or name})
    return {
        "template": {
            "containers": [
                {"name": name, "image": f"{name}:1", "resources": {"cpu": cpu, "memory": memory}, "env": env}
            ],
            "scale": scale,
        }
    }


SCALE = {
    "minReplicas": 2,
    "maxReplicas": 10,
    "cooldownPeriod": 300,
    "pollingInterval": 30,
    "rules": [
        {"name": "cpu", "custom": {"type": "cpu", "metadata": {"type": "Utilization", "value": "70"}}},
        {"name": "http-rule", "http": {"metadata": {"concurrentRequests": "100"}}},
    ],
}


def by_check(rows: list[ConformanceRow]) -> dict[str, ConformanceRow]:
    return {row.check: row for row in rows}


def test_resource_types_and_memory_strings_parse() -> None:
    stack = outputs("dev")
    assert resource_type(stack.cache.database_id or "") == "microsoft.cache/redisenterprise/databases"
    assert resource_type(stack.services["web"].resource_ids[0]) == "microsoft.containerinstance/containergroups"
    assert parse_memory_gib("4Gi") == 4 and parse_memory_gib("512Mi") == 0.5 and parse_memory_gib("lots") is None


def test_container_groups_match_their_declared_requests_and_limits(fake: FakeAzure) -> None:
    stack = outputs("dev")
    group = stack.services["backend"].resource_ids[0]
    fake.resource(group, {"containers": [container("backend", (1.5, 3), (2, 4)), container("web", (0.5, 1), (1, 2))]})
    fake.resource(stack.cache.database_id or "", {"evictionPolicy": "AllKeysLRU", "clientProtocol": "Encrypted"})
    rows = by_check(conformance_rows(stack, reader(fake)))
    assert {r.verdict for r in rows.values()} == {"PASS"}
    assert rows["backend: container backend requests | limits"].live == "1.5 vCPU / 3 GB | 2 vCPU / 4 GB"
    assert rows["cache eviction policy"].live == "AllKeysLRU", "Azure's spelling equals allkeys-lru"
    assert sorted(c.query["api-version"][0] for c in fake.calls("arm")) == ["2023-05-01", "2025-07-01"]


def test_a_size_mismatch_fails_and_shows_both_values(fake: FakeAzure) -> None:
    stack = outputs("dev")
    group = stack.services["backend"].resource_ids[0]
    # web deployed without limits: its live limit is its request (1 vCPU / 1 GB), not the declared 1 / 2.
    fake.resource(group, {"containers": [container("backend", (1.5, 3), (2, 4)), container("web", (1, 1), None)]})
    fake.resource(stack.cache.database_id or "", {"evictionPolicy": "VolatileLRU"})
    rows = by_check(conformance_rows(stack, reader(fake)))
    web = rows["web: container web requests | limits"]
    assert web.verdict == "FAIL"
    assert web.declared == "0.5 vCPU / 1 GB | 1 vCPU / 2 GB" and web.live == "1 vCPU / 1 GB | 1 vCPU / 1 GB"
    assert rows["cache eviction policy"].verdict == "FAIL" and rows["cache eviction policy"].live == "VolatileLRU"
    assert rows["backend: container backend requests | limits"].verdict == "PASS"


def test_container_apps_check_size_replicas_rules_and_timings(fake: FakeAzure) -> None:
    stack = outputs("staging")
    backend, web = stack.services["backend"].resource_ids[0], stack.services["web"].resource_ids[0]
    fake.resource(backend, container_app(2.0, "4Gi", SCALE, "backend"))
    web_scale = copy.deepcopy(SCALE)
    web_scale["rules"] = web_scale["rules"][:1]  # no HTTP rule: none declared for web
    web_scale["maxReplicas"] = 5
    fake.resource(web, container_app(1.0, "2Gi", web_scale, "web"))
    fake.resource(stack.cache.resource_id, {"redisConfiguration": {"maxmemory-policy": "allkeys-lru"}})
    rows = by_check(conformance_rows(stack, reader(fake)))
    assert rows["backend: container backend CPU / memory"].verdict == "PASS"
    assert rows["backend: CPU scale rule"].live == "Utilization 70 %"
    assert rows["backend: HTTP scale rule"].verdict == "PASS"
    assert rows["web: HTTP scale rule"].live == "none" and rows["web: HTTP scale rule"].verdict == "PASS"
    bounds = rows["web: replica bounds"]
    assert bounds.verdict == "FAIL" and (bounds.declared, bounds.live) == ("2-10", "2-5")
    assert rows["backend: cooldown / polling"].live == "300 s / 30 s"
    assert rows["cache eviction policy"].verdict == "PASS"
    assert {c.query["api-version"][0] for c in fake.calls("arm")} == {"2025-01-01", "2024-11-01"}


def test_a_missing_resource_fails_and_an_unreadable_one_is_no_data(fake: FakeAzure) -> None:
    stack = outputs("dev")
    fake.fault("arm", Fault(status=404, body=b'{"error": {"code": "ResourceNotFound", "message": "gone"}}'))
    fake.fault("arm", Fault(status=500))
    fake.fault("arm", Fault(status=500))
    rows = conformance_rows(stack, reader(fake))
    verdicts = sorted(r.verdict for r in rows)
    assert verdicts == ["FAIL", "FAIL", "NO_DATA"] or verdicts == ["FAIL", "NO_DATA", "NO_DATA"]
    missing = [r for r in rows if r.verdict == "FAIL"]
    assert all(r.live == "resource not found (404)" for r in missing)
    assert all("HTTP 500" in (r.reason or "") for r in rows if r.verdict == "NO_DATA")


def test_no_credential_turns_every_row_into_no_data_with_the_reason(fake: FakeAzure) -> None:
    from azure.core.exceptions import ClientAuthenticationError

    class Refusing(FakeCredential):
        def get_token(self, *scopes: str, **kwargs: Any):
            raise ClientAuthenticationError("DefaultAzureCredential failed to retrieve a token")

    rows = conformance_rows(outputs("dev"), reader(fake, Refusing()))
    assert {r.verdict for r in rows} == {"NO_DATA"}
    assert all("authentication failed" in (r.reason or "") for r in rows)


def test_a_container_without_its_role_name_fails_naming_the_variable(fake: FakeAzure) -> None:
    stack = outputs("dev")
    group = stack.services["backend"].resource_ids[0]
    fake.resource(
        group,
        {"containers": [container("backend", (1.5, 3), (2, 4), role=None), container("web", (0.5, 1), (1, 2), "api")]},
    )
    fake.resource(stack.cache.database_id or "", {"evictionPolicy": "AllKeysLRU"})
    rows = by_check(conformance_rows(stack, reader(fake)))
    backend = rows["backend: container backend role name (OTEL_SERVICE_NAME)"]
    web = rows["web: container web role name (OTEL_SERVICE_NAME)"]
    assert (backend.verdict, backend.declared, backend.live) == ("FAIL", "backend", "not set")
    assert (web.verdict, web.declared, web.live) == ("FAIL", "web", "api")


def test_container_apps_role_names_are_read_from_the_apps_env(fake: FakeAzure) -> None:
    stack = outputs("staging")
    backend, web = stack.services["backend"], stack.services["web"]
    fake.resource(backend.resource_ids[0], container_app(2, "4Gi", SCALE, "backend"))
    fake.resource(web.resource_ids[0], container_app(1, "2Gi", SCALE, "web", role="frontend"))
    rows = by_check(conformance_rows(stack, reader(fake)))
    assert rows["backend: container backend role name (OTEL_SERVICE_NAME)"].verdict == "PASS"
    assert rows["web: container web role name (OTEL_SERVICE_NAME)"].live == "frontend"
    assert rows["web: container web role name (OTEL_SERVICE_NAME)"].verdict == "FAIL"


def test_outputs_without_role_names_add_no_role_rows(fake: FakeAzure) -> None:
    data = json.loads((FIXTURES / "outputs-dev.json").read_text())
    for service in data["services"].values():
        del service["roleName"]
    stack = parse_outputs(data)
    group = stack.services["backend"].resource_ids[0]
    fake.resource(group, {"containers": [container("backend", (1.5, 3), (2, 4)), container("web", (0.5, 1), (1, 2))]})
    rows = conformance_rows(stack, reader(fake))
    assert not [row for row in rows if "role name" in row.check]
