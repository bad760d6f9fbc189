"""Azure Load Testing rules: the injection subnet exists where a network does, fits, and fits the engines.

Virtual-network injection (Learn, "Test private endpoints by deploying Azure Load Testing in an
Azure virtual network", MicrosoftDocs/azure-docs articles/load-testing/
how-to-test-private-endpoint.md, ms.date 05/12/2023): the subnet must have enough unassigned
addresses for the test's engines, must not be delegated to another service, must not be
IPv6-enabled, and its network must be in the resource's subscription and region (the program
creates both in the stack's group and location). Azure keeps 5 addresses of every subnet
(Learn, "Azure Virtual Network FAQ": "Azure reserves the first four and the last IP address"),
so a subnet serves `2 ** (32 - prefix) - 5` engines at most.
"""

from __future__ import annotations

from infra.settings.model import StackSettings
from infra.settings.problems import Problem

SECTIONS = frozenset({"load_testing", "network"})
AZURE_RESERVED_ADDRESSES = 5


def usable_addresses(prefix_length: int) -> int:
    return 2 ** (32 - prefix_length) - AZURE_RESERVED_ADDRESSES


def check(settings: StackSettings) -> list[Problem]:
    load_testing, network = settings.load_testing, settings.network
    if load_testing is None:
        return []
    subnet = load_testing.subnet
    if not load_testing.enabled:
        if subnet is not None:
            return [Problem("loadTesting.subnet", "is set but loadTesting.enabled is false", str(subnet))]
        return []
    if network is None:
        if subnet is not None:
            return [
                Problem(
                    "loadTesting.subnet", "needs fin-agent:network: a subnet lives in the stack's network", str(subnet)
                )
            ]
        return []
    if subnet is None:
        return [
            Problem(
                "loadTesting.subnet",
                "is required in a stack with a network: the test engines join it to reach the internal backend "
                "(an IPv4 range inside network.addressSpace, e.g. a /27)",
            )
        ]
    problems = []
    if not subnet.subnet_of(network.address_space):
        problems.append(
            Problem("loadTesting.subnet", f"is outside the address space {network.address_space}", str(subnet))
        )
    for key, other in (
        ("appsSubnet", network.apps_subnet),
        ("privateEndpointsSubnet", network.private_endpoints_subnet),
    ):
        if subnet.overlaps(other):
            problems.append(Problem("loadTesting.subnet", f"overlaps network.{key} ({other})", str(subnet)))
    if usable_addresses(subnet.prefixlen) < load_testing.max_engine_instances:
        problems.append(
            Problem(
                "loadTesting.subnet",
                f"is too small: a /{subnet.prefixlen} leaves {usable_addresses(subnet.prefixlen)} addresses "
                f"(Azure reserves {AZURE_RESERVED_ADDRESSES}) for loadTesting.maxEngineInstances "
                f"{load_testing.max_engine_instances} engines",
                str(subnet),
            )
        )
    return problems


def notices(settings: StackSettings) -> list[str]:
    load_testing = settings.load_testing
    if load_testing is None or not load_testing.enabled or load_testing.subnet is None:
        return []
    return [
        "loadTesting: each run injects a public IP, a load balancer and a network security group into "
        "loadTesting.subnet for its duration (billed as such); the account starting a run needs "
        "Microsoft.Network/virtualNetworks/subnets/join/action on it (the load-test identity has it)"
    ]
