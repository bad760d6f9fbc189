"""Reliability: enough replicas, sane bounds, health probes, zone redundancy where offered.

Anchors: PSRule Azure.ContainerApp.MinReplicas and .AvailabilityZone, Azure.Redis.AvailabilityZone,
Azure.RedisEnterprise.Zones. Probe and replica-bound rules have no counterpart in PSRule,
Checkov or Azure Policy (PSRule issues #3111/#3112 request probe rules).

Zone support per region comes from `infra.settings.regions`; a region without zones makes the
zone rule not applicable. Per service:
- Container Apps environment: `zoneRedundant` true, which Azure only accepts with an
  infrastructure subnet (`vnetConfiguration.infrastructureSubnetId`).
- Azure Managed Redis: a highly available cache in a zonal region is zone redundant, so
  `highAvailability` must not be Disabled; legacy Enterprise SKUs need `zones` 1, 2, 3.
- Azure Cache for Redis: Basic has no replica; Standard and Premium are zone redundant unless
  `zonalAllocationPolicy` is NoZones or fewer than two `zones` are pinned.
"""

from __future__ import annotations

from collections.abc import Iterator

from infra.policy.model import (
    NotApplicable,
    Rule,
    Severity,
    StackContext,
    Subject,
    entries,
    field_of,
    lookup,
    number,
    shown,
)
from infra.policy.rules.types import CLASSIC_REDIS, CONTAINER_APP, CONTAINER_GROUP, MANAGED_ENVIRONMENT, MANAGED_REDIS
from infra.settings.regions import has_availability_zones

MIN_PROD_REPLICAS = 2
# Container Apps defaults when `template.scale` leaves them out.
DEFAULT_MIN_REPLICAS = 0
DEFAULT_MAX_REPLICAS = 10
REQUIRED_APP_PROBES = ("Liveness", "Readiness")
LEGACY_ENTERPRISE_PREFIXES = ("Enterprise_", "EnterpriseFlash_")


def _replicas(resource: Subject) -> tuple[float, float]:
    minimum = number(lookup(resource.props, "template.scale.minReplicas"))
    maximum = number(lookup(resource.props, "template.scale.maxReplicas"))
    return (
        DEFAULT_MIN_REPLICAS if minimum is None else minimum,
        DEFAULT_MAX_REPLICAS if maximum is None else maximum,
    )


def _min_replicas(resource: Subject, context: StackContext) -> Iterator[str]:
    stated = lookup(resource.props, "template.scale.minReplicas")
    minimum, _ = _replicas(resource)
    if minimum < MIN_PROD_REPLICAS:
        default = f" (Container Apps' default is {DEFAULT_MIN_REPLICAS})" if stated is None else ""
        yield f"template.scale.minReplicas is {shown(stated)}{default}; at least {MIN_PROD_REPLICAS} are required"


def _replica_bounds(resource: Subject, context: StackContext) -> Iterator[str]:
    minimum, maximum = _replicas(resource)
    if maximum < minimum:
        yield f"template.scale.maxReplicas ({shown(maximum)}) is below minReplicas ({shown(minimum)})"
    if maximum < 1:
        yield f"template.scale.maxReplicas is {shown(maximum)}; the app could never run a replica"


def _probes(resource: Subject, context: StackContext) -> Iterator[str]:
    if resource.kind == CONTAINER_APP:
        containers = entries(resource.props, "template.containers")
        if not containers:
            yield "template.containers is empty"
        for index, container in enumerate(containers):
            where = f"template.containers[{index}]"
            name = field_of(container, "name", where) or f"#{index}"
            kinds = {field_of(probe, "type", f"{where}.probes[]") for probe in field_of(container, "probes", where, [])}
            missing = [kind for kind in REQUIRED_APP_PROBES if kind not in kinds]
            if missing:
                yield f"container '{name}' has no {' or '.join(missing)} probe"
    else:
        for index, container in enumerate(entries(resource.props, "containers")):
            where = f"containers[{index}]"
            name = field_of(container, "name", where) or f"#{index}"
            missing = [key for key in ("livenessProbe", "readinessProbe") if not field_of(container, key, where)]
            if missing:
                yield f"container '{name}' has no {' or '.join(missing)}"


def _location(resource: Subject, context: StackContext) -> str:
    location = lookup(resource.props, "location") or context.location
    if not location:
        raise NotApplicable("the resource's region is not known")
    normalized = str(location).replace(" ", "").lower()
    if not has_availability_zones(normalized):
        raise NotApplicable(f"region {normalized} has no availability zones")
    return normalized


def _zone_redundancy(resource: Subject, context: StackContext) -> Iterator[str]:
    location = _location(resource, context)
    props = resource.props
    if resource.kind == MANAGED_ENVIRONMENT:
        if lookup(props, "zoneRedundant") is not True:
            yield f"zoneRedundant is {shown(lookup(props, 'zoneRedundant'))} in {location}, which has zones"
        elif not lookup(props, "vnetConfiguration.infrastructureSubnetId"):
            yield "zoneRedundant needs the environment in a virtual network (vnetConfiguration.infrastructureSubnetId)"
    elif resource.kind == MANAGED_REDIS:
        sku = str(lookup(props, "sku.name") or "")
        if sku.startswith(LEGACY_ENTERPRISE_PREFIXES):
            zones = sorted(str(zone) for zone in entries(props, "zones"))
            if zones != ["1", "2", "3"]:
                yield f"sku {sku} needs zones ['1', '2', '3'] for zone redundancy; zones are {zones or 'absent'}"
        elif lookup(props, "highAvailability") == "Disabled":
            yield f"highAvailability is 'Disabled'; a highly available cache in {location} is zone redundant"
    else:
        sku = lookup(props, "sku.name")
        if sku == "Basic":
            yield "sku Basic has a single node and cannot be zone redundant; use Standard or Premium"
            return
        policy = lookup(props, "zonalAllocationPolicy")
        zones = entries(props, "zones")
        if policy == "NoZones":
            yield "zonalAllocationPolicy is 'NoZones'"
        elif zones and len(zones) < 2:
            yield f"zones pins the cache to {len(zones)} zone; at least 2 are needed for zone redundancy"


RULES: tuple[Rule, ...] = (
    Rule(
        id="min-replicas",
        pillar="reliability",
        severity=Severity.HIGH,
        title=f"Container apps keep at least {MIN_PROD_REPLICAS} replicas",
        remediation=f"Set autoscale.minReplicas to {MIN_PROD_REPLICAS} or more (the default is 2).",
        check=_min_replicas,
        types=frozenset({CONTAINER_APP}),
        scope=f"`template.scale.minReplicas` ≥ {MIN_PROD_REPLICAS} (absent counts as Azure's default, 0)",
    ),
    Rule(
        id="replica-bounds",
        pillar="reliability",
        severity=Severity.MEDIUM,
        title="Container apps' maximum replica count is at least the minimum",
        remediation="Set autoscale.maxReplicas at or above autoscale.minReplicas.",
        check=_replica_bounds,
        types=frozenset({CONTAINER_APP}),
        scope="`template.scale.maxReplicas` ≥ `minReplicas` and ≥ 1 (absent: Azure's defaults 10 and 0)",
    ),
    Rule(
        id="health-probes",
        pillar="reliability",
        severity=Severity.HIGH,
        title="Every container has liveness and readiness probes",
        remediation="Set services.<name>.healthPath (default /health); the program adds the probes.",
        check=_probes,
        types=frozenset({CONTAINER_APP, CONTAINER_GROUP}),
        scope=(
            "Container app: each container has Liveness and Readiness `probes`; container group: each "
            "container has `livenessProbe` and `readinessProbe`"
        ),
    ),
    Rule(
        id="zone-redundancy",
        pillar="reliability",
        severity=Severity.HIGH,
        title="Services are zone redundant where the region and the service offer it",
        remediation=(
            "Set compute.containerApps.zoneRedundant: true (with the environment in a virtual network) and keep "
            "redis.highAvailability: true; a region without zones is exempt."
        ),
        check=_zone_redundancy,
        types=frozenset({MANAGED_ENVIRONMENT, MANAGED_REDIS, CLASSIC_REDIS}),
        scope=(
            "Environment `zoneRedundant` with an infrastructure subnet; Managed Redis `highAvailability` "
            "not Disabled (legacy Enterprise SKUs: `zones` 1-3); Azure Cache for Redis not Basic, not NoZones"
        ),
    ),
)
