"""The tags every taggable resource carries: who owns it, what it costs, what manages it."""

from __future__ import annotations

from infra.settings.model import StackSettings

PROJECT = "fin-agent"
STANDARD_TAG_NAMES = frozenset({"environment", "project", "owner", "cost-center", "managed-by", "stack"})


def standard_tags(settings: StackSettings, stack: str) -> dict[str, str]:
    """Standard tags first, then the stack's own (which may not override a standard one)."""
    tags = {
        "environment": settings.environment,
        "project": PROJECT,
        "owner": settings.owner,
        "cost-center": settings.cost_center,
        "managed-by": "pulumi",
        "stack": stack,
    }
    tags.update(settings.tags)
    return tags
