"""Operations and cost: the standard tags on everything taggable, log retention stated,
Application Insights stored in the Log Analytics workspace.

Anchors: PSRule Azure.AppInsights.Workspace; Azure Policy "App Insights linked to LA
workspace". Retention has no rule in the anchor tools. Which resources take tags is read from
the installed azure-native SDK (a resource class with a `tags` argument), so a type the
program adds later is covered without a list to maintain here.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterator
from functools import cache

from infra.policy.model import Rule, Severity, StackContext, Subject, is_set, lookup, number, shown
from infra.policy.rules.types import APP_INSIGHTS, LOG_ANALYTICS
from infra.settings.model import MonitoringSettings
from infra.tags import STANDARD_TAG_NAMES

AZURE_NATIVE = "azure-native"


@cache
def is_taggable(type_token: str) -> bool:
    """Whether the type is a top-level Azure resource that takes tags: `tags` and `location` arguments.

    Child objects that take `tags` but no `location` (Key Vault secrets, whose tags are secret
    attributes) are not billed or governed as resources; other packages and components carry
    no Azure tags.
    """
    package, _, rest = type_token.partition(":")
    module, _, class_name = rest.partition(":")
    if package != AZURE_NATIVE or not module or not class_name:
        return False
    try:
        resource_class = getattr(importlib.import_module(f"pulumi_azure_native.{module.replace('/', '.')}"), class_name)
    except (ImportError, AttributeError):
        return False
    init = getattr(resource_class, "_internal_init", None)
    if init is None:
        return False
    parameters = inspect.signature(init).parameters
    return "tags" in parameters and "location" in parameters


def _retention_bounds() -> tuple[int, int]:
    """The range the settings accept for monitoring.logRetentionDays (one source for both)."""
    metadata = MonitoringSettings.model_fields["log_retention_days"].metadata
    low = next(m.ge for m in metadata if getattr(m, "ge", None) is not None)
    high = next(m.le for m in metadata if getattr(m, "le", None) is not None)
    return int(low), int(high)


def _required_tags(resource: Subject, context: StackContext) -> Iterator[str]:
    tags = lookup(resource.props, "tags") or {}
    missing = sorted(name for name in STANDARD_TAG_NAMES if not (isinstance(tags, dict) and tags.get(name)))
    if missing:
        yield f"tags {', '.join(missing)} are missing or empty"


def _log_retention(resource: Subject, context: StackContext) -> Iterator[str]:
    low, high = _retention_bounds()
    days = number(lookup(resource.props, "retentionInDays"))
    if days is None:
        yield f"retentionInDays is {shown(lookup(resource.props, 'retentionInDays'))}; state it ({low}-{high} days)"
    elif not low <= days <= high:
        yield f"retentionInDays is {days:g}; it must be between {low} and {high} days"


def _workspace_based(resource: Subject, context: StackContext) -> Iterator[str]:
    if not is_set(resource.props, "workspaceResourceId"):
        yield "workspaceResourceId is absent; classic (non-workspace) Application Insights is retired"


RULES: tuple[Rule, ...] = (
    Rule(
        id="required-tags",
        pillar="operations",
        severity=Severity.MEDIUM,
        title="Every taggable resource carries the standard tags",
        remediation=(
            "Pass the stack's standard tags (infra/tags.py) to the resource; owner and cost-center come from "
            "the owner and costCenter settings."
        ),
        check=_required_tags,
        applies_to=is_taggable,
        scope="Every top-level azure-native resource (takes `tags` and `location`): "
        + ", ".join(sorted(STANDARD_TAG_NAMES)),
    ),
    Rule(
        id="log-retention",
        pillar="operations",
        severity=Severity.MEDIUM,
        title="Log Analytics states how long it keeps logs",
        remediation="Set monitoring.logRetentionDays (30-730; default 30).",
        check=_log_retention,
        types=frozenset({LOG_ANALYTICS}),
        scope="Log Analytics workspace: `retentionInDays` stated, within 30-730",
    ),
    Rule(
        id="appinsights-workspace",
        pillar="operations",
        severity=Severity.MEDIUM,
        title="Application Insights stores its telemetry in the Log Analytics workspace",
        remediation="Create Application Insights workspace-based (`workspaceResourceId`), as the program does.",
        check=_workspace_based,
        types=frozenset({APP_INSIGHTS}),
        scope="Application Insights component: `workspaceResourceId` set",
    ),
)
