"""The stack's virtual network, and private endpoints with the DNS that makes them resolvable.

Two subnets: `apps` delegated to the Container Apps environment (or to container groups), and
`private-endpoints` for the cache and, when private, the Key Vault. Each private endpoint gets
its service's `privatelink` DNS zone, linked to the network, and a zone group on the endpoint
so Azure keeps the A record current: apps in the network resolve the service's usual host
name to its private address, with no client change.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network

import pulumi
from pulumi_azure_native import network, privatedns

from infra.naming import Naming
from infra.settings.model import NetworkSettings, Platform

# Private Link sub-resource (group id) and DNS zone per service, Azure public cloud.
PRIVATE_LINK: dict[str, tuple[str, str]] = {
    "managed-redis": ("redisEnterprise", "privatelink.redis.azure.net"),
    "classic-redis": ("redisCache", "privatelink.redis.cache.windows.net"),
    "key-vault": ("vault", "privatelink.vaultcore.azure.net"),
}

SUBNET_DELEGATIONS: dict[str, str] = {
    "containerapps": "Microsoft.App/environments",
    "containerinstances": "Microsoft.ContainerInstance/containerGroups",
}


@dataclass(frozen=True)
class PrivatePath:
    """What makes a private endpoint usable from the network: apps must wait for all of it.

    The endpoint, the zone group that keeps its A record in the zone, and the zone's link to
    the network (without the link the service's host name resolves to its public address,
    which a private service refuses).
    """

    endpoint: network.PrivateEndpoint
    zone_group: network.PrivateDnsZoneGroup
    zone: privatedns.PrivateZone
    link: privatedns.VirtualNetworkLink

    @property
    def resources(self) -> list[pulumi.Resource]:
        return [self.endpoint, self.zone_group, self.zone, self.link]


@dataclass(frozen=True)
class NetworkArgs:
    settings: NetworkSettings
    platform: Platform
    naming: Naming
    resource_group_name: pulumi.Input[str]
    location: str
    tags: dict[str, str]
    # Azure Load Testing's injection subnet (issue 19): no delegation, no NSG of ours (the
    # service injects one per run); see infra/settings/rules/load_testing.py.
    load_test_subnet: IPv4Network | None = None


class Network(pulumi.ComponentResource):
    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("fin-agent:network:Network", name, None, opts)
        self._name = name
        self._args = args
        settings = args.settings
        apps_subnet = args.naming.name("subnet", "apps")
        endpoints_subnet = args.naming.name("subnet", "pep")
        self.virtual_network = network.VirtualNetwork(
            f"{name}-vnet",
            virtual_network_name=args.naming.name("virtual_network"),
            resource_group_name=args.resource_group_name,
            location=args.location,
            address_space=network.AddressSpaceArgs(address_prefixes=[str(settings.address_space)]),
            # Subnets inline, so the network and its subnets are one consistent resource.
            subnets=[
                network.SubnetArgs(
                    name=apps_subnet,
                    address_prefix=str(settings.apps_subnet),
                    delegations=[network.DelegationArgs(name="apps", service_name=SUBNET_DELEGATIONS[args.platform])],
                ),
                network.SubnetArgs(
                    name=endpoints_subnet,
                    address_prefix=str(settings.private_endpoints_subnet),
                    private_endpoint_network_policies="Disabled",
                ),
                *self._load_test_subnets(),
            ],
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.apps_subnet_id = pulumi.Output.concat(self.virtual_network.id, "/subnets/", apps_subnet)
        self.private_endpoints_subnet_id = pulumi.Output.concat(self.virtual_network.id, "/subnets/", endpoints_subnet)
        self.load_test_subnet_id = (
            pulumi.Output.concat(self.virtual_network.id, "/subnets/", args.naming.name("subnet", "loadtest"))
            if args.load_test_subnet is not None
            else None
        )
        self._zones: dict[str, tuple[privatedns.PrivateZone, privatedns.VirtualNetworkLink]] = {}
        self.register_outputs({"virtualNetworkId": self.virtual_network.id})

    def _load_test_subnets(self) -> list[network.SubnetArgs]:
        if self._args.load_test_subnet is None:
            return []
        name = self._args.naming.name("subnet", "loadtest")
        return [network.SubnetArgs(name=name, address_prefix=str(self._args.load_test_subnet))]

    def _zone(self, zone_name: str) -> tuple[privatedns.PrivateZone, privatedns.VirtualNetworkLink]:
        """The private DNS zone, created once per zone name and linked to the network."""
        if zone_name not in self._zones:
            key = zone_name.replace(".", "-")
            zone = privatedns.PrivateZone(
                f"{self._name}-zone-{key}",
                private_zone_name=zone_name,
                resource_group_name=self._args.resource_group_name,
                location="global",
                tags=self._args.tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
            link = privatedns.VirtualNetworkLink(
                f"{self._name}-zone-link-{key}",
                private_zone_name=zone.name,
                virtual_network_link_name=self._args.naming.name("virtual_network"),
                resource_group_name=self._args.resource_group_name,
                location="global",
                registration_enabled=False,
                virtual_network=privatedns.SubResourceArgs(id=self.virtual_network.id),
                tags=self._args.tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self._zones[zone_name] = (zone, link)
        return self._zones[zone_name]

    def private_endpoint(
        self, label: str, *, target_id: pulumi.Input[str], group_id: str, zone_name: str
    ) -> PrivatePath:
        """A private endpoint for `target_id` in the endpoints subnet, registered in `zone_name`."""
        zone, link = self._zone(zone_name)
        endpoint_name = self._args.naming.name("private_endpoint", label)
        endpoint = network.PrivateEndpoint(
            f"{self._name}-pep-{label}",
            private_endpoint_name=endpoint_name,
            resource_group_name=self._args.resource_group_name,
            location=self._args.location,
            subnet=network.SubnetArgs(id=self.private_endpoints_subnet_id),
            private_link_service_connections=[
                network.PrivateLinkServiceConnectionArgs(
                    name=endpoint_name, private_link_service_id=target_id, group_ids=[group_id]
                )
            ],
            tags=self._args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        zone_group = network.PrivateDnsZoneGroup(
            f"{self._name}-pep-{label}-dns",
            private_dns_zone_group_name="default",
            private_endpoint_name=endpoint.name,
            resource_group_name=self._args.resource_group_name,
            private_dns_zone_configs=[network.PrivateDnsZoneConfigArgs(name=label, private_dns_zone_id=zone.id)],
            opts=pulumi.ResourceOptions(parent=self),
        )
        return PrivatePath(endpoint, zone_group, zone, link)
