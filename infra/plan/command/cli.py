"""`fin-infra plan STACK`: what `pulumi up` would create, offline.

Exit codes: 0 planned; 2 the stack's settings (or stack file, target table or an option such as an
--output that cannot be written) are invalid,
and nothing is shown as planned; 3 planned (and shown) but the policy pack found mandatory
violations (prod) or a precondition of a first `pulumi up` is unmet (any stack), which
`pulumi preview --policy-pack` would also refuse.
"""

from __future__ import annotations

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
from infra.plan.command.render import RENDERERS, plan_document, render_markdown
from infra.plan.engine.runner import plan_stack
from infra.plan.engine.stackfile import StackFileError, stack_file_label
from infra.policy.evaluate import evaluate_plan, policy_section
from infra.policy.preconditions.evaluate import evaluate_preconditions, preconditions_section
from infra.settings import SettingsError

EXIT_OK = 0
EXIT_INVALID = 2
EXIT_POLICY = 3


@click.command()
@click.argument("stack", default="dev", shell_complete=complete_stacks)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(sorted(RENDERERS)),
    default="table",
    show_default=True,
    help="table for people, json for CI diffs (stable, documented), markdown for job summaries.",
)
@output_file_option
@stacks_dir_option
@targets_option
def plan(
    stack: str, output_format: str, output: Path | None, stacks_dir: Path | None, targets_file: Path | None
) -> None:
    """Show every resource `pulumi up` would create for STACK (default: dev), offline.

    Runs the Pulumi program under Pulumi's mock engine with the stack file's config: no
    cloud, no credentials, no Pulumi CLI. Secrets are never shown. The policy pack runs over
    the planned resources, and the preconditions over the whole plan; exit code 3 when either
    finds a mandatory violation.
    """
    try:
        result = plan_stack(stack, stacks_dir=stacks_dir, targets_file=targets_file)
    except (SettingsError, StackFileError, TargetsError) as error:
        click.echo(str(error), err=True)
        sys.exit(EXIT_INVALID)
    report = evaluate_plan(result)
    preconditions = evaluate_preconditions(result)
    sections = {"policy": policy_section(report), "preconditions": preconditions_section(preconditions)}
    document = plan_document(result, extra_sections=sections)
    publish_policy(document, render_markdown(document), stack_file_label(stack, stacks_dir))
    if output:
        text = RENDERERS[output_format](document)
        try:
            write_text(output, text, "--output")
        except OutputError as error:
            click.echo(f"Error: {error}", err=True)
            sys.exit(EXIT_INVALID)
        click.echo(f"plan of {stack} written to {output}", err=True)
    else:
        echo_rendered(RENDERERS[output_format], output_format, document)
    sys.exit(EXIT_POLICY if report.mandatory or preconditions.mandatory else EXIT_OK)
