"""Cross-field rules: what Azure accepts, checked once all shapes and types are valid.

Each module checks one concern and returns `Problem`s; `check_all` runs every one of them so
the user sees all problems at once. A rule never changes a value (nothing is rounded).
"""

from __future__ import annotations

from infra.settings.model import StackSettings
from infra.settings.problems import Problem
from infra.settings.rules import cache, compute, general, load_testing, network, registry, rollout

RULE_MODULES = (general, compute, cache, network, registry, rollout, load_testing)


def check_all(settings: StackSettings, available: set[str] | None = None) -> list[Problem]:
    """Run every rule module; with `available`, only those whose sections all validated.

    `available` lets the loader still report Azure-rule problems in sections that are
    well-formed while another section has type errors, so every problem shows at once.
    """
    problems: list[Problem] = []
    for rule_module in RULE_MODULES:
        if available is None or available >= rule_module.SECTIONS:
            problems.extend(rule_module.check(settings))
    return problems


def notices_for(settings: StackSettings) -> list[str]:
    """Warnings that do not stop a deployment (e.g. guide settings Azure cannot take)."""
    notices: list[str] = []
    for rule_module in RULE_MODULES:
        notices.extend(rule_module.notices(settings))
    return notices
