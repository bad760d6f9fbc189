"""`fin-infra tune STACK`: from measured load to a reviewed change of the stack file.

Reads days of Azure Monitor metrics for the stack's apps (or container groups) and cache,
recommends sizes, replica bounds, the autoscale threshold and the cache SKU against the target
table, and prints a patch to `stacks/Pulumi.<stack>.yaml` with a Markdown summary or JSON.
`--apply` writes the patched file; nothing is ever written to Azure.

Exit codes: 0 done (with or without changes; with `--apply`, the file was written when there
was a change); 3 the patched file fails the settings, the policy pack or the preconditions (it
is shown, never applied); 4 tune could not run (bad option, stack file, outputs, settings).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from checks.cli import CheckCommand, UsageProblem, stack_outputs_from_pulumi
from checks.cli_options import outputs_file_option, targets_option
from checks.clouds import CLOUDS, cloud_profile
from checks.durations import parse_duration
from checks.outputs import OutputsError, read_outputs_file
from checks.sources.azure import AzureAccess, default_credential_factory
from checks.targets import TargetsError
from checks.tune.patch import PatchError, patched_text
from checks.tune.read import ALLOWED_GRAINS
from checks.tune.render import RENDERERS
from checks.tune.run import TuneError, TuneOptions, load_current
from checks.tune.run import tune as run_tune
from infra.cli_options import stacks_dir_option

EXIT_INVALID_PATCH = 3
FILE_NAMES = {"markdown": "tune.md", "json": "tune.json", "patch": "tune.patch"}


def _window(ctx: click.Context, param: click.Parameter, value: str) -> object:
    try:
        return parse_duration(value)
    except ValueError as error:
        raise click.BadParameter(str(error), ctx=ctx, param=param) from None


def _end(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time (e.g. 2026-11-23T00:00:00Z)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@click.command(cls=CheckCommand)
@click.argument("stack")
@click.option("--window", default="P7D", show_default=True, callback=_window, help="History to read (P7D, 72h).")
@click.option(
    "--grain",
    type=click.Choice(sorted(ALLOWED_GRAINS)),
    default="PT1H",
    show_default=True,
    help="Bucket size (Managed Redis offers only PT5M and PT1H).",
)
@click.option("--end", callback=_end, help="End of the window, ISO 8601 (default: the last full hour).")
@outputs_file_option
@click.option("--apply", "apply_patch", is_flag=True, help="Write the patched stack file (only when it validates).")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(sorted(RENDERERS)),
    default="markdown",
    show_default=True,
    help="markdown for a pull request, json for tools, patch for `git apply`.",
)
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write tune.md, tune.json and tune.patch here instead of printing one format.",
)
@click.option("--no-validate", is_flag=True, help="Do not plan the patched file (then --apply is refused).")
@stacks_dir_option
@targets_option
@click.option("--cloud", type=click.Choice(sorted(CLOUDS)), default="public", show_default=True, help="Azure cloud.")
@click.option("--metrics-endpoint", help="Metrics batch endpoint; {region} becomes the resources' region.")
@click.option("--metrics-audience", help="Token audience for the metrics batch API.")
@click.option(
    "--timeout", type=click.FloatRange(min=1, max=300), default=30, show_default=True, help="Seconds per Azure request."
)
@click.option("--retries", type=click.IntRange(min=0, max=10), default=3, show_default=True, help="Retries on 429/5xx.")
def tune(
    stack: str,
    window: object,
    grain: str,
    end: datetime | None,
    outputs_file: Path | None,
    apply_patch: bool,
    output_format: str,
    output_dir: Path | None,
    no_validate: bool,
    stacks_dir: Path | None,
    targets_file: Path | None,
    cloud: str,
    metrics_endpoint: str | None,
    metrics_audience: str | None,
    timeout: float,
    retries: int,
) -> None:
    """Recommend stack-file changes for STACK from days of measured load, as a patch.

    Each recommendation names its evidence and rule; a subject without data gets none. The
    patched file is planned offline (settings, policy pack, preconditions) before it is shown
    as valid or written. Exit codes: 0 done, 3 the patch does not validate, 4 could not run.
    """
    if apply_patch and no_validate:
        raise UsageProblem("--apply needs the validation: drop --no-validate")
    try:
        outputs = read_outputs_file(outputs_file) if outputs_file else stack_outputs_from_pulumi(stack)
        profile = cloud_profile(cloud, metrics_endpoint=metrics_endpoint, metrics_audience=metrics_audience)
    except (OutputsError, ValueError) as error:
        raise UsageProblem(str(error)) from None
    access = AzureAccess(profile, default_credential_factory(profile), timeout_seconds=timeout, retries=retries)
    options = TuneOptions(
        window=window,
        grain=grain,
        end=end,
        stacks_dir=stacks_dir,  # type: ignore[arg-type]
        targets_file=targets_file,
        validate=not no_validate,
    )
    try:
        result = run_tune(stack, outputs, access, options, progress=lambda m: click.echo(m, err=True))
    except (TuneError, TargetsError, PatchError) as error:
        raise UsageProblem(str(error)) from None
    if output_dir is not None:
        output_dir.mkdir(parents=True, exist_ok=True)
        for name, render in RENDERERS.items():
            (output_dir / FILE_NAMES[name]).write_text(render(result), encoding="utf-8")
        click.echo(f"tune {stack}: wrote {', '.join(FILE_NAMES.values())} to {output_dir}", err=True)
    else:
        click.echo(RENDERERS[output_format](result), nl=False)
    changes = len(result.changes)
    if changes and not result.validation.passed:
        click.echo(f"tune {stack}: the patch does not validate: {result.validation.detail}", err=True)
        sys.exit(EXIT_INVALID_PATCH)
    if apply_patch and changes:
        _, path = load_current(stack, stacks_dir)
        original = path.read_text(encoding="utf-8")
        from checks.tune.scaling import merge_changes

        path.write_text(patched_text(original, merge_changes(result.findings), str(path)), encoding="utf-8")
        click.echo(f"tune {stack}: {changes} change(s) applied to {path}", err=True)
    else:
        click.echo(f"tune {stack}: {changes} change(s){'' if changes else ' (no change)'}", err=True)
    sys.exit(0)
