"""Shared test helpers: stack config built from the real stack files plus overrides."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi.runtime import rpc

from infra.paths import STACKS_DIR
from infra.plan.engine.runner import PlanResult, plan_stack
from infra.plan.engine.stackfile import raw_config_from_mapping
from infra.settings import RawConfig

DELETE = object()
STACKS = ("dev", "staging", "prod")


def stack_mapping(stack: str) -> dict[str, Any]:
    document = yaml.safe_load((STACKS_DIR / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8"))
    return copy.deepcopy(document["config"])


def _apply(target: dict[str, Any], path: list[str], value: Any) -> None:
    for part in path[:-1]:
        target = target.setdefault(part, {})
    if value is DELETE:
        target.pop(path[-1], None)
    else:
        target[path[-1]] = value


def raw_config(stack: str = "dev", overrides: dict[str, Any] | None = None) -> RawConfig:
    """The stack file's config with overrides applied.

    Override keys are dotted paths whose first part is the config key without namespace:
    {"services.backend.port": 0} sets fin-agent:services.backend.port. DELETE removes a key.
    A value {"secure": "..."} is stored as a secret, as `pulumi config set --secret` does.
    """
    mapping = stack_mapping(stack)
    for dotted, value in (overrides or {}).items():
        head, *rest = dotted.split(".")
        key = head if ":" in head else f"fin-agent:{head}"
        if not rest:
            if value is DELETE:
                mapping.pop(key, None)
            else:
                mapping[key] = value
            continue
        container = mapping.setdefault(key, {})
        _apply(container, rest, value)
    return raw_config_from_mapping(mapping)


def opened(value: Any) -> Any:
    """Planned inputs with the engine's secret wrappers removed, to assert non-secret fields."""
    value = rpc.unwrap_rpc_secret(value)
    if isinstance(value, dict):
        return {k: opened(v) for k, v in value.items()}
    if isinstance(value, list):
        return [opened(v) for v in value]
    return value


_UNCHANGED_PLANS: dict[str, PlanResult] = {}


def plan(stack: str = "dev", overrides: dict[str, Any] | None = None, targets_file: Path | None = None) -> PlanResult:
    """Plan `stack` under the mock engine with overrides applied.

    Plans of an unchanged stack file are shared between tests (tests only read them), which
    keeps the suite fast; any override or other target table plans afresh.
    """
    if not overrides and targets_file is None:
        if stack not in _UNCHANGED_PLANS:
            _UNCHANGED_PLANS[stack] = plan_stack(stack, raw=raw_config(stack))
        return _UNCHANGED_PLANS[stack]
    return plan_stack(stack, raw=raw_config(stack, overrides), targets_file=targets_file)


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
