"""The program's half of a canary rollout, under the mock engine: every step's exact inputs.

For each rollout state the deploy writes (`fin-agent:rolloutState`), the planned Container App
must carry the revision mode, the revision suffix, the image and the `ingress.traffic` list
(revision names, `latestRevision`, labels, weights) that Azure's TrafficWeight takes, and the
`rollout` output must name the stable and canary revisions and the canary label's FQDN.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pulumi.runtime.rpc import unwrap_rpc_secret

from infra.components.revisions import revision_suffix
from infra.plan.engine.runner import PlanResult, plan_stack
from infra.plan.engine.stackfile import read_stack_file
from infra.settings.loader import RawConfig

STABLE = "ca-finagent-backend-prod-264656--r0123456789"
STABLE_IMAGE = "finagent.azurecr.io/fin-agent/backend:0.9.0"
DOMAIN = "mock-env.westeurope.azurecontainerapps.io"


def plan(stack: str = "prod", **config: Any) -> PlanResult:
    raw = read_stack_file(stack)
    values = dict(raw.values)
    values.update({f"fin-agent:{key}": json.dumps(value) for key, value in config.items()})
    return plan_stack(stack, raw=RawConfig(values, raw.secret_keys))


def app_inputs(result: PlanResult, service: str) -> tuple[dict[str, Any], dict[str, Any]]:
    resource = next(
        r for r in result.resources if r.type == "azure-native:app:ContainerApp" and r.name.endswith(service)
    )
    return dict(unwrap_rpc_secret(resource.inputs["configuration"])), resource.inputs["template"]


def state(phase: str, weight: int = 0) -> dict[str, Any]:
    services = {"backend": {"stableRevision": STABLE, "stableImage": STABLE_IMAGE}}
    return {"phase": phase, "canaryWeight": weight, "services": services}


def test_prod_defaults_to_canary_and_a_first_deploy_is_single_revision_at_100() -> None:
    result = plan()
    configuration, template = app_inputs(result, "backend")
    assert configuration["activeRevisionsMode"] == "Single"
    assert configuration["ingress"]["traffic"] == [{"latestRevision": True, "weight": 100}]
    settings = result.loaded.settings
    suffix = revision_suffix(settings.services.backend, settings.autoscale)
    assert template["revisionSuffix"] == suffix and len(suffix) == 11
    backend = result.outputs["rollout"]["services"]["backend"]
    assert result.outputs["rollout"]["strategy"] == "canary"
    assert backend["stableRevision"] == f"ca-finagent-backend-prod-264656--{suffix}"
    assert backend["canaryRevision"] is None and backend["canaryFqdn"] is None


@pytest.mark.parametrize("weight", [0, 10, 50, 100])
def test_each_canary_step_splits_traffic_between_the_stable_and_the_latest(weight: int) -> None:
    result = plan(rolloutState=state("canary", weight))
    configuration, template = app_inputs(result, "backend")
    assert configuration["activeRevisionsMode"] == "Multiple"
    assert configuration["ingress"]["traffic"] == [
        # The SDK sends latestRevision: false when a revision is named (TrafficWeight's default).
        {"revisionName": STABLE, "weight": 100 - weight, "latestRevision": False, "label": "stable"},
        {"latestRevision": True, "weight": weight, "label": "canary"},
    ]
    assert template["containers"][0]["image"] == "finagent.azurecr.io/fin-agent/backend:1.0.0"
    canary = f"ca-finagent-backend-prod-264656--{template['revisionSuffix']}"
    out = result.outputs["rollout"]["services"]["backend"]
    assert out["stableRevision"] == STABLE and out["canaryRevision"] == canary
    assert out["canaryWeight"] == weight and out["revisionMode"] == "Multiple"
    # The backend's ingress is internal in prod: label addresses carry `.internal`.
    assert out["canaryFqdn"] == f"ca-finagent-backend-prod-264656---canary.internal.{DOMAIN}"
    # web has no recorded stable revision in this state: it stays single-revision at 100 %.
    web_configuration, _ = app_inputs(result, "web")
    assert web_configuration["activeRevisionsMode"] == "Single"


def test_rolled_back_restores_the_stable_image_and_revision_in_single_mode() -> None:
    result = plan(rolloutState=state("rolledBack"))
    configuration, template = app_inputs(result, "backend")
    assert configuration["activeRevisionsMode"] == "Single"
    assert configuration["ingress"]["traffic"] == [{"latestRevision": True, "weight": 100}]
    assert template["revisionSuffix"] == "r0123456789"
    assert template["containers"][0]["image"] == STABLE_IMAGE
    assert result.outputs["rollout"]["services"]["backend"]["stableRevision"] == STABLE


def test_promoted_is_single_mode_with_the_new_revision() -> None:
    result = plan(rolloutState={"phase": "stable"})
    configuration, template = app_inputs(result, "backend")
    assert configuration["activeRevisionsMode"] == "Single"
    assert template["containers"][0]["image"] == "finagent.azurecr.io/fin-agent/backend:1.0.0"
    assert result.outputs["rollout"]["phase"] == "stable"


def test_all_at_once_keeps_todays_flow() -> None:
    result = plan(rollout={"strategy": "all-at-once"})
    configuration, template = app_inputs(result, "backend")
    assert configuration["activeRevisionsMode"] == "Single"
    assert configuration["ingress"]["traffic"] == [{"latestRevision": True, "weight": 100}]
    assert "revisionSuffix" not in template
    assert plan("dev").outputs["rollout"]["strategy"] == "all-at-once"


def test_a_new_image_gives_a_new_predictable_revision_suffix() -> None:
    settings = plan().loaded.settings
    backend, scale = settings.services.backend, settings.autoscale
    assert revision_suffix(backend, scale) == revision_suffix(backend, scale)
    assert revision_suffix(backend, scale, "finagent.azurecr.io/fin-agent/backend:1.1.0") != revision_suffix(
        backend, scale
    )
