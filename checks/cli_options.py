"""Command-line options shared by the commands that read the target table or write reports.

`fin-infra check` and `fin-infra loadtest` write the same reports and gate the same way;
`plan`, `policy`, `check` and `loadtest` all accept another target table. Declaring each
option once keeps their spelling, defaults and help identical across commands.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click

from checks.durations import bounded_duration
from checks.render import RENDERERS


class DurationOption(click.ParamType):
    """A duration option of any command (`30s`, `5m`, `1h30m`, `PT5M`), bounded like its kind.

    `kind` is a key of `checks.durations.DURATION_BOUNDS` ("window" or "bake"). The value is
    a `timedelta`; a bad one is a usage error naming the option, raised while the options are
    parsed, so before any command does anything.
    """

    name = "duration"

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> timedelta:
        if isinstance(value, timedelta):
            return value
        try:
            return bounded_duration(str(value), self.kind)
        except ValueError as error:
            self.fail(str(error), param, ctx)


def report_formats(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> list[str]:
    """`--format table,json --format html` -> ['table', 'json', 'html'] (each known, once)."""
    formats: list[str] = []
    for value in values or ("table",):
        for item in value.split(","):
            name = item.strip().lower()
            if name not in RENDERERS:
                raise click.BadParameter(f"{name!r} is not one of {sorted(RENDERERS)}", ctx=ctx, param=param)
            if name not in formats:
                formats.append(name)
    return formats


outputs_file_option = click.option(
    "--outputs",
    "outputs_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Stack outputs JSON a CI job saved (default: run `pulumi stack output --json --show-secrets`).",
)

targets_option = click.option(
    "--targets",
    "targets_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Target table (default: checks/targets.yaml).",
)

report_formats_option = click.option(
    "--format",
    "formats",
    multiple=True,
    callback=report_formats,
    help="table, json, junit, markdown, html; repeat or comma-separate for several (needs --output-dir). "
    "Default: table.",
)

fail_on_option = click.option(
    "--fail-on",
    type=click.Choice(["critical", "warn"]),
    default="critical",
    show_default=True,
    help="critical: only FAIL fails the gate (exit 2); warn: WARN fails it too (exit 1).",
)
