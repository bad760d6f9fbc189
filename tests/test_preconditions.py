"""Preconditions over the whole plan: every shipped stack meets them, and each way to break one is caught.

A broken plan is the stack's real plan with one thing taken away or changed (a grant, a
dependency, a zone link, a metric name), as a program change that forgot it would produce;
each must fail with a message naming the resource and the missing precondition.
"""

from __future__ import annotations

import copy
import dataclasses

import pytest

from infra.components.identities import ROLE_ACR_PULL, ROLE_KEY_VAULT_SECRETS_USER
from infra.policy.preconditions import PRECONDITIONS, STACK_RULES_BY_ID
from infra.policy.preconditions.catalogue import diagnostic_types, metric_namespaces
from infra.policy.preconditions.evaluate import evaluate_stack, plan_view, preconditions_section
from infra.policy.preconditions.model import StackFacts, StackResource, StackView
from tests.conftest import STACKS, plan

ROLE = "azure-native:authorization:RoleAssignment"
LINK = "azure-native:privatedns:VirtualNetworkLink"
ALERT = "azure-native:monitor:MetricAlert"
SETTING = "azure-native:monitor:DiagnosticSetting"


def facts(stack: str) -> StackFacts:
    return StackFacts(registry=plan(stack).loaded.settings.compute.registry)


def findings(stack: str, view: StackView) -> list[tuple[str, str, str]]:
    report = evaluate_stack(view, facts(stack))
    return [(o.rule.id, v.resource.name, v.message) for o in report.outcomes for v in o.violations]


def unmet(stack: str, view: StackView) -> list[tuple[str, str, str]]:
    return [f for f in findings(stack, view) if STACK_RULES_BY_ID[f[0]].level == "mandatory"]


def without(view: StackView, keep) -> StackView:
    return StackView(r for r in view.resources if keep(r))


def replaced(view: StackView, name: str, **changes) -> StackView:
    return StackView(dataclasses.replace(r, **changes) if r.name == name else r for r in view.resources)


def role_of(resource: StackResource) -> str:
    return str(resource.props.get("roleDefinitionId", "")).rsplit("/", 1)[-1]


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_meets_every_precondition(stack: str) -> None:
    view = plan_view(plan(stack))
    assert unmet(stack, view) == []
    section = preconditions_section(evaluate_stack(view, facts(stack)))
    assert [rule["id"] for rule in section["rules"] if rule["level"] == "mandatory"] == [r.id for r in PRECONDITIONS]
    assert {rule["status"] for rule in section["rules"] if rule["level"] == "mandatory"} == {"pass"}


@pytest.mark.parametrize(("stack", "app"), [("dev", "compute-group-01"), ("staging", "compute-backend")])
def test_without_the_acr_pull_grant_the_pull_fails(stack: str, app: str) -> None:
    view = without(plan_view(plan(stack)), lambda r: not (r.type == ROLE and role_of(r) == ROLE_ACR_PULL))
    found = [f for f in unmet(stack, view) if f[1] == app]
    assert found and found[0][0] == "image-pull-grant"
    assert "holds no AcrPull on the registry" in found[0][2] and found[0][2].startswith(app)


def test_an_app_that_does_not_wait_for_its_acr_pull_grant_fails() -> None:
    view = plan_view(plan("staging"))
    backend = view.by_urn[next(r.urn for r in view.resources if r.name == "compute-backend")]
    grants = {r.urn for r in view.of_type(ROLE) if role_of(r) == ROLE_ACR_PULL}
    view = replaced(view, "compute-backend", dependencies=backend.dependencies - grants)
    [finding] = unmet("staging", view)
    assert finding[:2] == ("image-pull-grant", "compute-backend")
    assert "does not depend on the AcrPull grant acr-pull-backend" in finding[2]


def test_without_the_key_vault_grant_the_app_cannot_read_its_secrets() -> None:
    view = without(plan_view(plan("prod")), lambda r: r.name != "secrets-user-backend")
    [finding] = unmet("prod", view)
    assert finding[:2] == ("key-vault-grant", "compute-backend")
    assert "holds no Key Vault Secrets User on that vault" in finding[2]


def test_an_app_that_does_not_wait_for_its_key_vault_grant_fails() -> None:
    view = plan_view(plan("prod"))
    backend = next(r for r in view.resources if r.name == "compute-backend")
    grants = {r.urn for r in view.of_type(ROLE) if role_of(r) == ROLE_KEY_VAULT_SECRETS_USER}
    view = replaced(view, "compute-backend", dependencies=backend.dependencies - grants)
    [finding] = unmet("prod", view)
    assert finding[:2] == ("key-vault-grant", "compute-backend")
    assert "does not depend on the Key Vault Secrets User grant secrets-user-backend" in finding[2]


@pytest.mark.parametrize(
    ("zone", "target"),
    [("privatelink-vaultcore-azure-net", "key-vault-vault"), ("privatelink-redis-azure-net", "cache")],
)
def test_without_the_dns_zone_link_the_private_endpoint_does_not_resolve(zone: str, target: str) -> None:
    view = without(plan_view(plan("staging")), lambda r: not (r.type == LINK and r.name.endswith(zone)))
    found = unmet("staging", view)
    assert found and {f[0] for f in found} == {"private-dns-linked"}
    assert "compute-backend" in {f[1] for f in found}
    assert all("is not linked to" in f[2] and target in f[2] for f in found)


def test_an_app_that_does_not_wait_for_the_private_path_fails() -> None:
    view = plan_view(plan("prod"))
    backend = next(r for r in view.resources if r.name == "compute-backend")
    links = {r.urn for r in view.of_type(LINK)}
    view = replaced(view, "compute-backend", dependencies=backend.dependencies - links)
    found = unmet("prod", view)
    assert {f[:2] for f in found} == {("private-dns-linked", "compute-backend")}
    assert all("does not depend on the private path" in f[2] for f in found)


def _alert_with(view: StackView, name: str, **criterion) -> StackView:
    alert = next(r for r in view.resources if r.name == name)
    props = copy.deepcopy(dict(alert.props))
    props["criteria"]["allOf"][0].update(criterion)
    return replaced(view, name, props=props)


def test_a_metric_outside_the_catalogue_fails_naming_the_alert() -> None:
    view = _alert_with(plan_view(plan("prod")), "alerts-api-latency-warning-backend", metricName="ResponseTimeP95")
    [finding] = unmet("prod", view)
    assert finding[:2] == ("alert-metrics", "alerts-api-latency-warning-backend")
    assert "metric 'ResponseTimeP95', which does not exist in Microsoft.App/containerApps" in finding[2]


def test_an_aggregation_or_dimension_the_metric_lacks_fails() -> None:
    view = _alert_with(plan_view(plan("dev")), "alerts-api-latency-warning-app-insights", timeAggregation="Total")
    [finding] = unmet("dev", view)
    assert "aggregates 'requests/duration' by Total" in finding[2]
    dimensions = [{"name": "cloud/role", "operator": "Include", "values": ["backend"]}]
    view = _alert_with(plan_view(plan("dev")), "alerts-api-latency-warning-app-insights", dimensions=dimensions)
    [finding] = unmet("dev", view)
    assert "filters 'requests/duration' on dimension 'cloud/role'" in finding[2]
    # The backend-only filter the api-latency alert uses is in the catalogue.
    dimensions = [{"name": "cloud/roleName", "operator": "Include", "values": ["backend"]}]
    view = _alert_with(plan_view(plan("dev")), "alerts-api-latency-warning-app-insights", dimensions=dimensions)
    assert unmet("dev", view) == []


def test_a_diagnostic_category_the_type_lacks_fails() -> None:
    view = plan_view(plan("staging"))
    setting = next(r for r in view.resources if r.name == "diagnostics-cache")
    props = {**setting.props, "logs": [{"categoryGroup": "allLogs", "enabled": True}]}
    [finding] = unmet("staging", replaced(view, "diagnostics-cache", props=props))
    assert finding[:2] == ("diagnostic-categories", "diagnostics-cache")
    assert "category group 'allLogs'; it has none" in finding[2]


def test_the_catalogues_name_their_sources() -> None:
    for namespace in metric_namespaces().values():
        assert namespace.source.startswith("https://learn.microsoft.com/")
        assert namespace.metrics and namespace.pulumi_types
    assert (
        "cloud/roleName" in metric_namespaces()["microsoft.insights/components"].metrics["requests/duration"].dimensions
    )
    groups = diagnostic_types()["azure-native:containerinstance:ContainerGroup"]
    assert groups.log_categories == {"ContainerEvent", "ContainerInstanceLog"}
    assert all(kind.source for kind in diagnostic_types().values())


def test_zone_redundant_prod_is_told_two_replicas_cover_two_zones() -> None:
    found = [f for f in findings("prod", plan_view(plan("prod"))) if f[0] == "zone-spread"]
    assert sorted(f[1] for f in found) == ["compute-backend", "compute-web"]
    assert all("at most 2 of the region's 3 zones" in f[2] for f in found)
    assert STACK_RULES_BY_ID["zone-spread"].level == "advisory"
    assert [f for f in findings("staging", plan_view(plan("staging"))) if f[0] == "zone-spread"] == []
