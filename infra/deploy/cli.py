"""`fin-infra deploy STACK`: preview with the policy pack, up, save outputs, bake, check, report.

For CI (one stack per job), on Pulumi's Automation API; needs the Pulumi CLI on PATH and a
logged-in backend. Exit codes (one per failing stage; see `infra.deploy.stages.ExitCode`):
0 deployed and checked (with --dry-run: the preview passed); 2 invalid stack settings or
options; 3 the policy pack refused the change (mandatory violations); 4 preflight (no Pulumi
CLI, too old, not logged in); 5 preview failed; 6 up failed; 7 outputs unreadable or not what
the checks need; 8 checks failed; 9 checks warned (with --fail-on warn); 10 checks
inconclusive; 11 checks could not run; 12 reports could not be written.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import click

from checks.cli_options import DurationOption
from checks.github import Annotation, append_step_summary, emit
from checks.project import complete_stacks, project_for_cwd
from infra.deploy.checks import CheckOptions
from infra.deploy.pipeline import Deployment, DeployOptions
from infra.deploy.report import write_reports
from infra.deploy.rollout_judge import JudgeOptions
from infra.deploy.stages import ExitCode
from infra.policy.crossguard import PACK_DIR


def _window(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Parsed as `fin-infra check --window` parses it (one parser), so a bad window stops the deploy
    while the options are read, before `pulumi up`; passed on to the checks as written."""
    if value is not None:
        DurationOption("window").convert(value, param, ctx)
    return value


def _publish(stack: str, code: ExitCode, markdown_path: Path) -> None:
    """In GitHub Actions: the deploy report in the job summary, and an error naming the failed stage."""
    if code != ExitCode.OK:
        title = f"fin-infra deploy {stack}: {code.name.lower()}"
        emit([Annotation("error", title, f"exit {int(code)}; see {markdown_path}")])
    append_step_summary(markdown_path.read_text(encoding="utf-8"))


@click.command()
@click.argument("stack", shell_complete=complete_stacks)
@click.option("--dry-run", is_flag=True, help="Stop after the preview (with the policy pack).")
@click.option(
    "--bake-time",
    "bake_seconds",
    default="5m",
    show_default=True,
    type=DurationOption("bake"),
    help="How long to let the deployment run before the checks (300, 90s, 5m, 1h, PT5M; at most 24 h).",
)
@click.option(
    "--skip-checks",
    is_flag=True,
    help="Deploy without the bake wait and the checks (e.g. a first deploy before the apps serve "
    "traffic); the report says so.",
)
@click.option(
    "--select-only",
    is_flag=True,
    help="Select STACK and stop in preflight if it does not exist; never create it (CI: a typo must not "
    "create an empty stack).",
)
@click.option(
    "--endpoints",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Passed to `fin-infra check --endpoints` (where the direct probes connect).",
)
@click.option(
    "--window",
    callback=_window,
    help="Passed to `fin-infra check --window` (the measurement window).",
)
@click.option("--source", type=click.Choice(["azure", "probe", "auto"]), help="Passed to `fin-infra check`.")
@click.option("--fail-on", type=click.Choice(["warn", "critical"]), help="Passed to `fin-infra check`.")
@click.option("--no-data", type=click.Choice(["fail", "warn", "ignore"]), help="Passed to `fin-infra check`.")
@click.option(
    "--canary-endpoints",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Canary rollout: where the probes reach the canary revision (default: its label's FQDN from the outputs); "
    "--endpoints then names the stable revision's.",
)
@click.option(
    "--strategy",
    type=click.Choice(["all-at-once", "canary"]),
    help="Override the stack's rollout.strategy for this run (e.g. all-at-once for a first deploy by hand).",
)
@click.option("--only", help="Passed to `fin-infra check --only` at each rollout step (e.g. api-latency).")
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the outputs file, policy pack config, check reports and deploy report go (default: out/deploy/STACK).",
)
@click.option(
    "--work-dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="The Pulumi project directory (holding Pulumi.yaml; default: found from the current directory, as "
    "`pulumi` finds it).",
)
@click.option(
    "--stacks-dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Folder of Pulumi.<stack>.yaml files (default: the stacks/ of the project found from the current directory).",
)
@click.option(
    "--policy-pack",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=PACK_DIR,
    show_default="infra/policy/pack",
    help="The policy pack directory passed to preview and up.",
)
def deploy(
    stack: str,
    dry_run: bool,
    bake_seconds: timedelta,
    skip_checks: bool,
    select_only: bool,
    endpoints: Path | None,
    window: str | None,
    source: str | None,
    fail_on: str | None,
    no_data: str | None,
    canary_endpoints: Path | None,
    strategy: str | None,
    only: str | None,
    output_dir: Path | None,
    work_dir: Path | None,
    stacks_dir: Path | None,
    policy_pack: Path,
) -> None:
    """Deploy STACK for CI: preview (policy pack), up, outputs, bake, checks, reports.

    \b
    Exit codes: 0 deployed and checked (--dry-run: preview passed); 2 invalid settings or
    options; 3 mandatory policy violations; 4 preflight (no Pulumi CLI, not logged in);
    5 preview failed; 6 up failed; 7 outputs; 8 checks failed; 9 checks warned (--fail-on
    warn); 10 checks inconclusive; 11 checks could not run; 12 report not written;
    13 checks crashed; 130/143 interrupted (SIGINT/SIGTERM).
    Canary rollout (docs/rollout.md): 0 promoted; 20 rolled back; 21 held (NO_DATA, onNoData:
    hold); 22 a rollback's up failed; 23 an up failed mid-rollout and was rolled back.
    """
    options = DeployOptions(
        stack=stack,
        output_dir=output_dir or Path("out") / "deploy" / stack,
        work_dir=work_dir or project_for_cwd().root,
        stacks_dir=stacks_dir,
        policy_pack=policy_pack.resolve(),
        dry_run=dry_run,
        bake_seconds=bake_seconds.total_seconds(),
        checks=CheckOptions(endpoints=endpoints, window=window, source=source, fail_on=fail_on, no_data=no_data),
        skip_checks=skip_checks,
        create_stack=not select_only,
        strategy=strategy,
    )
    deployment = Deployment(options, echo=click.echo)
    deployment.judge = JudgeOptions(
        canary_endpoints=canary_endpoints, stable_endpoints=endpoints, source=source, window=window, only=only
    )
    report = deployment.run()
    try:
        json_path, markdown_path = write_reports(report, options.output_dir)
    except OSError as error:
        click.echo(f"could not write the deploy report: {error}", err=True)
        sys.exit(report.exit_code or ExitCode.REPORTS)
    click.echo(f"deploy report: {markdown_path} ({json_path.name})")
    code = report.exit_code
    _publish(stack, code, markdown_path)
    click.echo(f"deploy of {stack}: {'passed' if code == ExitCode.OK else f'failed ({code.name.lower()})'}", err=True)
    sys.exit(int(code))
