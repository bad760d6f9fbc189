"""`fin-infra check STACK`: judge a deployed stack against its performance targets.

Reads the stack outputs (`pulumi stack output --json --show-secrets`, or `--outputs FILE`),
measures every target of `checks/targets.yaml` through Azure Monitor metrics, logs and direct
probes, compares what is live with what was declared, and reports.

Exit codes: 0 passed; 1 warnings, with `--fail-on warn`; 2 a target or a conformance row
failed; 3 inconclusive (a target without data, with `--no-data fail`, the default); 4 the
check could not run (bad option, unreadable outputs or endpoints file, unknown target,
contradictory or empty target selection, an output directory that cannot be written, no GitHub
ID token to sign in with on Actions); 130 and 143 interrupted by SIGINT (Ctrl-C) or SIGTERM: the
probes and queries in flight are abandoned, child processes stopped, and the partial report is
written, marked interrupted.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

from checks.cli_options import (
    DurationOption,
    fail_on_option,
    outputs_file_option,
    report_formats_option,
    targets_option,
)
from checks.clouds import CLOUDS, cloud_profile
from checks.credentials import IdTokenError, select_credential
from checks.durations import DEFAULT_CHECK_WINDOW, DURATION_BOUNDS, bounded_duration  # noqa: F401 (re-exported)
from checks.endpoints import Endpoints, EndpointsError, read_endpoints
from checks.files import OutputError, prepare_output_dir, write_text
from checks.github import publish_report
from checks.interrupts import Interrupted, interruptible
from checks.model import EXIT_USAGE, Policy, Report
from checks.outputs import OutputsError, StackOutputs, parse_outputs, read_outputs_file
from checks.project import complete_stacks, project_for_cwd
from checks.render import FILE_NAMES, RENDERERS
from checks.runner import CheckOptions, RunInterrupted, run_check
from checks.sources.azure import AzureAccess
from checks.targets import TargetsError, load_targets
from checks.terminal import echo_rendered

REPO_ROOT = Path(__file__).resolve().parent.parent
CREDENTIAL_KINDS = {
    "github-oidc": "GitHub Actions OIDC (a fresh ID token per Entra token request)",
    "default": "DefaultAzureCredential",
}
T = TypeVar("T")


class UsageProblem(click.ClickException):
    """The check cannot run as asked; exits 4 so no gate mistakes it for a verdict."""

    exit_code = EXIT_USAGE


class CheckCommand(click.Command):
    """Click's own usage errors (exit 2 by default) exit 4 here: 2 means a failed target."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as error:
            error.exit_code = EXIT_USAGE
            raise


def refuse_directories_as_reports(output_dir: Path, names: list[str]) -> None:
    """A report file name that is a directory is refused before anything is measured."""
    for name in names:
        if (output_dir / name).is_dir():
            raise UsageProblem(
                f"--output-dir: {output_dir / name} is a directory, not a file the report can be written to"
            )


def _finite(ctx: click.Context, param: click.Parameter, value: float) -> float:
    """FloatRange lets NaN through (every comparison with NaN is false)."""
    if value != value:
        raise click.BadParameter("nan is not a number of seconds", ctx=ctx, param=param)
    return value


def read_input(reader: Callable[[Path], T], path: Path, option: str) -> T:
    """Read an input file; what the parser does not turn into its own error is still a usage error naming the file."""
    try:
        return reader(path)
    except UnicodeError as error:
        raise UsageProblem(f"{option} {path}: not UTF-8 text ({type(error).__name__} at byte {error.start})") from None
    except RecursionError:
        raise UsageProblem(f"{option} {path}: nested too deeply to read") from None
    except OSError as error:
        raise UsageProblem(f"{option} {path}: cannot be read ({error.strerror or error})") from None


def check_selection(table_ids: list[str], only: tuple[str, ...], skip: tuple[str, ...]) -> None:
    """`--only X --skip X`, or skipping every target, is a contradiction: a usage error, not 'inconclusive'."""
    both = sorted(set(only) & set(skip))
    if both:
        raise UsageProblem(f"--only and --skip both name {', '.join(both)}: choose one")
    remaining = [t for t in (only or table_ids) if t not in skip]
    if not remaining and (only or skip):
        raise UsageProblem("--only/--skip leave no target to check")


def stack_outputs_from_pulumi(stack: str) -> StackOutputs:
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise UsageProblem(
            "no --outputs file given and no pulumi CLI on PATH: save the outputs in the deploy job "
            "(pulumi stack output --json --show-secrets > outputs.json) and pass --outputs outputs.json"
        )
    project = project_for_cwd().root
    try:
        completed = subprocess.run(
            [pulumi, "stack", "output", "--json", "--show-secrets", "--stack", stack, "--cwd", str(project)],
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise UsageProblem("pulumi stack output did not answer within 180 s") from None
    if completed.returncode != 0:
        first = (completed.stderr.strip().splitlines() or ["(no message)"])[0][:300]
        raise UsageProblem(f"pulumi stack output --stack {stack} failed (exit {completed.returncode}): {first}")
    try:
        data = json.loads(completed.stdout)
    except json.JSONDecodeError as error:
        raise UsageProblem(f"pulumi stack output printed no JSON: {error}") from None
    return parse_outputs(data, f"pulumi stack output of {stack}")


@click.command(cls=CheckCommand)
@click.argument("stack", shell_complete=complete_stacks)
@outputs_file_option
@click.option(
    "--endpoints",
    "endpoints_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Endpoints file (YAML/JSON) for the direct probes: URLs, Redis, the database DSN's variable, bounds.",
)
@click.option(
    "--source",
    type=click.Choice(["auto", "azure", "probe"]),
    default="auto",
    show_default=True,
    help="azure: metrics then logs; probe: direct probes only; auto: metrics, logs, then probes per target.",
)
@click.option(
    "--window",
    default=DEFAULT_CHECK_WINDOW,
    show_default=True,
    type=DurationOption("window"),
    help="Evaluation window (15m, 900s, PT15M).",
)
@click.option(
    "--bake",
    default="0s",
    show_default=True,
    type=DurationOption("bake"),
    help="Wait this long before measuring (5m, PT5M).",
)
@report_formats_option
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write every format here (check-report.txt/.json/.junit.xml/.md/.html) instead of stdout.",
)
@fail_on_option
@click.option(
    "--no-data",
    "no_data",
    type=click.Choice(["fail", "warn", "ignore"]),
    default="fail",
    show_default=True,
    help="What a target without data means: fail (inconclusive, exit 3), warn (a warning), ignore.",
)
@click.option("--only", multiple=True, help="Check only this target id (repeatable).")
@click.option("--skip", multiple=True, help="Leave this target id out (repeatable; the report lists it).")
@click.option("--no-conformance", is_flag=True, help="Do not compare live settings with the declared ones.")
@click.option("--cloud", type=click.Choice(sorted(CLOUDS)), default="public", show_default=True, help="Azure cloud.")
@click.option("--arm-endpoint", help="Azure Resource Manager endpoint (overrides the cloud's).")
@click.option("--arm-audience", help="Token audience for Azure Resource Manager.")
@click.option("--metrics-endpoint", help="Metrics batch endpoint; {region} becomes the resource's region.")
@click.option("--metrics-audience", help="Token audience for the metrics batch API.")
@click.option("--logs-endpoint", help="Log Analytics query endpoint.")
@click.option("--logs-audience", help="Token audience for Log Analytics queries.")
@click.option("--authority-host", help="Microsoft Entra authority host for sign-in (overrides the cloud's).")
@click.option(
    "--timeout",
    type=click.FloatRange(min=1, max=300),
    default=30,
    show_default=True,
    callback=lambda ctx, param, value: _finite(ctx, param, value),
    help="Seconds per Azure request.",
)
@click.option("--retries", type=click.IntRange(min=0, max=10), default=3, show_default=True, help="Retries on 429/5xx.")
@targets_option
def check(
    stack: str,
    outputs_file: Path | None,
    endpoints_file: Path | None,
    source: str,
    window: object,
    bake: object,
    formats: list[str],
    output_dir: Path | None,
    fail_on: str,
    no_data: str,
    only: tuple[str, ...],
    skip: tuple[str, ...],
    no_conformance: bool,
    cloud: str,
    arm_endpoint: str | None,
    arm_audience: str | None,
    metrics_endpoint: str | None,
    metrics_audience: str | None,
    logs_endpoint: str | None,
    logs_audience: str | None,
    authority_host: str | None,
    timeout: float,
    retries: int,
    targets_file: Path | None,
) -> None:
    """Judge the deployed STACK against its performance targets, with evidence and an exit code.

    Every target gets PASS, WARN, FAIL or NO_DATA (never a PASS without data), with the query,
    the measured value and unit, the thresholds and the sample count. Exit codes: 0 passed,
    1 warnings (with --fail-on warn), 2 failed, 3 inconclusive, 4 could not run.
    """
    if len(formats) > 1 and output_dir is None:
        raise UsageProblem(f"{len(formats)} formats need --output-dir (one file each)")
    try:
        table = load_targets(targets_file)
        outputs = read_input(read_outputs_file, outputs_file, "--outputs") if outputs_file else None
        outputs = outputs or stack_outputs_from_pulumi(stack)
        endpoints = read_input(read_endpoints, endpoints_file, "--endpoints") if endpoints_file else Endpoints()
    except (TargetsError, OutputsError, EndpointsError) as error:
        raise UsageProblem(str(error)) from None
    if outputs.stack != stack:
        raise UsageProblem(f"the outputs are of stack {outputs.stack!r}, not {stack!r}")
    check_selection([t.id for t in table.targets], only, skip)
    if output_dir is not None:
        try:
            prepare_output_dir(output_dir)
        except OutputError as error:
            raise UsageProblem(str(error)) from None
        refuse_directories_as_reports(output_dir, [FILE_NAMES[name] for name in formats])
    try:
        profile = cloud_profile(
            cloud,
            arm_endpoint=arm_endpoint,
            arm_audience=arm_audience,
            metrics_endpoint=metrics_endpoint,
            metrics_audience=metrics_audience,
            logs_endpoint=logs_endpoint,
            logs_audience=logs_audience,
            authority_host=authority_host,
        )
    except ValueError as error:
        raise UsageProblem(str(error)) from None
    credential = select_credential(profile.authority_host)
    if source != "probe":
        try:
            credential.preflight()
        except IdTokenError as error:
            raise UsageProblem(f"cannot sign in to Azure: {error}") from None
        click.echo(f"credential: {CREDENTIAL_KINDS[credential.kind]}", err=True)
    access = AzureAccess(profile, credential.build, timeout_seconds=timeout, retries=retries)
    options = CheckOptions(
        source=source,  # type: ignore[arg-type]
        window=window,  # type: ignore[arg-type]
        bake=bake,  # type: ignore[arg-type]
        policy=Policy(fail_on=fail_on, no_data=no_data),  # type: ignore[arg-type]
        only=list(only) or None,
        skip=list(skip),
        conformance=not no_conformance,
    )
    try:
        with interruptible():
            report = run_check(outputs, table, endpoints, options, access, progress=lambda m: click.echo(m, err=True))
    except ValueError as error:
        raise UsageProblem(str(error)) from None
    except RunInterrupted as stop:
        _write_reports(stop.report, formats, output_dir, stack)
        _leave(stop.report.exit_code)
    except Interrupted as stop:
        click.echo(f"check {stack}: interrupted by {stop.name} before measuring; exit {stop.exit_code}", err=True)
        _leave(stop.exit_code)
    _write_reports(report, formats, output_dir, stack)
    sys.exit(report.exit_code)


def _write_reports(report: Report, formats: list[str], output_dir: Path | None, stack: str) -> None:
    publish_report(report, "check")
    if output_dir is not None:
        for name in formats:
            try:
                write_text(output_dir / FILE_NAMES[name], RENDERERS[name](report))
            except OutputError as error:
                raise UsageProblem(str(error)) from None
        written = ", ".join(FILE_NAMES[name] for name in formats)
        click.echo(
            f"check {stack}: {report.outcome} (exit {report.exit_code}); wrote {written} to {output_dir}", err=True
        )
    else:
        echo_rendered(RENDERERS[formats[0]], formats[0], report)
        click.echo(f"check {stack}: {report.outcome} (exit {report.exit_code})", err=True)


def _leave(code: int) -> None:
    """Exit now, without waiting for abandoned worker threads (in-flight Azure reads) to finish."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
