"""Private endpoints the apps use: resolvable from the app's network, and ready before the app starts.

An app reaches a private service (a Key Vault or cache with public access disabled) through
its private endpoint only if the service's usual host name resolves to the endpoint's address
inside the app's network: the endpoint needs a DNS zone group writing its A record into the
service's `privatelink` zone, and that zone needs a virtual network link to the app's network
(Learn, "Azure Private Endpoint DNS configuration"). Without the link the host name resolves
to the public address, which the private service refuses. The app must also be created after
the endpoint, the zone group and the link, or its first revision starts before it can connect.
"""

from __future__ import annotations

from collections.abc import Iterator

from infra.components.network import PRIVATE_LINK
from infra.policy.model import Severity, entries, field_of, lookup
from infra.policy.preconditions.grants import referenced_vaults
from infra.policy.preconditions.model import StackFacts, StackResource, StackRule, StackView, Violation
from infra.policy.rules.types import (
    CLASSIC_REDIS,
    CONTAINER_APP,
    CONTAINER_GROUP,
    MANAGED_ENVIRONMENT,
    MANAGED_REDIS,
    MANAGED_REDIS_DATABASE,
    PRIVATE_DNS_LINK,
    PRIVATE_DNS_ZONE,
    PRIVATE_DNS_ZONE_GROUP,
    PRIVATE_ENDPOINT,
    VIRTUAL_NETWORK,
)

ZONE_FOR_GROUP_ID = {group_id: zone for group_id, zone in PRIVATE_LINK.values()}
CACHE_TYPES = (MANAGED_REDIS, CLASSIC_REDIS)


def _is_private(target: StackResource) -> bool:
    path = "properties.publicNetworkAccess" if "properties" in target.props else "publicNetworkAccess"
    return lookup(target.props, path) == "Disabled"


def _targets(view: StackView, app: StackResource) -> list[StackResource]:
    """The private-link services the app uses: vaults it reads references from, caches it connects to."""
    found = (
        {vault.urn: vault for vault, _, _ in referenced_vaults(view, app) if vault is not None}
        if (app.type == CONTAINER_APP)
        else {}
    )
    settings_prop = "template" if app.type == CONTAINER_APP else "containers"
    for used in view.through(app, settings_prop, *CACHE_TYPES, MANAGED_REDIS_DATABASE):
        clusters = [used] if used.type in CACHE_TYPES else view.through(used, "clusterName", MANAGED_REDIS)
        found.update({cluster.urn: cluster for cluster in clusters})
    return [target for target in found.values() if _is_private(target)]


def app_network(view: StackView, app: StackResource) -> StackResource | None:
    if app.type == CONTAINER_APP:
        environments = view.through(app, "environmentId", MANAGED_ENVIRONMENT)
        networks = [n for env in environments for n in view.through(env, "vnetConfiguration", VIRTUAL_NETWORK)]
    else:
        networks = view.through(app, "subnetIds", VIRTUAL_NETWORK)
    return networks[0] if networks else None


def _check_target(view: StackView, app: StackResource, target: StackResource) -> Iterator[Violation]:
    endpoints = [
        e for e in view.of_type(PRIVATE_ENDPOINT) if target in view.through(e, "privateLinkServiceConnections")
    ]
    if not endpoints:
        yield Violation(app, f"{app.name} uses {target.name}, which is private, but no private endpoint targets it")
        return
    network = app_network(view, app)
    waits = view.waits_for(app)
    for endpoint in endpoints:
        groups = [g for g in view.of_type(PRIVATE_DNS_ZONE_GROUP) if endpoint in view.through(g, "privateEndpointName")]
        if not groups:
            yield Violation(
                app,
                f"private endpoint {endpoint.name} (used by {app.name} for {target.name}) has no DNS zone group: its "
                "address is never written to the privatelink zone",
            )
            continue
        group_ids = [
            str(field_of(c, "groupIds", "privateLinkServiceConnections[]", [""])[0])
            for c in entries(endpoint.props, "privateLinkServiceConnections")
        ]
        expected = ZONE_FOR_GROUP_ID.get(group_ids[0] if group_ids else "")
        zones = [z for g in groups for z in view.through(g, "privateDnsZoneConfigs", PRIVATE_DNS_ZONE)]
        for zone in zones:
            zone_name = str(zone.props.get("privateZoneName"))
            if expected and zone_name != expected:
                yield Violation(
                    app,
                    f"private endpoint {endpoint.name} registers in {zone_name}, but {target.name} "
                    f"({group_ids[0]}) resolves through {expected}",
                )
        links = [
            link
            for link in view.of_type(PRIVATE_DNS_LINK)
            if any(zone in view.through(link, "privateZoneName") for zone in zones)
            and (network is None or network in view.through(link, "virtualNetwork"))
        ]
        if network is None:
            yield Violation(
                app,
                f"{app.name} runs outside this stack's virtual network, so it cannot reach private endpoint "
                f"{endpoint.name} of {target.name}",
            )
            continue
        if not links:
            zone_names = ", ".join(str(z.props.get("privateZoneName")) for z in zones) or "no zone"
            yield Violation(
                app,
                f"the DNS zone of private endpoint {endpoint.name} ({zone_names}) is not linked to {app.name}'s "
                f"network {network.name}: {target.name} resolves to its public address, which refuses the app",
            )
            continue
        missing = [r.name for r in (endpoint, *groups, *links) if r.urn not in waits]
        if missing:
            yield Violation(
                app,
                f"{app.name} does not depend on the private path to {target.name} ({', '.join(missing)}): its first "
                "revision may start before the name resolves privately",
            )


def _private_path(view: StackView, facts: StackFacts) -> Iterator[Violation]:
    for app in view.of_type(CONTAINER_APP, CONTAINER_GROUP):
        for target in _targets(view, app):
            yield from _check_target(view, app, target)


RULES = (
    StackRule(
        id="private-dns-linked",
        title="Every private endpoint an app uses has its privatelink DNS zone linked to the app's network, "
        "and the app waits for the endpoint, the zone group and the link",
        remediation="Keep the stack's network (fin-agent:network): the program creates the zone, its link and "
        "the zone group for each private endpoint and orders the apps after them.",
        severity=Severity.CRITICAL,
        check=_private_path,
    ),
)
