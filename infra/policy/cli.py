"""`fin-infra policy STACK`: the policy pack over the stack's offline plan.

The same rules `pulumi preview --policy-pack infra/policy/pack` runs, over the resources the
program declares under Pulumi's mock engine (no cloud, no credentials, no Pulumi CLI).
Violations are mandatory in prod and advisory in dev and staging.

The preconditions (rules over the whole plan, mandatory in every stack) run too.

Exit codes: 0 no mandatory violation; 2 the stack's settings (or stack file, target table, or an
option such as an --output or --pack-config that cannot be written) are invalid; 3 mandatory
violations or an unmet precondition.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from checks.cli_options import targets_option
from checks.files import OutputError, write_text
from checks.github import publish_policy
from checks.project import complete_stacks
from checks.targets import TargetsError
from checks.terminal import echo_rendered
from infra.cli_options import output_file_option, stacks_dir_option
from infra.plan.engine.runner import plan_stack
from infra.plan.engine.stackfile import StackFileError, stack_file_label
from infra.policy.crossguard import write_pack_config
from infra.policy.evaluate import evaluate_plan, policy_section
from infra.policy.preconditions.evaluate import evaluate_preconditions, preconditions_section
from infra.policy.render import render_policy_markdown, render_policy_table
from infra.policy.sarif import render_sarif
from infra.settings import SettingsError

EXIT_OK = 0
EXIT_INVALID = 2
EXIT_POLICY = 3


def _render_json(document: dict) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


RENDERERS = {"table": render_policy_table, "json": _render_json, "markdown": render_policy_markdown}


@click.command()
@click.argument("stack", default="dev", shell_complete=complete_stacks)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(sorted([*RENDERERS, "sarif"])),
    default="table",
    show_default=True,
    help="table for people, json for CI, markdown for job summaries, sarif (2.1.0) for code scanning.",
)
@output_file_option
@stacks_dir_option
@targets_option
@click.option(
    "--pack-config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the --policy-pack-config file that pins this stack's enforcement levels for "
    "`pulumi preview --policy-pack infra/policy/pack`.",
)
def policy(
    stack: str,
    output_format: str,
    output: Path | None,
    stacks_dir: Path | None,
    targets_file: Path | None,
    pack_config: Path | None,
) -> None:
    """Check STACK (default: dev) against the policy pack, offline.

    Violations are mandatory in prod, advisory in dev and staging. Exit codes: 0 no
    mandatory violation; 2 invalid settings, stack file or target table; 3 mandatory
    violations.
    """
    try:
        result = plan_stack(stack, stacks_dir=stacks_dir, targets_file=targets_file)
    except (SettingsError, StackFileError, TargetsError) as error:
        click.echo(str(error), err=True)
        sys.exit(EXIT_INVALID)
    report = evaluate_plan(result)
    preconditions = evaluate_preconditions(result)
    document = {
        "schemaVersion": 1,
        "project": "fin-agent",
        "stack": stack,
        "policy": policy_section(report),
        "preconditions": preconditions_section(preconditions),
    }
    stack_file = stack_file_label(stack, stacks_dir)
    renderers = {**RENDERERS, "sarif": lambda doc: render_sarif(doc, stack_file)}
    publish_policy(document, render_policy_markdown(document), stack_file)
    if output:
        text = renderers[output_format](document)
        try:
            write_text(output, text, "--output")
        except OutputError as error:
            click.echo(f"Error: {error}", err=True)
            sys.exit(EXIT_INVALID)
        click.echo(f"policy report of {stack} written to {output}", err=True)
    else:
        echo_rendered(renderers[output_format], output_format, document)
    if pack_config:
        try:
            write_pack_config(report.environment, pack_config)
        except OSError as error:
            click.echo(f"Error: --pack-config {pack_config}: cannot write it ({error.strerror or error})", err=True)
            sys.exit(EXIT_INVALID)
        click.echo(f"policy pack config for {report.environment} written to {pack_config}", err=True)
    click.echo(document["policy"]["verdict"], err=True)
    click.echo(document["preconditions"]["verdict"], err=True)
    sys.exit(EXIT_POLICY if report.mandatory or preconditions.mandatory else EXIT_OK)
