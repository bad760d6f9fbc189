"""One tune: read the stack's current settings and outputs, the metrics, decide, patch, validate.

The stack outputs say what is deployed (resource ids, the allocation the percentages are of);
the stack file, read through the settings loader (models and defaults only, no Pulumi), says
what the patch changes. Metrics come through the checks' `AzureAccess`; nothing is ever written
to Azure. The patched text is validated by the plan machinery (`checks.tune.validate`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from checks.durations import utc_iso
from checks.outputs import StackOutputs
from checks.sources.azure import AzureAccess
from checks.targets import load_targets
from checks.tune import apps, cache, groups, scaling
from checks.tune.model import Finding, TuneResult, Validation
from checks.tune.patch import patched_text, unified_diff
from checks.tune.read import MetricAsk, read_metrics
from checks.tune.validate import validate_patch

COST_NOTE = (
    "Cost is left out: the repository holds no dated, cited price table for Container Apps or "
    "Managed Redis (the Azure Retail Prices API documentation shows example values, not prices). "
    "No monthly delta is estimated."
)


def iso_window(window: timedelta) -> str:
    """P7D, PT36H: the window as the `--window` option takes it."""
    seconds = int(window.total_seconds())
    if seconds % 86400 == 0:
        return f"P{seconds // 86400}D"
    return f"PT{seconds // 3600}H" if seconds % 3600 == 0 else f"PT{seconds}S"


class TuneError(ValueError):
    """Tune cannot run as asked (stack file, settings, outputs, options)."""


@dataclass
class TuneOptions:
    window: timedelta = timedelta(days=7)
    grain: str = "PT1H"
    end: datetime | None = None
    stacks_dir: Path | None = None
    targets_file: Path | None = None
    validate: bool = True


def load_current(stack: str, stacks_dir: Path | None) -> tuple[Any, Path]:
    """The stack's effective settings (file over defaults) and the stack file's path."""
    from infra.paths import STACKS_DIR
    from infra.plan.engine.stackfile import StackFileError, read_stack_file, stack_file_path
    from infra.settings import SettingsError, load_settings

    directory = stacks_dir or STACKS_DIR
    try:
        loaded = load_settings(read_stack_file(stack, directory), stack, allow_missing_secrets=True)
    except (StackFileError, SettingsError) as error:
        raise TuneError(str(error)) from None
    return loaded.settings, stack_file_path(stack, directory)


def _asks(outputs: StackOutputs) -> dict[str, list[MetricAsk]]:
    wanted: dict[str, list[MetricAsk]] = {}
    for service in outputs.services.values():
        kind_asks = apps.asks() if service.kind == "containerapp" else groups.asks()
        for rid in service.resource_ids:
            wanted[rid] = kind_asks
    wanted[outputs.cache.resource_id] = cache.asks(outputs.cache.tier)
    return wanted


def _app_findings(outputs: StackOutputs, settings: Any, readings: Any, table: Any) -> list[Finding]:
    findings: list[Finding] = []
    scale = settings.autoscale
    apps_settings = settings.compute.container_apps
    profile = apps_settings.workload_profile if apps_settings else "Consumption"
    for name, service in outputs.services.items():
        ev = apps.evidence(readings, service.resource_ids[0])
        if isinstance(ev, str):
            findings.append(
                Finding(
                    subject=f"service {name}",
                    knob="all",
                    kind="no-data",
                    rule="a target without data yields no recommendation",
                    summary=f"no recommendation: {ev}",
                )
            )
            continue
        pinned = scaling.is_pinned(ev, scale)[0] if scale else False
        current = getattr(settings.services, name)
        findings.append(apps.allocation(name, service, current, ev, table, pinned, profile))
        if scale:
            findings.append(scaling.max_replicas(name, ev, scale))
            findings.append(scaling.min_replicas(name, ev, scale, table))
    if scale:
        findings.append(scaling.threshold(scale, table))
    return findings


def tune(
    stack: str,
    outputs: StackOutputs,
    access: AzureAccess,
    options: TuneOptions,
    progress: Callable[[str], None] = lambda message: None,
) -> TuneResult:
    if outputs.stack != stack:
        raise TuneError(f"the outputs are of stack {outputs.stack!r}, not {stack!r}")
    if options.window < timedelta(hours=1):
        raise TuneError(f"window {options.window} is shorter than one hour: tune reads days at an hourly grain")
    settings, path = load_current(stack, options.stacks_dir)
    if settings.compute.platform != outputs.platform:
        raise TuneError(
            f"the stack file says compute.platform {settings.compute.platform}, the outputs say {outputs.platform}: "
            "deploy (or revert) the platform change before tuning"
        )
    table = load_targets(options.targets_file)
    end = options.end or datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start = end - options.window
    progress(f"tune {stack}: reading {utc_iso(start)} .. {utc_iso(end)} at {options.grain}")
    readings = read_metrics(access, outputs.location, _asks(outputs), start, end, options.grain)
    if outputs.platform == "containerapps":
        findings = _app_findings(outputs, settings, readings, table)
    else:
        findings = groups.recommend(outputs.services, settings, readings, table)
    findings.append(
        cache.recommend(outputs.cache, settings.redis.sku, cache.evidence(readings, outputs.cache.resource_id), table)
    )
    changes = scaling.merge_changes(findings)
    original = path.read_text(encoding="utf-8")
    patched = patched_text(original, changes, str(path))
    shown = f"stacks/{path.name}"
    if not changes:
        validation = Validation(ran=False, passed=True, detail="no change: nothing to validate")
    elif not options.validate:
        validation = Validation(ran=False, passed=False, detail="validation skipped (--no-validate)")
    else:
        progress(f"tune {stack}: planning the patched stack file")
        validation = validate_patch(stack, path.parent, patched, options.targets_file)
    return TuneResult(
        stack=stack,
        stack_file=shown,
        window=iso_window(options.window),
        grain=options.grain,
        start=utc_iso(start),
        end=utc_iso(end),
        findings=findings,
        patch=unified_diff(original, patched, shown),
        validation=validation,
        cost=COST_NOTE,
        calls=readings.calls,
    )
