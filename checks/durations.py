"""Durations as people and Azure write them: `90s`, `15m`, `1h30m`, `2.5s` or ISO 8601 `PT15M`.

The one duration parser of every command: `check --window/--bake`, `deploy --bake-time/--window`
all go through `bounded_duration` (and `DurationOption` in `checks.cli_options`), so each accepts
the same spellings and refuses the same mistakes with the same message.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

# The window `fin-infra check` judges by default (its `--window`); the workbook's "current
# value" tiles use the same span.
DEFAULT_CHECK_WINDOW = "15m"

_HUMAN = re.compile(r"^(?:(?P<h>\d+(?:\.\d+)?)h)?(?:(?P<m>\d+(?:\.\d+)?)m)?(?:(?P<s>\d+(?:\.\d+)?)s)?$")
_ISO = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(text: str) -> timedelta:
    """`15m` / `30s` / `1h` / `PT5M` / `P1D` as a timedelta; a bare number is seconds."""
    value = text.strip()
    if not value:
        raise ValueError("empty duration")
    if re.fullmatch(r"\d+(?:\.\d+)?", value):
        try:
            return timedelta(seconds=float(value))
        except OverflowError:
            raise ValueError(f"{text[:40]!r} is too long a duration") from None
    pattern = _ISO if value.upper().startswith("P") else _HUMAN
    match = pattern.match(value.upper() if pattern is _ISO else value.lower())
    if not match or not any(match.groupdict().values()):
        raise ValueError(f"{text!r} is not a duration (examples: 30s, 15m, 1h, PT15M)")
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    try:
        return timedelta(
            days=parts.get("d", 0), hours=parts.get("h", 0), minutes=parts.get("m", 0), seconds=parts.get("s", 0)
        )
    except OverflowError:
        raise ValueError(f"{text[:40]!r} is too long a duration") from None


# Upper bounds: Azure Monitor keeps platform metrics for 93 days
# (https://learn.microsoft.com/azure/azure-monitor/essentials/data-platform-metrics#retention-of-metrics);
# a window longer than 30 days or a bake longer than a day is a typo, not a gate.
DURATION_BOUNDS = {"window": (timedelta(0), timedelta(days=30)), "bake": (timedelta(0), timedelta(days=1))}


def bounded_duration(value: str, name: str) -> timedelta:
    """A duration within `DURATION_BOUNDS[name]` ("window" or "bake"); ValueError with the reason otherwise."""
    duration = parse_duration(value)
    low, high = DURATION_BOUNDS[name]
    if not low <= duration <= high:
        raise ValueError(f"{value[:40]!r} is outside {human_duration(low)} to {human_duration(high)}")
    return duration


def human_duration(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def utc_iso(moment: datetime) -> str:
    """2026-11-25T10:00:00Z (naive datetimes are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
