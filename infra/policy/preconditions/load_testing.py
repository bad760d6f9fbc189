"""`load-test-grants`: the Azure Load Testing resource can be used by the identity the stack makes for it.

- some user-assigned identity of the stack holds Load Test Contributor on each Azure Load
  Testing resource (creating tests, uploading files and starting runs are data-plane actions
  that role grants: learn.microsoft.com/azure/load-testing/how-to-assign-roles);
- when the stack's network holds the load-test subnet (virtual-network injection), that
  identity also holds Network Contributor on it: starting a run in a subnet needs
  `Microsoft.Network/virtualNetworks/subnets/join/action` (MicrosoftDocs/azure-docs,
  articles/load-testing/how-to-test-private-endpoint.md, error ALTVNET004).
"""

from __future__ import annotations

from collections.abc import Iterator

from infra.components.load_testing import ROLE_LOAD_TEST_CONTRIBUTOR, ROLE_NETWORK_CONTRIBUTOR
from infra.policy.model import Severity, entries
from infra.policy.preconditions.grants import grants_of
from infra.policy.preconditions.model import StackFacts, StackResource, StackRule, StackView, Violation
from infra.policy.rules.types import USER_ASSIGNED_IDENTITY, VIRTUAL_NETWORK

LOAD_TEST = "azure-native:loadtestservice:LoadTest"
SUBNET_MARK = "-loadtest-"  # infra.components.network: naming.name("subnet", "loadtest")


def _runners(view: StackView, load_test: StackResource) -> list[StackResource]:
    return [
        identity
        for identity in view.of_type(USER_ASSIGNED_IDENTITY)
        if any(load_test in view.through(g, "scope") for g in grants_of(view, identity, ROLE_LOAD_TEST_CONTRIBUTOR))
    ]


def _injection_subnets(view: StackView) -> list[tuple[StackResource, str]]:
    return [
        (vnet, str(subnet.get("name")))
        for vnet in view.of_type(VIRTUAL_NETWORK)
        for subnet in entries(vnet.props, "subnets")
        if isinstance(subnet, dict) and SUBNET_MARK in str(subnet.get("name", ""))
    ]


def _load_test_grants(view: StackView, facts: StackFacts) -> Iterator[Violation]:
    for load_test in view.of_type(LOAD_TEST):
        runners = _runners(view, load_test)
        if not runners:
            yield Violation(
                load_test,
                f"{load_test.name}: no identity of this stack holds Load Test Contributor on it: "
                "`fin-infra loadtest --engine azure` cannot create tests or start runs as the stack's runner",
            )
            continue
        for vnet, subnet in _injection_subnets(view):
            joined = [
                g
                for runner in runners
                for g in grants_of(view, runner, ROLE_NETWORK_CONTRIBUTOR)
                if vnet in view.through(g, "scope") and str(g.props.get("scope", subnet)).endswith(f"/{subnet}")
            ]
            if not joined:
                yield Violation(
                    load_test,
                    f"{load_test.name}: its runner identity holds no Network Contributor on the subnet {subnet}: "
                    "a run injected there fails to start (subnets/join/action, ALTVNET004)",
                )


RULES = (
    StackRule(
        id="load-test-grants",
        title="The Azure Load Testing resource has a runner identity holding Load Test Contributor on it, "
        "and Network Contributor on the injection subnet",
        remediation="Keep infra/components/load_testing.py's grants (loadTesting.enabled creates them).",
        severity=Severity.HIGH,
        check=_load_test_grants,
    ),
)
