"""`fin-infra loadtest --engine locust|azure`: the options and the run of the engines beside Artillery.

Kept apart from `checks.loadtest.cli` (Artillery's path) so that command changes by one
decorator and one branch. The reports, their file names, the closing line and the exit codes
are those of the Artillery path: 0-3 from the verdicts' policy, 4 a usage error, 5 the engine
missing or failed, 130/143 interrupted (the engine's processes, or the Azure run, stopped first).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from checks.cli import UsageProblem, refuse_directories_as_reports
from checks.files import OutputError, write_text
from checks.interrupts import Interrupted, exit_interrupted, interruptible
from checks.loadtest.azure_engine import MAX_ENGINES
from checks.loadtest.config import LoadTestPlan
from checks.loadtest.engines import AZURE_FILES, ENGINES, LOCUST_FILES, EngineError, run_azure_engine, run_locust_engine
from checks.loadtest.locust_file import LOCUSTFILE_NAME, render_locustfile, write_locust_files
from checks.loadtest.locust_runner import MAX_WORKERS
from checks.model import Policy
from checks.outputs import StackOutputs
from checks.render import FILE_NAMES, RENDERERS

EXIT_ENGINE = 5
HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(:[0-9]{1,5})?$")
REPORT_NAMES = {name: file.replace("check-report", "loadtest-report") for name, file in FILE_NAMES.items()}


class EngineProblem(click.ClickException):
    """The engine is missing or failed: exit 5, as for Artillery."""

    exit_code = EXIT_ENGINE


@dataclass(frozen=True)
class EngineChoice:
    engine: str
    workers: int
    engine_instances: int
    azure_endpoint: str | None
    azure_subnet_id: str | None


def engine_options(command: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option(
            "--engine",
            type=click.Choice(ENGINES),
            default="artillery",
            show_default=True,
            help="Load generator: Artillery on this machine; Locust on this machine (--workers); "
            "Azure Load Testing (the Locust file on --engine-instances engines, in the stack's network).",
        ),
        click.option(
            "--workers",
            type=click.IntRange(0, MAX_WORKERS),
            default=0,
            show_default=True,
            help="--engine locust: 0 runs one headless process; N runs Locust's master and N workers on this host.",
        ),
        click.option(
            "--engine-instances",
            type=click.IntRange(1, MAX_ENGINES),
            default=1,
            show_default=True,
            help="--engine azure: Azure Load Testing engine instances (the rate is shared among them).",
        ),
        click.option(
            "--azure-endpoint",
            help="--engine azure: the resource's data-plane host (stack output loadTesting.dataPlaneUri).",
        ),
        click.option(
            "--azure-subnet-id",
            help="--engine azure: the subnet the engines join (stack output loadTesting.subnetId), "
            "to reach an internal backend.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def check_engine_options(choice: EngineChoice) -> EngineChoice:
    """Each engine's options only with that engine (a usage error names the option); the endpoint as a host."""
    misplaced = {
        "--workers": choice.workers != 0 and choice.engine != "locust",
        "--engine-instances": choice.engine_instances != 1 and choice.engine != "azure",
        "--azure-endpoint": choice.azure_endpoint is not None and choice.engine != "azure",
        "--azure-subnet-id": choice.azure_subnet_id is not None and choice.engine != "azure",
    }
    for option, wrong in misplaced.items():
        if wrong:
            owner = "locust" if option == "--workers" else "azure"
            raise UsageProblem(f"{option} is an option of --engine {owner}, not of --engine {choice.engine}")
    if choice.engine == "azure" and choice.azure_endpoint is not None:
        return EngineChoice(**{**choice.__dict__, "azure_endpoint": data_plane_host(choice.azure_endpoint)})
    return choice


def data_plane_host(value: str | None) -> str:
    """The resource's data-plane host name (an https:// prefix is dropped), or a usage error naming the option."""
    if not value:
        raise UsageProblem("--engine azure needs --azure-endpoint (stack output loadTesting.dataPlaneUri)")
    host = value.removeprefix("https://").rstrip("/")
    if not HOST.match(host):
        raise UsageProblem(
            f"--azure-endpoint {value!r} is not a host name (e.g. <id>.<region>.cnt-prod.loadtesting.azure.com)"
        )
    return host


def _say(line: str) -> None:
    click.echo(line, err=True)


def _write(path: Path, text: str) -> None:
    try:
        write_text(path, text)
    except OutputError as error:
        raise UsageProblem(str(error)) from None


def run_other_engine(
    choice: EngineChoice,
    plan: LoadTestPlan,
    outputs: StackOutputs,
    formats: list[str],
    output_dir: Path | None,
    fail_on: str,
    render_only: bool,
    stack: str,
) -> None:
    """Render, run and judge with Locust or Azure Load Testing; exits with the report's code."""
    generators = max(1, choice.workers) if choice.engine == "locust" else choice.engine_instances
    if render_only:
        if output_dir is None:
            click.echo(render_locustfile(plan, generators), nl=False)
        else:
            write_locust_files(plan, output_dir, generators)
            _say(f"loadtest {stack}: wrote {LOCUSTFILE_NAME} and its CSV to {output_dir}")
        return
    if choice.engine == "azure":
        data_plane_host(choice.azure_endpoint)  # required to run (not to render)
    if output_dir is not None:
        files = LOCUST_FILES if choice.engine == "locust" else AZURE_FILES
        refuse_directories_as_reports(output_dir, [*files, *(REPORT_NAMES[name] for name in formats)])
    _say(f"loadtest {stack}: {choice.engine}, {plan.target_url}, {plan.phases_text()} ({plan.duration_seconds} s)")
    policy = Policy(fail_on=fail_on)  # type: ignore[arg-type]
    try:
        with interruptible():
            report = _run(choice, plan, outputs, policy, output_dir, stack)
    except Interrupted as interrupted:
        exit_interrupted(interrupted, f"loadtest {stack}: {choice.engine} stopped, no verdict")
    except EngineError as error:
        raise EngineProblem(str(error)) from None
    if output_dir is not None:
        for name in formats:
            _write(output_dir / REPORT_NAMES[name], RENDERERS[name](report))
        written = [REPORT_NAMES[name] for name in formats]
        written += [name for name in dict.fromkeys(LOCUST_FILES + AZURE_FILES) if (output_dir / name).exists()]
        _say(
            f"loadtest {stack}: {report.outcome} (exit {report.exit_code}); wrote {', '.join(written)} to {output_dir}"
        )
    else:
        click.echo(RENDERERS[formats[0]](report), nl=False)
        _say(f"loadtest {stack}: {report.outcome} (exit {report.exit_code})")
    sys.exit(report.exit_code)


def _run(
    choice: EngineChoice, plan: LoadTestPlan, outputs: StackOutputs, policy: Policy, output_dir: Path | None, stack: str
) -> Any:
    if choice.engine == "locust":
        return run_locust_engine(plan, outputs, policy, workers=choice.workers, output_dir=output_dir, say=_say)
    from checks.clouds import CLOUDS
    from checks.credentials import select_credential

    # Azure public cloud: the SDK's default audience (cnt-prod.loadtesting.azure.com) is public-cloud only.
    credential = select_credential(CLOUDS["public"].authority_host).build()
    return run_azure_engine(
        plan,
        outputs,
        policy,
        endpoint=str(choice.azure_endpoint),
        credential=credential,
        engines=choice.engine_instances,
        subnet_id=choice.azure_subnet_id,
        output_dir=output_dir,
        say=_say,
    )
