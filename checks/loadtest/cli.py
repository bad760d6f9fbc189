"""`fin-infra loadtest STACK`: the guide's Artillery load test against a stack, judged like the checks.

`--engine locust|azure` hands the same plan to `checks.loadtest.engine_cli` (Locust, Azure Load
Testing); everything below is Artillery's path.

Reads the stack outputs as `fin-infra check` does (`--outputs FILE`, or `pulumi stack output
--json --show-secrets`), renders the Artillery config (`--render-only` stops there), runs the
pinned Artillery and judges its JSON report with the target table's numbers.

Exit codes: 0 passed; 1 warnings, with `--fail-on warn`; 2 a limit failed; 3 inconclusive (no
response or no virtual user to judge); 4 the load test could not be configured (bad option,
unreadable outputs, payload or table, no API endpoint in the outputs); 5 Artillery is not
installed or did not run to the end (the message says how to install it: `make setup-checks`);
130 interrupted by Ctrl-C (SIGINT), 143 by SIGTERM: Artillery's process group is killed and the
temporary directory removed before the exit. A run stopped early by the watchdog
(`checks.loadtest.watchdog`) is judged from the periods read so far and says why it stopped.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from checks.cli import (
    CheckCommand,
    UsageProblem,
    read_input,
    refuse_directories_as_reports,
    stack_outputs_from_pulumi,
)
from checks.cli_options import fail_on_option, outputs_file_option, report_formats_option, targets_option
from checks.endpoints import Endpoints, EndpointsError, read_endpoints
from checks.files import OutputError, prepare_output_dir, write_text
from checks.github import publish_report
from checks.interrupts import Interrupted, exit_interrupted, interruptible
from checks.loadtest.artillery import GRACE_SECONDS, ArtilleryError, ArtilleryRun, find_artillery, run_artillery
from checks.loadtest.config import (
    SAMPLE_PAYLOAD,
    LoadTestError,
    LoadTestPlan,
    ensure_strictness,
    plan_load_test,
    render_config,
)
from checks.loadtest.engine_cli import EngineChoice, check_engine_options, engine_options, run_other_engine
from checks.loadtest.report import ArtilleryReportError, loadtest_report, read_artillery_report
from checks.loadtest.watchdog import Watchdog
from checks.model import Policy
from checks.outputs import OutputsError, read_outputs_file
from checks.progress import progress
from checks.project import complete_stacks
from checks.render import FILE_NAMES, RENDERERS
from checks.targets import TargetsError, load_targets
from checks.terminal import echo_rendered

EXIT_ARTILLERY = 5
CONFIG_NAME = "artillery.yml"
ARTILLERY_REPORT_NAME = "artillery-report.json"
REPORT_NAMES = {name: file.replace("check-report", "loadtest-report") for name, file in FILE_NAMES.items()}


class ArtilleryProblem(click.ClickException):
    """Artillery is missing or failed: exit 5, distinct from every verdict and from a usage error."""

    exit_code = EXIT_ARTILLERY


@click.command(cls=CheckCommand)
@click.argument("stack", shell_complete=complete_stacks)
@outputs_file_option
@click.option(
    "--endpoints",
    "endpoints_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Endpoints file of the checks; its services.backend.url overrides the stack output (e.g. an internal URL).",
)
@click.option(
    "--payload",
    "payload_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=SAMPLE_PAYLOAD,
    show_default="checks/loadtest/sample-users.csv",
    help="CSV of user ids for GET /api/portfolio/{userId}: a 'userId' header, one id a line.",
)
@click.option(
    "--scale",
    type=click.FloatRange(min=0, max=1, min_open=True),
    default=1.0,
    show_default=True,
    help="Multiply the guide's phase durations and arrival rates (each at least 1) for a short smoke run.",
)
@click.option("--render-only", is_flag=True, help="Print (or write to --output-dir) the Artillery config; run nothing.")
@click.option(
    "--artillery",
    "artillery_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Artillery executable (default: node_modules/.bin/artillery, installed by `make setup-checks`).",
)
@report_formats_option
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write the reports (loadtest-report.*), the config and Artillery's JSON report here instead of stdout.",
)
@fail_on_option
@targets_option
@engine_options  # --engine, --workers, --engine-instances, --azure-endpoint, --azure-subnet-id (issue 19)
def loadtest(
    stack: str,
    outputs_file: Path | None,
    endpoints_file: Path | None,
    payload_file: Path,
    scale: float,
    render_only: bool,
    artillery_path: Path | None,
    formats: list[str],
    output_dir: Path | None,
    fail_on: str,
    targets_file: Path | None,
    engine: str = "artillery",
    workers: int = 0,
    engine_instances: int = 1,
    azure_endpoint: str | None = None,
    azure_subnet_id: str | None = None,
) -> None:
    """Run the performance guide's Artillery load test against STACK and judge it by the target table.

    Phases 60 s at 10 arrivals/s, 120 s at 50, 60 s at 10 (times --scale); each virtual user
    requests GET /health, GET /api/portfolio/{userId} and POST /api/market-data. Latency and
    error rate get PASS, WARN, FAIL or NO_DATA with the table's thresholds. Exit codes: 0 passed,
    1 warnings (with --fail-on warn), 2 failed, 3 inconclusive, 4 could not be configured,
    5 Artillery missing or failed, 130/143 interrupted (SIGINT/SIGTERM). A run clearly past
    critical is stopped early and judged from what Artillery reported until then.
    --engine locust (--workers N) or azure (--engine-instances N) runs the same scenario with
    Locust or Azure Load Testing, judged and reported the same way (docs/load-engines.md).
    """
    if len(formats) > 1 and output_dir is None:
        raise UsageProblem(f"{len(formats)} formats need --output-dir (one file each)")
    try:
        table = load_targets(targets_file)
        outputs = read_input(read_outputs_file, outputs_file, "--outputs") if outputs_file else None
        outputs = outputs or stack_outputs_from_pulumi(stack)
        endpoints = read_input(read_endpoints, endpoints_file, "--endpoints") if endpoints_file else Endpoints()
        if outputs.stack != stack:
            raise UsageProblem(f"the outputs are of stack {outputs.stack!r}, not {stack!r}")
        plan = plan_load_test(outputs, table, payload_path=payload_file, scale=scale, endpoints=endpoints)
        config_text = render_config(plan)
        if output_dir is not None:
            prepare_output_dir(output_dir)
            names = [CONFIG_NAME, ARTILLERY_REPORT_NAME, *(REPORT_NAMES[name] for name in formats)]
            refuse_directories_as_reports(output_dir, names)
    except (TargetsError, OutputsError, EndpointsError, LoadTestError, OutputError) as error:
        raise UsageProblem(str(error)) from None

    choice = check_engine_options(EngineChoice(engine, workers, engine_instances, azure_endpoint, azure_subnet_id))
    if choice.engine != "artillery":  # Locust and Azure Load Testing: checks.loadtest.engine_cli
        run_other_engine(choice, plan, outputs, formats, output_dir, fail_on, render_only, stack)
        return
    if render_only:
        if output_dir is None:
            click.echo(config_text, nl=False)
        else:
            _write(output_dir / CONFIG_NAME, config_text)
            click.echo(f"loadtest {stack}: wrote {CONFIG_NAME} to {output_dir}", err=True)
        return

    try:
        executable = find_artillery(artillery_path)
    except ArtilleryError as error:
        raise ArtilleryProblem(str(error)) from None
    try:
        phases = f"load test: Artillery phases {plan.phases_text()}"
        with interruptible(), progress(phases, plan.duration_seconds):
            run, data = _run(plan, executable, output_dir, config_text, stack)
    except Interrupted as interrupted:
        exit_interrupted(interrupted, f"loadtest {stack}: Artillery stopped, no verdict")
    criteria = table.load_test.criteria if table.load_test else ()
    report = loadtest_report(plan, outputs, run, data, Policy(fail_on=fail_on), criteria)  # type: ignore[arg-type]
    publish_report(report, "loadtest")
    if output_dir is not None:
        for name in formats:
            _write(output_dir / REPORT_NAMES[name], RENDERERS[name](report))
        written = [*(REPORT_NAMES[name] for name in formats), CONFIG_NAME]
        if (output_dir / ARTILLERY_REPORT_NAME).exists():
            written.append(ARTILLERY_REPORT_NAME)
        click.echo(
            f"loadtest {stack}: {report.outcome} (exit {report.exit_code}); wrote {', '.join(written)} to {output_dir}",
            err=True,
        )
    else:
        echo_rendered(RENDERERS[formats[0]], formats[0], report)
        click.echo(f"loadtest {stack}: {report.outcome} (exit {report.exit_code})", err=True)
    sys.exit(report.exit_code)


def _run(
    plan: LoadTestPlan, executable: Path, output_dir: Path | None, config_text: str, stack: str
) -> tuple[ArtilleryRun, dict[str, Any]]:
    """Write the config, run Artillery under the watchdog, read its report (or the periods read before an abort)."""
    watchdog = Watchdog(plan.latency.thresholds, plan.error_rate.thresholds)
    with tempfile.TemporaryDirectory(prefix="fin-loadtest-") as scratch:
        work = output_dir or Path(scratch)
        config_path = work / CONFIG_NAME
        _write(config_path, config_text)
        click.echo(
            f"loadtest {stack}: {plan.target_url}, {plan.phases_text()} "
            f"({plan.duration_seconds} s), {plan.payload.user_ids} user ids",
            err=True,
        )
        try:
            run = run_artillery(
                executable,
                config_path.resolve(),
                (work / ARTILLERY_REPORT_NAME).resolve(),
                timeout_seconds=plan.duration_seconds + GRACE_SECONDS,
                ensure_strictness=ensure_strictness(plan),
                progress=lambda line: click.echo(f"  artillery | {line}", err=True),
                watchdog=watchdog.feed,
            )
            if run.aborted:
                click.echo(f"loadtest {stack}: {run.aborted}; Artillery stopped", err=True)
                return run, watchdog.report_data()
            return run, read_artillery_report(run.report_path)
        except (ArtilleryError, ArtilleryReportError) as error:
            raise ArtilleryProblem(str(error)) from None


def _write(path: Path, text: str) -> None:
    try:
        write_text(path, text)
    except OutputError as error:
        raise UsageProblem(str(error)) from None
