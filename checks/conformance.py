"""Conformance: what is live matches what the stack declared.

Read back from Azure Resource Manager (a GET of each resource the stack outputs name, at a
pinned API version) and compared with the stack outputs:

- each container's CPU and memory: on Container Apps the container's `resources` (one
  allocation, the declared limits); on container groups the container's `requests` and
  `limits` (a container without limits may use its request, so that is its live limit);
- on Container Apps, the scale settings: replica bounds, the CPU rule's utilisation, the HTTP
  rule's concurrency (absent when none was declared), cooldown and polling intervals;
- each container's role name: its `OTEL_SERVICE_NAME` variable is the `roleName` the outputs
  give, the value the checks' log queries filter `AppRoleName` on (docs/telemetry.md);
- the cache's eviction policy: the Managed Redis database's `evictionPolicy`, or Azure Cache
  for Redis's `redisConfiguration.maxmemory-policy` (Azure's and Redis's spellings compare
  equal). The Redis server itself can answer this too (`checks.sources.probes`).

A mismatch is a FAIL that shows both values; a resource that does not exist (404) is a FAIL; a
read that fails otherwise is NO_DATA with the reason, for that resource's rows only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from checks.interrupts import InterruptiblePool
from checks.model import ConformanceRow
from checks.outputs import ServiceOut, StackOutputs
from checks.probes.redis import normalize_policy
from checks.sources.azure import AzureAccess, describe_error
from checks.sources.metrics import subscription_of

SOURCE = "arm"
API_VERSIONS = {
    "microsoft.app/containerapps": "2025-01-01",
    "microsoft.containerinstance/containergroups": "2023-05-01",
    "microsoft.cache/redisenterprise/databases": "2025-07-01",
    "microsoft.cache/redis": "2024-11-01",
}


def resource_type(resource_id: str) -> str:
    """`microsoft.cache/redisenterprise/databases` for a Managed Redis database id."""
    parts = resource_id.strip("/").split("/")
    lowered = [p.lower() for p in parts]
    if "providers" not in lowered:
        raise ValueError(f"not an Azure resource id: {resource_id!r}")
    index = len(lowered) - 1 - lowered[::-1].index("providers")
    provider, rest = parts[index + 1], parts[index + 2 :]
    types = rest[0::2]
    return "/".join([provider, *types]).lower()


def parse_memory_gib(value: Any) -> float | None:
    """`4Gi` / `4.0Gi` / `512Mi` as GiB (Container Apps' memory strings)."""
    if value is None:
        return None
    match = re.fullmatch(r"\s*([0-9.]+)\s*(Gi|G|Mi|M)?\s*", str(value))
    if not match:
        return None
    number = float(match.group(1))
    unit = match.group(2) or "Gi"
    return number / 1024 if unit in ("Mi", "M") else number


@dataclass
class ArmRead:
    properties: dict[str, Any] | None = None
    error: str | None = None
    missing: bool = False


class ArmReader:
    """GETs resources by id (in parallel, bounded), one client per subscription."""

    def __init__(self, access: AzureAccess, max_workers: int = 8):
        self.access = access
        self.max_workers = max_workers
        self._clients: dict[str, Any] = {}
        self.calls = 0

    def _client(self, subscription: str) -> Any:
        if subscription not in self._clients:
            self._clients[subscription] = self.access.arm_client(subscription)
        return self._clients[subscription]

    def read_all(self, resource_ids: list[str]) -> dict[str, ArmRead]:
        unique = list(dict.fromkeys(resource_ids))
        reads: dict[str, ArmRead] = {}
        try:
            for rid in unique:
                self._client(subscription_of(rid))
        except Exception as error:  # no credential, bad id: every read is NO_DATA with this reason
            reason = describe_error(error)
            return {rid: ArmRead(error=reason) for rid in unique}
        with InterruptiblePool(max_workers=max(1, min(self.max_workers, len(unique) or 1))) as pool:
            for rid, read in zip(unique, pool.map(self._read, unique), strict=True):
                reads[rid] = read
        return reads

    def _read(self, resource_id: str) -> ArmRead:
        from azure.core.exceptions import ResourceNotFoundError

        self.calls += 1
        try:
            kind = resource_type(resource_id)
            version = API_VERSIONS.get(kind)
            if version is None:
                return ArmRead(error=f"no API version known for {kind}")
            resource = self._client(subscription_of(resource_id)).resources.get_by_id(resource_id, api_version=version)
        except ResourceNotFoundError:
            return ArmRead(missing=True)
        except Exception as error:
            return ArmRead(error=describe_error(error))
        properties = getattr(resource, "properties", None)
        if not isinstance(properties, dict):
            return ArmRead(error="malformed response: the resource has no properties object")
        return ArmRead(properties=properties)


def _row(check: str, resource: str, declared: str, live: str | None, same: bool | None, reason: str | None = None):
    if same is None:
        return ConformanceRow(
            check=check,
            resource=resource,
            source=SOURCE,
            declared=declared,
            live=live,
            verdict="NO_DATA",
            reason=reason,
        )
    return ConformanceRow(
        check=check,
        resource=resource,
        source=SOURCE,
        declared=declared,
        live=live,
        verdict="PASS" if same else "FAIL",
        reason=reason,
    )


def _unavailable(check: str, resource: str, declared: str, read: ArmRead) -> ConformanceRow:
    if read.missing:
        return _row(check, resource, declared, "resource not found (404)", False)
    return _row(check, resource, declared, None, None, f"read from Azure Resource Manager failed: {read.error}")


def _size(cpu: float | None, memory: float | None, memory_unit: str) -> str:
    cpu_text = "none" if cpu is None else f"{cpu:g} vCPU"
    memory_text = "none" if memory is None else f"{memory:g} {memory_unit}"
    return f"{cpu_text} / {memory_text}"


def _close(a: float | None, b: float | None) -> bool:
    return a is not None and b is not None and abs(a - b) < 1e-9


def _whole(value: object) -> object:
    """A count as JSON may carry it (3 or 3.0) shown one way, so equal counts compare equal."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


ROLE_NAME_VARIABLE = "OTEL_SERVICE_NAME"


def role_name_row(name: str, service: ServiceOut, resource: str, env: list[Any] | None) -> list[ConformanceRow]:
    """The container's role name variable against the outputs' `roleName` (none declared: no row).

    `env` is the container's variables as ARM returns them (`{name, value}`; secret ones carry
    no value), or None when the container could not be read.
    """
    if service.role_name is None:
        return []
    check = f"{name}: container {service.container_name} role name ({ROLE_NAME_VARIABLE})"
    if env is None:
        return []
    entry = next((e for e in env if isinstance(e, dict) and e.get("name") == ROLE_NAME_VARIABLE), None)
    live = None if entry is None else entry.get("value")
    if live is None:
        return [_row(check, resource, service.role_name, "not set", False)]
    return [_row(check, resource, service.role_name, str(live), str(live) == service.role_name)]


def container_app_rows(name: str, service: ServiceOut, resource_id: str, read: ArmRead) -> list[ConformanceRow]:
    resource = resource_id
    size_check = f"{name}: container {service.container_name} CPU / memory"
    declared_size = _size(service.limits.cpu, service.limits.memory_gb, "Gi")
    scale = service.scale
    scale_checks: list[tuple[str, str]] = []
    if scale is not None:
        scale_checks = [
            (f"{name}: replica bounds", f"{scale.min_replicas}-{scale.max_replicas}"),
            (f"{name}: CPU scale rule", f"Utilization {scale.cpu_utilization} %"),
            (
                f"{name}: HTTP scale rule",
                "none" if scale.http_concurrency is None else f"{scale.http_concurrency} concurrent requests",
            ),
            (f"{name}: cooldown / polling", f"{scale.cooldown_seconds} s / {scale.polling_seconds} s"),
        ]
    if read.properties is None:
        return [_unavailable(size_check, resource, declared_size, read)] + [
            _unavailable(check, resource, declared, read) for check, declared in scale_checks
        ]
    template = read.properties.get("template") or {}
    containers = template.get("containers") or []
    container = next((c for c in containers if c.get("name") == service.container_name), None)
    rows = []
    if container is None:
        names = [c.get("name") for c in containers]
        rows.append(
            _row(size_check, resource, declared_size, f"no container {service.container_name} (has {names})", False)
        )
    else:
        resources = container.get("resources") or {}
        live_cpu = resources.get("cpu")
        live_memory = parse_memory_gib(resources.get("memory"))
        live_cpu_f = float(live_cpu) if live_cpu is not None else None
        same = _close(live_cpu_f, service.limits.cpu) and _close(live_memory, service.limits.memory_gb)
        rows.append(_row(size_check, resource, declared_size, _size(live_cpu_f, live_memory, "Gi"), same))
        rows += role_name_row(name, service, resource, container.get("env") or [])
    if scale is None:
        return rows
    live_scale = template.get("scale") or {}
    rules = live_scale.get("rules") or []
    cpu_rule = next((r for r in rules if (r.get("custom") or {}).get("type") == "cpu"), None)
    http_rule = next((r for r in rules if r.get("http")), None)
    live_values = {
        f"{name}: replica bounds": f"{_whole(live_scale.get('minReplicas'))}-{_whole(live_scale.get('maxReplicas'))}",
        f"{name}: CPU scale rule": (
            "none"
            if cpu_rule is None
            else f"{(cpu_rule['custom'].get('metadata') or {}).get('type')} "
            f"{(cpu_rule['custom'].get('metadata') or {}).get('value')} %"
        ),
        f"{name}: HTTP scale rule": (
            "none"
            if http_rule is None
            else f"{(http_rule['http'].get('metadata') or {}).get('concurrentRequests')} concurrent requests"
        ),
        f"{name}: cooldown / polling": (
            f"{_whole(live_scale.get('cooldownPeriod'))} s / {_whole(live_scale.get('pollingInterval'))} s"
        ),
    }
    for check, declared in scale_checks:
        live = live_values[check]
        rows.append(_row(check, resource, declared, live, live == declared))
    return rows


def container_group_rows(outputs: StackOutputs, resource_id: str, read: ArmRead) -> list[ConformanceRow]:
    rows = []
    for name, service in outputs.services.items():
        if not any(rid.lower() == resource_id.lower() for rid in service.resource_ids):
            continue
        check = f"{name}: container {service.container_name} requests | limits"
        declared = (
            f"{_size(service.requests.cpu, service.requests.memory_gb, 'GB')} | "
            f"{_size(service.limits.cpu, service.limits.memory_gb, 'GB')}"
        )
        if read.properties is None:
            rows.append(_unavailable(check, resource_id, declared, read))
            continue
        containers = read.properties.get("containers") or []
        container = next((c for c in containers if c.get("name") == service.container_name), None)
        if container is None:
            names = [c.get("name") for c in containers]
            rows.append(
                _row(check, resource_id, declared, f"no container {service.container_name} (has {names})", False)
            )
            continue
        resources = (container.get("properties") or {}).get("resources") or {}
        requests = resources.get("requests") or {}
        limits = resources.get("limits") or {}
        req_cpu, req_mem = _float(requests.get("cpu")), _float(requests.get("memoryInGB"))
        lim_cpu = _float(limits.get("cpu")) if limits.get("cpu") is not None else req_cpu
        lim_mem = _float(limits.get("memoryInGB")) if limits.get("memoryInGB") is not None else req_mem
        live = f"{_size(req_cpu, req_mem, 'GB')} | {_size(lim_cpu, lim_mem, 'GB')}"
        same = (
            _close(req_cpu, service.requests.cpu)
            and _close(req_mem, service.requests.memory_gb)
            and _close(lim_cpu, service.limits.cpu)
            and _close(lim_mem, service.limits.memory_gb)
        )
        rows.append(_row(check, resource_id, declared, live, same))
        env = (container.get("properties") or {}).get("environmentVariables") or []
        rows += role_name_row(name, service, resource_id, env)
    return rows


def _float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def cache_policy_id(outputs: StackOutputs) -> str:
    cache = outputs.cache
    if cache.tier == "managed":
        return cache.database_id or f"{cache.resource_id}/databases/default"
    return cache.resource_id


def cache_rows(outputs: StackOutputs, read: ArmRead) -> list[ConformanceRow]:
    declared = outputs.cache.eviction_policy
    resource = cache_policy_id(outputs)
    check = "cache eviction policy"
    if read.properties is None:
        return [_unavailable(check, resource, declared, read)]
    if outputs.cache.tier == "managed":
        live = read.properties.get("evictionPolicy")
    else:
        live = (read.properties.get("redisConfiguration") or {}).get("maxmemory-policy")
    if live is None:
        return [_row(check, resource, declared, "not set", False)]
    return [_row(check, resource, declared, str(live), normalize_policy(str(live)) == normalize_policy(declared))]


def conformance_rows(outputs: StackOutputs, reader: ArmReader) -> list[ConformanceRow]:
    """Every conformance row Azure Resource Manager can answer for this stack."""
    wanted: list[str] = []
    for service in outputs.services.values():
        wanted += service.resource_ids
    wanted.append(cache_policy_id(outputs))
    reads = reader.read_all(wanted)
    rows: list[ConformanceRow] = []
    groups_done: set[str] = set()
    for name, service in outputs.services.items():
        for rid in service.resource_ids:
            if service.kind == "containerapp":
                rows += container_app_rows(name, service, rid, reads[rid])
            elif rid.lower() not in groups_done:
                groups_done.add(rid.lower())
                rows += container_group_rows(outputs, rid, reads[rid])
    rows += cache_rows(outputs, reads[cache_policy_id(outputs)])
    return rows
