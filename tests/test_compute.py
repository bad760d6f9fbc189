"""Compute under the mock engine: Container Apps autoscaling and container groups' exact sizes."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi.runtime import rpc

from checks.outputs import ServiceOut
from infra.components.identities import ROLE_ACR_PULL
from infra.plan.engine.runner import PlannedResource, PlanResult
from infra.settings.loader import load_settings
from tests.conftest import opened, plan, raw_config

APP = "azure-native:app:ContainerApp"
ENVIRONMENT = "azure-native:app:ManagedEnvironment"
GROUP = "azure-native:containerinstance:ContainerGroup"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
ROLE = "azure-native:authorization:RoleAssignment"
SECRET_VALUES = {
    "supabaseUrl": "https://project-ref.supabase.co",
    "supabaseServiceKey": "sb-service-key-0123456789",
    "plaidClientId": "plaid-client-0123",
    "plaidSecret": "plaid-secret-0123456789",
    "marketDataApiKey": "md-key-0123456789",
    "aiApiKey": "ai-key-0123456789",
}


def plan_with_secret_values(stack: str) -> PlanResult:
    """Plan with real-looking secret values, as `pulumi up` would receive them decrypted."""
    from checks.targets import load_targets
    from infra.plan.engine.runner import run_program
    from infra.settings import RawConfig

    raw = raw_config(stack)
    values = dict(raw.values)
    secret_keys = set(raw.secret_keys)
    for key, value in SECRET_VALUES.items():
        values[f"fin-agent:{key}"] = value
        secret_keys.add(f"fin-agent:{key}")
    loaded = load_settings(RawConfig(values, frozenset(secret_keys)), stack)
    return run_program(loaded, load_targets())


def app_named(result: PlanResult, service: str) -> PlannedResource:
    return result.one(APP, f"compute-{service}")


def container(resource: PlannedResource) -> dict[str, Any]:
    containers = opened(resource.inputs["template"])["containers"]
    assert len(containers) == 1
    return containers[0]


def env_of(container_inputs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in container_inputs["env"]}


# --- Container Apps -------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_container_apps_environment_is_workload_profiles_with_consumption(stack: str) -> None:
    environment = plan(stack).one(ENVIRONMENT)
    assert environment.inputs["workloadProfiles"] == [
        {"name": "Consumption", "workloadProfileType": "Consumption", "enableFips": False}
    ]
    assert environment.inputs["appLogsConfiguration"] == {"destination": "azure-monitor"}
    assert environment.inputs["location"] == "westeurope"


@pytest.mark.parametrize(("service", "cpu", "memory"), [("backend", 2.0, "4Gi"), ("web", 1.0, "2Gi")])
def test_the_guides_limits_become_the_container_app_allocation(service: str, cpu: float, memory: str) -> None:
    result = plan("prod")
    resources = container(app_named(result, service))["resources"]
    assert resources == {"cpu": cpu, "memory": memory}
    assert app_named(result, service).inputs["workloadProfileName"] == "Consumption"


@pytest.mark.parametrize("service", ["backend", "web"])
def test_container_apps_scale_with_the_guides_rule(service: str) -> None:
    scale = opened(app_named(plan("prod"), service).inputs["template"])["scale"]
    assert scale["minReplicas"] == 2
    assert scale["maxReplicas"] == 10
    assert scale["cooldownPeriod"] == 300
    assert scale["pollingInterval"] == 30
    assert scale["rules"] == [
        {"name": "cpu-utilization", "custom": {"type": "cpu", "metadata": {"type": "Utilization", "value": "70"}}},
        {"name": "http-concurrency", "http": {"metadata": {"concurrentRequests": "100"}}},
    ]


def test_scale_settings_flow_into_the_rule_and_template() -> None:
    overrides = {
        "autoscale": {
            "minReplicas": 3,
            "maxReplicas": 40,
            "cpuUtilization": 55,
            "httpConcurrency": None,
            "cooldownSeconds": 600,
            "pollingSeconds": 15,
        },
    }
    scale = opened(app_named(plan("staging", overrides), "backend").inputs["template"])["scale"]
    assert (scale["minReplicas"], scale["maxReplicas"], scale["cooldownPeriod"], scale["pollingInterval"]) == (
        3,
        40,
        600,
        15,
    )
    assert scale["rules"] == [
        {"name": "cpu-utilization", "custom": {"type": "cpu", "metadata": {"type": "Utilization", "value": "55"}}}
    ]


@pytest.mark.parametrize("service", ["backend", "web"])
def test_container_apps_probe_the_health_path_within_bounds(service: str) -> None:
    result = plan("prod")
    port = 3001 if service == "backend" else 3000
    probes = container(app_named(result, service))["probes"]
    assert [p["type"] for p in probes] == ["Startup", "Liveness", "Readiness"]
    for probe in probes:
        assert probe["httpGet"] == {"path": "/health", "port": port, "scheme": "HTTP"}
        assert 1 <= probe["initialDelaySeconds"] <= 60
        assert probe["successThreshold"] == 1
        assert 1 <= probe["failureThreshold"] <= 10


def test_ingress_is_https_only_and_web_gets_the_backends_url() -> None:
    result = plan("prod", {"services.backend.ingress": "external"})
    backend, web = app_named(result, "backend"), app_named(result, "web")
    for app in (backend, web):
        ingress = opened(app.inputs["configuration"])["ingress"]
        assert ingress["allowInsecure"] is False
        assert ingress["external"] is True
    backend_url = result.outputs["services"]["backend"]["url"]
    assert backend_url.startswith("https://ca-finagent-backend-prod-")
    assert env_of(container(web))["BACKEND_URL"] == {"name": "BACKEND_URL", "value": backend_url}


def test_backend_can_be_internal_while_web_stays_external() -> None:
    result = plan("staging")  # staging and prod keep the backend inside the environment
    backend_ingress = opened(app_named(result, "backend").inputs["configuration"])["ingress"]
    web_ingress = opened(app_named(result, "web").inputs["configuration"])["ingress"]
    assert backend_ingress["external"] is False
    assert web_ingress["external"] is True
    assert ".internal." in result.outputs["services"]["backend"]["url"]


def test_each_app_runs_as_its_own_user_assigned_identity() -> None:
    result = plan("prod")
    identities = {r.name: r.resource_id for r in result.of_type(IDENTITY)}
    for service in ("backend", "web"):
        identity = app_named(result, service).inputs["identity"]
        assert identity == {"type": "UserAssigned", "userAssignedIdentities": [identities[f"identities-{service}"]]}
        # the identity's client id, so DefaultAzureCredential in the app picks this identity
        client_id = env_of(container(app_named(result, service)))["AZURE_CLIENT_ID"]["value"]
        assert client_id == result.one(IDENTITY, f"identities-{service}").state["clientId"]


def test_secrets_reach_containers_as_secret_refs_never_as_plain_values() -> None:
    result = plan_with_secret_values("prod")
    backend = app_named(result, "backend")
    configuration = opened(backend.inputs["configuration"])
    secret_names = {s["name"] for s in configuration["secrets"]}
    assert {
        "supabase-url",
        "supabase-service-key",
        "plaid-client-id",
        "plaid-secret",
        "market-data-api-key",
        "ai-api-key",
        "appinsights-connection-string",
    } == secret_names
    env = env_of(container(backend))
    assert env["PLAID_SECRET"] == {"name": "PLAID_SECRET", "secretRef": "plaid-secret"}
    assert env["SUPABASE_URL"] == {"name": "SUPABASE_URL", "secretRef": "supabase-url"}
    assert "value" not in env["APPLICATIONINSIGHTS_CONNECTION_STRING"]
    # The configuration carrying the values is a secret as a whole, and no value appears in
    # any input outside a secret wrapper.
    assert rpc.is_rpc_secret(backend.inputs["configuration"])
    for resource in result.resources:
        for secret in SECRET_VALUES.values():
            assert secret not in _plain_strings(resource.inputs), f"{secret} in plain text in {resource.name}"


def _plain_strings(value: Any) -> str:
    """Every string in `value` that is not inside a secret wrapper, joined."""
    if rpc.is_rpc_secret(value):
        return ""
    if isinstance(value, dict):
        return " ".join(_plain_strings(v) for v in value.values())
    if isinstance(value, list):
        return " ".join(_plain_strings(v) for v in value)
    return value if isinstance(value, str) else ""


def test_dedicated_profile_pins_the_apps_to_it() -> None:
    result = plan(
        "staging",
        {
            "compute.containerApps": {
                "workloadProfile": "D8",
                "workloadProfileMinNodes": 2,
                "workloadProfileMaxNodes": 4,
            }
        },
    )
    environment = result.one(ENVIRONMENT)
    assert environment.inputs["workloadProfiles"] == [
        {"name": "Consumption", "workloadProfileType": "Consumption", "enableFips": False},
        {"name": "dedicated", "workloadProfileType": "D8", "minimumCount": 2, "maximumCount": 4, "enableFips": False},
    ]
    assert app_named(result, "backend").inputs["workloadProfileName"] == "dedicated"


def test_private_registry_pulls_with_the_apps_identity_and_grants_acr_pull() -> None:
    registry_id = "/subscriptions/1/resourceGroups/rg-shared/providers/Microsoft.ContainerRegistry/registries/finagent"
    result = plan("staging", {"compute.registry": {"server": "finagent.azurecr.io", "resourceId": registry_id}})
    identities = {r.name: r.resource_id for r in result.of_type(IDENTITY)}
    registries = opened(app_named(result, "web").inputs["configuration"])["registries"]
    assert registries == [{"server": "finagent.azurecr.io", "identity": identities["identities-web"]}]
    pulls = [r for r in result.of_type(ROLE) if r.inputs["roleDefinitionId"].endswith(ROLE_ACR_PULL)]
    assert sorted(r.inputs["scope"] for r in pulls) == [registry_id, registry_id]
    assert {r.inputs["principalType"] for r in pulls} == {"ServicePrincipal"}


def test_container_apps_outputs_follow_the_contract() -> None:
    result = plan("prod")
    for service, cpu, memory in (("backend", 2, 4), ("web", 1, 2)):
        out = ServiceOut.model_validate(result.outputs["services"][service])
        assert out.kind == "containerapp"
        assert out.resource_ids == [app_named(result, service).resource_id]
        assert (out.limits.cpu, out.limits.memory_gb) == (cpu, memory)
        assert out.scale is not None and (out.scale.min_replicas, out.scale.max_replicas) == (2, 10)
        assert out.url and out.url.startswith("https://")


# --- container groups -----------------------------------------------------------------------


def group_containers(result: PlanResult) -> dict[str, dict[str, Any]]:
    group = result.one(GROUP)
    return {c["name"]: c for c in opened(group.inputs["containers"])}


def test_container_group_keeps_the_guides_exact_requests_and_limits() -> None:
    containers = group_containers(plan("dev"))
    assert containers["backend"]["resources"] == {
        "requests": {"cpu": 1.5, "memoryInGB": 3.0},
        "limits": {"cpu": 2.0, "memoryInGB": 4.0},
    }
    assert containers["web"]["resources"] == {
        "requests": {"cpu": 0.5, "memoryInGB": 1.0},
        "limits": {"cpu": 1.0, "memoryInGB": 2.0},
    }


def test_container_group_probes_and_shape() -> None:
    result = plan("dev")
    group = result.one(GROUP)
    assert (group.inputs["osType"], group.inputs["restartPolicy"], group.inputs["sku"]) == (
        "Linux",
        "Always",
        "Standard",
    )
    for name, port in (("backend", 3001), ("web", 3000)):
        c = group_containers(result)[name]
        for probe in (c["livenessProbe"], c["readinessProbe"]):
            assert probe["httpGet"] == {"path": "/health", "port": port, "scheme": "http"}
            assert probe["successThreshold"] == 1
        assert c["ports"] == [{"port": port, "protocol": "TCP"}]
    assert group_containers(result)["web"]["environmentVariables"][-1] == {
        "name": "BACKEND_URL",
        "value": "http://localhost:3001",
    }


def test_container_group_secrets_are_secure_values() -> None:
    result = plan_with_secret_values("dev")
    env = {e["name"]: e for e in group_containers(result)["backend"]["environmentVariables"]}
    for name in (
        "SUPABASE_URL",
        "SUPABASE_SERVICE_KEY",
        "PLAID_SECRET",
        "AI_API_KEY",
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
    ):
        assert set(env[name]) == {"name", "secureValue"}
    assert env["PLAID_SECRET"]["secureValue"] == SECRET_VALUES["plaidSecret"]
    for resource in result.resources:
        for secret in SECRET_VALUES.values():
            assert secret not in _plain_strings(resource.inputs)


def test_container_group_public_ip_logs_and_identity() -> None:
    result = plan("dev")
    group = result.one(GROUP)
    ip_address = opened(group.inputs["ipAddress"])
    assert ip_address["type"] == "Public"
    assert ip_address["dnsNameLabel"].startswith("finagent-dev-")
    assert ip_address["autoGeneratedDomainNameLabelScope"] == "TenantReuse"
    assert ip_address["ports"] == [{"port": 3001, "protocol": "TCP"}, {"port": 3000, "protocol": "TCP"}]
    log_analytics = opened(group.inputs["diagnostics"])["logAnalytics"]
    workspace = result.one("azure-native:operationalinsights:Workspace")
    assert log_analytics["workspaceId"] == workspace.state["customerId"]
    assert log_analytics["workspaceResourceId"] == workspace.resource_id
    assert rpc.is_rpc_secret(group.inputs["diagnostics"])  # carries the workspace key
    identity_ids = sorted(r.resource_id for r in result.of_type(IDENTITY))
    assert sorted(group.inputs["identity"]["userAssignedIdentities"]) == identity_ids


def test_internal_backend_is_not_exposed_on_the_groups_ip() -> None:
    result = plan("dev", {"services.backend.ingress": "internal"})
    ports = opened(result.one(GROUP).inputs["ipAddress"])["ports"]
    assert ports == [{"port": 3000, "protocol": "TCP"}]
    assert result.outputs["services"]["backend"]["url"] is None
    assert result.outputs["services"]["web"]["url"].endswith(":3000")


def test_a_fixed_number_of_groups_when_asked() -> None:
    result = plan("dev", {"compute.containerInstances.groupCount": 3})
    groups = result.of_type(GROUP)
    assert sorted(g.inputs["containerGroupName"][:14] for g in groups) == [
        "ci-finagent-01",
        "ci-finagent-02",
        "ci-finagent-03",
    ]
    labels = sorted(opened(g.inputs["ipAddress"])["dnsNameLabel"] for g in groups)
    assert [label[-3:] for label in labels] == ["-01", "-02", "-03"]
    ids = result.outputs["services"]["backend"]["resourceIds"]
    assert sorted(ids) == sorted(g.resource_id for g in groups)


def test_container_groups_declare_no_autoscale_of_any_kind() -> None:
    types = {r.type for r in plan("dev").resources}
    assert "azure-native:monitor:AutoscaleSetting" not in types
    assert APP not in types


def test_container_group_outputs_follow_the_contract() -> None:
    result = plan("dev")
    out = ServiceOut.model_validate(result.outputs["services"]["backend"])
    assert out.kind == "containergroup"
    assert out.container_name == "backend"
    assert (out.requests.cpu, out.requests.memory_gb, out.limits.cpu, out.limits.memory_gb) == (1.5, 3, 2, 4)
    assert out.scale is None
    assert out.url == f"http://{out.fqdn}:3001"
