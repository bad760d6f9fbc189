"""Azure Load Testing under the mock engine: the resource, its runner identity and grants, the injection subnet."""

from __future__ import annotations

import pytest

from infra.components.load_testing import ROLE_LOAD_TEST_CONTRIBUTOR, ROLE_NETWORK_CONTRIBUTOR
from infra.plan.engine.runner import PlanResult
from infra.policy.preconditions.evaluate import evaluate_stack, plan_view
from infra.policy.preconditions.model import StackFacts, StackView
from infra.settings import SettingsError, load_settings
from tests.conftest import plan, raw_config

LOAD_TEST = "azure-native:loadtestservice:LoadTest"
VNET = "azure-native:network:VirtualNetwork"
ROLE = "azure-native:authorization:RoleAssignment"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
STAGING_ON = {"loadTesting": {"enabled": True, "maxEngineInstances": 8, "subnet": "10.41.3.0/28"}}


@pytest.fixture(scope="module")
def staging() -> PlanResult:
    return plan("staging", STAGING_ON)


def role_id(result: PlanResult, role: str) -> str:
    subscription = result.one(ROLE, "load-testing-run-tests").inputs["roleDefinitionId"].split("/")[2]
    return f"/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{role}"


def test_the_resource_and_its_system_identity(staging: PlanResult) -> None:
    token = staging.loaded.naming.token
    resource = staging.one(LOAD_TEST)
    assert resource.inputs == {
        "loadTestName": f"lt-finagent-stg-{token}",
        "resourceGroupName": f"rg-finagent-stg-{token}",
        "location": staging.loaded.settings.location,
        "description": "fin-infra loadtest --engine azure for stack staging",
        "identity": {"type": "SystemAssigned"},
        "tags": resource.inputs["tags"],
    }
    assert resource.inputs["tags"]["environment"] == "staging"


def test_the_injection_subnet_is_inline_undelegated_and_in_the_outputs(staging: PlanResult) -> None:
    token = staging.loaded.naming.token
    vnet = staging.one(VNET)
    names = [subnet["name"] for subnet in vnet.inputs["subnets"]]
    assert names == [
        f"snet-finagent-apps-stg-{token}",
        f"snet-finagent-pep-stg-{token}",
        f"snet-finagent-loadtest-stg-{token}",
    ]
    injection = vnet.inputs["subnets"][2]
    assert injection == {
        "name": f"snet-finagent-loadtest-stg-{token}",
        "addressPrefix": "10.41.3.0/28",
        "privateEndpointNetworkPolicies": "Disabled",
        "privateLinkServiceNetworkPolicies": "Enabled",
    }
    assert "delegations" not in injection and "networkSecurityGroup" not in injection
    outputs = staging.outputs["loadTesting"]
    assert outputs["subnetId"] == f"{vnet.resource_id}/subnets/snet-finagent-loadtest-stg-{token}"
    assert outputs["resourceId"] == staging.one(LOAD_TEST).resource_id
    assert outputs["maxEngineInstances"] == 8
    assert outputs["dataPlaneUri"].endswith(".westeurope.cnt-prod.loadtesting.azure.com")
    assert outputs["runnerIdentityClientId"] == staging.one(IDENTITY, "load-testing-runner").state["clientId"]


def test_the_runner_identity_may_run_tests_and_join_the_subnet(staging: PlanResult) -> None:
    token = staging.loaded.naming.token
    runner = staging.one(IDENTITY, "load-testing-runner")
    assert runner.inputs["resourceName"] == f"id-finagent-loadtest-stg-{token}"
    run_tests, join = staging.one(ROLE, "load-testing-run-tests"), staging.one(ROLE, "load-testing-join-subnet")
    assert run_tests.inputs["roleDefinitionId"] == role_id(staging, ROLE_LOAD_TEST_CONTRIBUTOR)
    assert run_tests.inputs["scope"] == staging.one(LOAD_TEST).resource_id
    assert join.inputs["roleDefinitionId"] == role_id(staging, ROLE_NETWORK_CONTRIBUTOR)
    assert join.inputs["scope"] == staging.outputs["loadTesting"]["subnetId"]
    for grant in (run_tests, join):
        assert grant.inputs["principalId"] == runner.state["principalId"]
        assert grant.inputs["principalType"] == "ServicePrincipal"
        assert runner.urn in grant.depends_on


def test_dev_without_a_network_gets_the_resource_and_no_subnet_grant() -> None:
    dev = plan("dev", {"loadTesting": {"enabled": True}})
    assert dev.one(LOAD_TEST)
    assert [r.name for r in dev.of_type(ROLE) if r.name.startswith("load-testing")] == ["load-testing-run-tests"]
    assert dev.outputs["loadTesting"]["subnetId"] is None
    assert dev.outputs["loadTesting"]["maxEngineInstances"] == 5


def test_disabled_or_absent_declares_nothing() -> None:
    for overrides in ({}, {"loadTesting": {"enabled": False}}):
        result = plan("staging", overrides)
        assert not result.of_type(LOAD_TEST) and "loadTesting" not in result.outputs
        assert len(result.one(VNET).inputs["subnets"]) == 2


@pytest.mark.parametrize(
    ("load_testing", "message"),
    [
        ({"enabled": True}, "loadTesting.subnet: is required in a stack with a network"),
        ({"enabled": True, "subnet": "10.99.0.0/28"}, "loadTesting.subnet: is outside the address space 10.41.0.0/16"),
        ({"enabled": True, "subnet": "10.41.2.0/28"}, "loadTesting.subnet: overlaps network.privateEndpointsSubnet"),
        (
            {"enabled": True, "maxEngineInstances": 20, "subnet": "10.41.3.0/28"},
            "loadTesting.subnet: is too small: a /28 leaves 11 addresses (Azure reserves 5) "
            "for loadTesting.maxEngineInstances 20 engines",
        ),
        ({"enabled": False, "subnet": "10.41.3.0/28"}, "loadTesting.subnet: is set but loadTesting.enabled is false"),
        ({"enabled": True, "maxEngineInstances": 46, "subnet": "10.41.3.0/26"}, "loadTesting.maxEngineInstances"),
    ],
)
def test_bad_settings_are_refused_naming_the_key(load_testing: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError) as error:
        load_settings(raw_config("staging", {"loadTesting": load_testing}), "staging", allow_missing_secrets=True)
    assert message in str(error.value)


def _load_test_findings(view: StackView, result: PlanResult) -> list[str]:
    report = evaluate_stack(view, StackFacts(registry=result.loaded.settings.compute.registry))
    return [v.message for o in report.outcomes if o.rule.id == "load-test-grants" for v in o.violations]


def test_the_precondition_passes_with_both_grants_and_names_each_missing_one(staging: PlanResult) -> None:
    view = plan_view(staging)
    assert _load_test_findings(view, staging) == []
    without_join = StackView(r for r in view.resources if r.name != "load-testing-join-subnet")
    (message,) = _load_test_findings(without_join, staging)
    token = staging.loaded.naming.token
    assert f"holds no Network Contributor on the subnet snet-finagent-loadtest-stg-{token}" in message
    without_run = StackView(r for r in view.resources if r.name != "load-testing-run-tests")
    (message,) = _load_test_findings(without_run, staging)
    assert "no identity of this stack holds Load Test Contributor on it" in message
