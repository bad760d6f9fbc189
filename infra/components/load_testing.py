"""Azure Load Testing for `fin-infra loadtest --engine azure`: the resource, the identity that runs tests, its grants.

- the resource (`Microsoft.LoadTestService/loadTests`, pulumi-azure-native 3.29.0
  `loadtestservice.LoadTest`, API version 2023-12-01-preview), with a system-assigned identity
  (the service's own, e.g. for Key Vault references in a test);
- a user-assigned identity that CI runs tests as (`id-finagent-loadtest-...`: give it a
  federated credential for the pipeline), granted **Load Test Contributor** on the resource
  (create tests, upload files, start runs: the data-plane calls `checks.loadtest.azure_engine`
  makes) and, in a stack with a network, **Network Contributor** on the injection subnet
  (Learn, how-to-test-private-endpoint.md: starting a run needs
  `Microsoft.Network/virtualNetworks/subnets/join/action`, error ALTVNET004 otherwise).

Built-in role ids: learn.microsoft.com/azure/role-based-access-control/built-in-roles
(Load Test Contributor 749a398d-560b-491b-bb21-08924219302e, Network Contributor
4d97b98b-1d4f-4787-a291-c67834d212e7).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_azure_native import authorization, loadtestservice, managedidentity

from infra.naming import Naming
from infra.settings.model import LoadTestingSettings

# Built-in role ids (Learn, "Azure built-in roles": Load Test Contributor under DevOps, Network
# Contributor under Networking; the ids are the same in every tenant).
ROLE_LOAD_TEST_CONTRIBUTOR = "749a398d-560b-491b-bb21-08924219302e"
ROLE_NETWORK_CONTRIBUTOR = "4d97b98b-1d4f-4787-a291-c67834d212e7"
_ROLE_NAMESPACE = uuid.UUID("0b7e4e5c-55a5-4b0e-9a4f-3f1c6f1d9e19")


@dataclass(frozen=True)
class LoadTestingArgs:
    settings: LoadTestingSettings
    naming: Naming
    resource_group_name: pulumi.Input[str]
    location: str
    tags: dict[str, str]
    stack: str
    subnet_id: pulumi.Input[str] | None = None  # the injection subnet, in a stack with a network


class LoadTesting(pulumi.ComponentResource):
    def __init__(self, name: str, args: LoadTestingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("fin-agent:loadtest:LoadTesting", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self._args = args
        self.resource = loadtestservice.LoadTest(
            f"{name}-resource",
            load_test_name=args.naming.name("load_test"),
            resource_group_name=args.resource_group_name,
            location=args.location,
            description=f"fin-infra loadtest --engine azure for stack {args.stack}",
            identity=loadtestservice.ManagedServiceIdentityArgs(type="SystemAssigned"),
            tags=args.tags,
            opts=child,
        )
        self.runner = managedidentity.UserAssignedIdentity(
            f"{name}-runner",
            resource_name_=args.naming.name("managed_identity", "loadtest"),
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=args.tags,
            opts=child,
        )
        subscription_id = authorization.get_client_config_output(
            opts=pulumi.InvokeOutputOptions(parent=self)
        ).subscription_id
        self.grants = [self._grant(f"{name}-run-tests", ROLE_LOAD_TEST_CONTRIBUTOR, self.resource.id, subscription_id)]
        if args.subnet_id is not None:
            self.grants.append(
                self._grant(f"{name}-join-subnet", ROLE_NETWORK_CONTRIBUTOR, args.subnet_id, subscription_id)
            )
        self.register_outputs({"resourceId": self.resource.id, "dataPlaneUri": self.resource.data_plane_uri})

    def _grant(
        self, name: str, role: str, scope: pulumi.Input[str], subscription_id: pulumi.Output[str]
    ) -> authorization.RoleAssignment:
        return authorization.RoleAssignment(
            name,
            role_assignment_name=str(uuid.uuid5(_ROLE_NAMESPACE, f"{self._args.stack}/{name}")),
            principal_id=self.runner.principal_id,
            principal_type="ServicePrincipal",
            role_definition_id=subscription_id.apply(
                lambda sub: f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{role}"
            ),
            scope=scope,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.runner]),
        )

    def stack_output(self) -> dict[str, Any]:
        """`loadTesting` in the stack outputs: what `fin-infra loadtest --engine azure` takes."""
        return {
            "resourceId": self.resource.id,
            "dataPlaneUri": self.resource.data_plane_uri,
            "runnerIdentityClientId": self.runner.client_id,
            "maxEngineInstances": self._args.settings.max_engine_instances,
            "subnetId": self._args.subnet_id,
        }
