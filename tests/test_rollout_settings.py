"""Rollout settings: defaults per environment and platform, and bad values refused by name."""

from __future__ import annotations

import pytest

from infra.settings import SettingsError, load_settings
from infra.settings.rollout import RolloutSettings, effective_strategy
from tests.conftest import raw_config


def loaded(stack: str, overrides: dict | None = None):
    return load_settings(raw_config(stack, overrides), stack, allow_missing_secrets=True).settings


def problems(stack: str, overrides: dict) -> str:
    with pytest.raises(SettingsError) as caught:
        loaded(stack, overrides)
    return str(caught.value)


def test_defaults_canary_in_prod_all_at_once_elsewhere() -> None:
    prod = loaded("prod")
    assert prod.rollout_strategy == "canary" and prod.rollout_on_no_data == "rollback"
    assert loaded("staging").rollout_strategy == "all-at-once"
    assert loaded("staging").rollout_on_no_data == "continue"
    assert RolloutSettings().steps == [10, 50, 100]
    assert RolloutSettings().bake_seconds(0) == 300
    assert RolloutSettings(bake=["1m", "90s", 30]).bake_seconds(1) == 90


def test_container_groups_refuse_a_canary_saying_why() -> None:
    assert loaded("dev").rollout_strategy == "all-at-once"  # dev runs container groups
    message = problems("dev", {"rollout": {"strategy": "canary"}})
    assert "rollout.strategy" in message and "only Container Apps" in message
    assert "updated in place" in message and "all-at-once" in message


def test_a_container_groups_stack_defaults_to_all_at_once_even_in_prod() -> None:
    assert effective_strategy(None, "prod", "containerinstances") == "all-at-once"
    assert effective_strategy(RolloutSettings(), "prod", "containerapps") == "canary"
    assert effective_strategy(RolloutSettings(strategy="all-at-once"), "prod", "containerapps") == "all-at-once"


@pytest.mark.parametrize(
    ("rollout", "key", "words"),
    [
        ({"steps": [50, 10, 100]}, "rollout.steps", "strictly increasing"),
        ({"steps": [10, 50]}, "rollout.steps", "must end at 100"),
        ({"steps": [0, 100]}, "rollout.steps[0]", "greater than or equal to 1"),
        ({"bake": "soon"}, "rollout.bake", "not a duration"),
        ({"bake": -30}, "rollout.bake", "not a duration"),
        ({"bake": "48h"}, "rollout.bake", "outside"),
        ({"checkEvery": ".inf"}, "rollout.checkEvery", "not a duration"),
        ({"bake": ["1m"], "steps": [50, 100]}, "rollout", "one per step"),
        ({"onNoData": "panic"}, "rollout.onNoData", "hold"),
        ({"strategy": "blue-green"}, "rollout.strategy", "canary"),
        ({"rules": [{"target": "api-latency"}]}, "rollout.rules[0].tolerancePercent", "required"),
        ({"stepz": [10, 100]}, "rollout.stepz", "unknown key"),
    ],
)
def test_bad_rollout_settings_are_refused_by_name(rollout: dict, key: str, words: str) -> None:
    message = problems("prod", {"rollout": rollout})
    assert key in message and words in message, message


@pytest.mark.parametrize("bake", [float("nan"), float("inf"), -1.0, "1d"])
def test_a_bake_the_deploy_flag_would_refuse_is_refused_in_the_model_too(bake: object) -> None:
    with pytest.raises(ValueError, match=r"not a duration|outside"):
        RolloutSettings(bake=bake)


def test_a_refused_value_quoted_in_the_message_loses_its_credentials() -> None:
    message = problems("prod", {"rollout": {"bake": "postgres://user:pa55w0rd@db/x"}})
    assert "rollout.bake" in message and "not a duration" in message
    assert "pa55w0rd" not in message, message


def test_the_rollout_state_is_validated_too() -> None:
    state = {"phase": "canary", "canaryWeight": 150, "services": {}}
    assert "rolloutState.canaryWeight" in problems("prod", {"rolloutState": state})
