"""Image pull on the first `pulumi up`: one explicit, complete pull path, or a refusal naming the keys."""

from __future__ import annotations

import pytest

from infra.components.identities import ROLE_ACR_PULL
from infra.settings import SettingsError, load_settings
from tests.conftest import DELETE, opened, plan, raw_config

APP = "azure-native:app:ContainerApp"
GROUP = "azure-native:containerinstance:ContainerGroup"
ROLE = "azure-native:authorization:RoleAssignment"
SERVER = "finagent.azurecr.io"
REGISTRY_ID = "/subscriptions/1/resourceGroups/rg-shared/providers/Microsoft.ContainerRegistry/registries/finagent"
PULLER_ID = (
    "/subscriptions/1/resourceGroups/rg-shared/providers/Microsoft.ManagedIdentity/userAssignedIdentities/puller"
)


def refused(stack: str, overrides: dict) -> list[str]:
    """The problems of `stack` with `overrides` (example markers dropped unless the test sets them)."""
    with pytest.raises(SettingsError) as caught:
        load_settings(raw_config(stack, {"exampleValues": [], **overrides}), stack, allow_missing_secrets=True)
    return [str(problem) for problem in caught.value.problems]


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_a_registry_without_a_pull_path_is_refused_naming_the_keys(stack: str) -> None:
    [problem] = refused(stack, {"compute.registry": {"server": SERVER}})
    assert problem.startswith("fin-agent:compute.registry: has no pull path for finagent.azurecr.io")
    for key in ("compute.registry.resourceId", "compute.registry.identity", "compute.registry.anonymous: true"):
        assert key in problem


def test_two_pull_paths_are_refused() -> None:
    [problem] = refused("dev", {"compute.registry": {"server": SERVER, "resourceId": REGISTRY_ID, "anonymous": True}})
    assert "compute.registry.resourceId and compute.registry.anonymous" in problem


def test_images_without_a_declared_registry_are_refused() -> None:
    problems = refused("dev", {"compute.registry": DELETE})
    assert [p.split(":", 2)[1] for p in problems] == ["services.backend.image", "services.web.image"]
    assert "compute.registry does not say how the apps pull" in problems[0]


def test_an_image_from_another_registry_is_refused() -> None:
    [problem] = refused("staging", {"services.web.image": "ghcr.io/acme/web:1"})
    assert problem.startswith("fin-agent:services.web.image: pulls from ghcr.io, but compute.registry.server is")


def test_a_registry_id_naming_another_registry_is_refused() -> None:
    other = REGISTRY_ID.replace("/finagent", "/other")
    [problem] = refused("dev", {"compute.registry.resourceId": other})
    assert problem.startswith("fin-agent:compute.registry.resourceId: names registry 'other'")


def test_a_subnet_group_pulling_with_a_managed_identity_is_refused_where_azure_does_not_support_it() -> None:
    overrides = {
        "location": "usgovvirginia",
        "compute.containerInstances": {"network": "subnet"},
        "network": {
            "addressSpace": "10.9.0.0/16",
            "appsSubnet": "10.9.0.0/24",
            "privateEndpointsSubnet": "10.9.1.0/27",
        },
    }
    [problem] = refused("dev", overrides)
    assert problem.startswith("fin-agent:compute.registry.resourceId: container groups in a subnet cannot pull")
    for alternative in (
        "compute.registry.anonymous: true",
        "compute.containerInstances.network: public",
        "compute.platform: containerapps",
    ):
        assert alternative in problem
    # An anonymous registry is a pull path a subnet group may use there.
    anonymous = {**overrides, "compute.registry": {"server": SERVER, "anonymous": True}, "exampleValues": []}
    load_settings(raw_config("dev", anonymous), "dev", allow_missing_secrets=True)


def test_the_shipped_stacks_grant_acr_pull_and_the_apps_wait_for_it() -> None:
    for stack, kind in (("dev", GROUP), ("staging", APP), ("prod", APP)):
        result = plan(stack)
        grants = [r for r in result.of_type(ROLE) if str(r.inputs["roleDefinitionId"]).endswith(ROLE_ACR_PULL)]
        assert len(grants) == 2, stack
        for consumer in result.of_type(kind):
            assert {g.urn for g in grants} <= set(consumer.depends_on), (stack, consumer.name)


def test_a_pre_granted_identity_is_assigned_and_pulls_without_a_grant() -> None:
    result = plan("staging", {"compute.registry": {"server": SERVER, "identity": PULLER_ID}, "exampleValues": []})
    assert not [r for r in result.of_type(ROLE) if str(r.inputs["roleDefinitionId"]).endswith(ROLE_ACR_PULL)]
    for app in result.of_type(APP):
        configuration = opened(app.inputs["configuration"])
        assert configuration["registries"] == [{"server": SERVER, "identity": PULLER_ID}]
        assert PULLER_ID in app.inputs["identity"]["userAssignedIdentities"]


def test_an_anonymous_registry_sends_no_credential() -> None:
    result = plan("dev", {"compute.registry": {"server": SERVER, "anonymous": True}, "exampleValues": []})
    [group] = result.of_type(GROUP)
    assert "imageRegistryCredentials" not in group.inputs


def test_example_values_are_listed_as_notices_and_must_name_a_setting() -> None:
    result = plan("prod")
    examples = [n for n in result.loaded.notices if n.startswith("example value: ")]
    assert [n.split(" = ")[0].removeprefix("example value: ") for n in examples] == [
        "compute.registry.server",
        "compute.registry.resourceId",
        "services.backend.image",
        "services.web.image",
        "monitoring.receivers.emails.0.address",
    ]
    assert "'platform-oncall@fin-agent.example'" in examples[-1]
    [problem] = refused("dev", {"exampleValues": ["compute.registry.resourceId", "services.backend.imag"]})
    assert problem == "fin-agent:exampleValues[1]: names no setting this stack holds (got 'services.backend.imag')"


def test_a_subnet_group_in_public_azure_pulls_with_its_identity_and_is_told_about_outbound() -> None:
    # Learn lists managed identity with virtual networks as unsupported in Azure Government only.
    overrides = {
        "compute.containerInstances": {"network": "subnet"},
        "network": {
            "addressSpace": "10.9.0.0/16",
            "appsSubnet": "10.9.0.0/24",
            "privateEndpointsSubnet": "10.9.1.0/27",
        },
    }
    loaded = load_settings(raw_config("dev", overrides), "dev", allow_missing_secrets=True)
    assert loaded.settings.compute.registry.pull_path == "acr-pull"
    assert [n for n in loaded.notices if "NAT gateway" in n]
