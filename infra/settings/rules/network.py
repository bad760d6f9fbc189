"""Network and Key Vault rules: subnets that fit and do not overlap, and what needs a network.

A private cache is reached through a private endpoint, a zone-redundant Container Apps
environment needs an infrastructure subnet, container groups in a subnet need one, and a
private Key Vault needs a private endpoint: each of these asks for `network`. Subnet sizes are
Azure's minimums: /27 for a workload-profiles Container Apps environment, /29 for container
groups, /28 here for private endpoints (one address each, plus Azure's five reserved).
Container groups cannot read Key Vault references, so `keyVault` is a Container Apps feature.
"""

from __future__ import annotations

from infra.settings.model import StackSettings
from infra.settings.problems import Problem

# The settings sections (field names) these rules read.
SECTIONS = frozenset({"network", "compute", "redis", "key_vault", "services"})

APPS_SUBNET_MAX_PREFIX = {"containerapps": 27, "containerinstances": 29}
PRIVATE_ENDPOINTS_MAX_PREFIX = 28
NETWORK_KEYS = "fin-agent:network (addressSpace, appsSubnet, privateEndpointsSubnet)"


def _needs_network(settings: StackSettings) -> list[tuple[str, str, object]]:
    needs = []
    if not settings.redis.public_network_access:
        needs.append(("redis.publicNetworkAccess", "a private cache is reached through a private endpoint", False))
    apps = settings.compute.container_apps
    if settings.uses_container_apps and apps is not None and apps.zone_redundant:
        needs.append(
            ("compute.containerApps.zoneRedundant", "a zone-redundant environment needs an infrastructure subnet", True)
        )
    groups = settings.compute.container_instances
    if not settings.uses_container_apps and groups is not None and groups.network == "subnet":
        needs.append(("compute.containerInstances.network", "container groups in a subnet need the network", "subnet"))
    if settings.key_vault is not None and not settings.key_vault.public_network_access:
        needs.append(
            ("keyVault.publicNetworkAccess", "a private Key Vault is reached through a private endpoint", False)
        )
    return needs


def check(settings: StackSettings) -> list[Problem]:
    problems: list[Problem] = []
    network = settings.network
    if network is None:
        problems += [
            Problem(path, f"{why}; add {NETWORK_KEYS}", value) for path, why, value in _needs_network(settings)
        ]
    else:
        problems += _check_subnets(settings)
    if settings.key_vault is not None and not settings.uses_container_apps:
        problems.append(
            Problem(
                "keyVault",
                "Key Vault references need Container Apps: a container group cannot read a Key Vault "
                "reference at run time (its secrets stay secure environment values); remove keyVault "
                "or use compute.platform: containerapps",
            )
        )
    groups = settings.compute.container_instances
    in_subnet = groups is not None and groups.network == "subnet"
    if not settings.uses_container_apps and not settings.redis.public_network_access and not in_subnet:
        problems.append(
            Problem(
                "redis.publicNetworkAccess",
                "container groups with a public IP cannot reach a private cache; set "
                "compute.containerInstances.network: subnet",
                False,
            )
        )
    return problems


def _check_subnets(settings: StackSettings) -> list[Problem]:
    network = settings.network
    assert network is not None
    problems = []
    subnets = {"appsSubnet": network.apps_subnet, "privateEndpointsSubnet": network.private_endpoints_subnet}
    for key, subnet in subnets.items():
        if not subnet.subnet_of(network.address_space):
            problems.append(
                Problem(f"network.{key}", f"is outside the address space {network.address_space}", str(subnet))
            )
    if network.apps_subnet.overlaps(network.private_endpoints_subnet):
        problems.append(
            Problem(
                "network.privateEndpointsSubnet",
                f"overlaps network.appsSubnet ({network.apps_subnet})",
                str(network.private_endpoints_subnet),
            )
        )
    apps_max = APPS_SUBNET_MAX_PREFIX[settings.compute.platform]
    if network.apps_subnet.prefixlen > apps_max:
        problems.append(
            Problem(
                "network.appsSubnet",
                f"is too small: {settings.compute.platform} needs at least a /{apps_max}",
                str(network.apps_subnet),
            )
        )
    if network.private_endpoints_subnet.prefixlen > PRIVATE_ENDPOINTS_MAX_PREFIX:
        problems.append(
            Problem(
                "network.privateEndpointsSubnet",
                f"is too small: private endpoints need at least a /{PRIVATE_ENDPOINTS_MAX_PREFIX}",
                str(network.private_endpoints_subnet),
            )
        )
    return problems


def notices(settings: StackSettings) -> list[str]:
    groups = settings.compute.container_instances
    if settings.uses_container_apps or groups is None or groups.network != "subnet":
        return []
    # learn.microsoft.com/azure/container-instances/container-instances-virtual-network-concepts
    # (ms.date 2024-08-29): a NAT gateway is the only supported outbound path from a subnet.
    return [
        "compute.containerInstances.network=subnet: container groups in a virtual network reach the internet "
        "(Supabase, Plaid, public registries) only through a NAT gateway on their subnet, and this stack "
        "creates none; attach one to the apps subnet before `pulumi up` (see docs/deploying.md)"
    ]
