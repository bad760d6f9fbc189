"""`fin-infra plan STACK...`: what `pulumi up` would create, offline, for one stack or several.

Several stacks (`plan dev staging prod`, or `--all` for every stack file of the project) are
planned in one process, so the Pulumi SDK and azure-native modules are imported once.

Exit codes: 0 planned; 2 the settings (or stack file, target table or an option such as an
--output that cannot be written) of a stack are invalid, and nothing is shown as planned for it;
3 planned (and shown) but the policy pack found mandatory violations (prod) or a precondition of
a first `pulumi up` is unmet (any stack), which `pulumi preview --policy-pack` would also refuse.
With several stacks the exit code is the worst of them (2 over 3 over 0); every stack is still
planned and shown.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from checks.cli_options import targets_option
from checks.files import OutputError, write_text
from checks.github import publish_policy
from checks.project import complete_stacks, project_for_cwd, stack_names
from checks.targets import TargetsError
from checks.terminal import colour_wanted, echo_rendered, width_for
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
@click.argument("stacks", nargs=-1, shell_complete=complete_stacks)
@click.option("--all", "all_stacks", is_flag=True, help="Plan every stack file of the project (stacks/).")
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
    stacks: tuple[str, ...],
    all_stacks: bool,
    output_format: str,
    output: Path | None,
    stacks_dir: Path | None,
    targets_file: Path | None,
) -> None:
    """Show every resource `pulumi up` would create for each STACK (default: dev), offline.

    Runs the Pulumi program under Pulumi's mock engine with the stack file's config: no
    cloud, no credentials, no Pulumi CLI. Secrets are never shown. The policy pack runs over
    the planned resources, and the preconditions over the whole plan; exit code 3 when either
    finds a mandatory violation. Several stacks (or --all) are planned in one process; with
    --format json they come as {"schemaVersion": 1, "stacks": {NAME: plan, ...}}.
    """
    names = _stack_list(stacks, all_stacks, stacks_dir)
    documents: dict[str, dict[str, Any]] = {}
    codes = []
    for stack in names:
        document, code = _plan_one(stack, stacks_dir, targets_file)
        codes.append(code)
        if document is not None:
            documents[stack] = document
    code = EXIT_INVALID if EXIT_INVALID in codes else max(codes)
    if len(names) == 1 and not documents:
        sys.exit(code)
    _show(documents, output_format, output, several=len(names) > 1)
    sys.exit(code)


def _stack_list(stacks: tuple[str, ...], all_stacks: bool, stacks_dir: Path | None) -> list[str]:
    if all_stacks and stacks:
        raise click.UsageError("give STACK names or --all, not both")
    if all_stacks:
        directory = stacks_dir or project_for_cwd().stacks_dir
        found = stack_names(directory)
        if not found:
            raise click.UsageError(f"--all: no Pulumi.<stack>.yaml in {directory}")
        return found
    return list(dict.fromkeys(stacks)) or ["dev"]


def _plan_one(stack: str, stacks_dir: Path | None, targets_file: Path | None) -> tuple[dict[str, Any] | None, int]:
    """One stack's plan document with its policy and preconditions sections, and its exit code."""
    try:
        result = plan_stack(stack, stacks_dir=stacks_dir, targets_file=targets_file)
    except (SettingsError, StackFileError, TargetsError) as error:
        click.echo(str(error), err=True)
        return None, EXIT_INVALID
    report = evaluate_plan(result)
    preconditions = evaluate_preconditions(result)
    sections = {"policy": policy_section(report), "preconditions": preconditions_section(preconditions)}
    document = plan_document(result, extra_sections=sections)
    publish_policy(document, render_markdown(document), stack_file_label(stack, stacks_dir))
    return document, EXIT_POLICY if report.mandatory or preconditions.mandatory else EXIT_OK


def _combined(documents: dict[str, dict[str, Any]], output_format: str, colour: bool, width: int | None) -> str:
    if output_format == "json":
        return json.dumps({"schemaVersion": 1, "stacks": documents}, indent=2, sort_keys=True, default=str) + "\n"
    render = RENDERERS[output_format]
    if output_format == "table":
        return "\n".join(render(document, width=width, colour=colour) for document in documents.values())
    return "\n".join(render(document) for document in documents.values())


def _show(documents: dict[str, dict[str, Any]], output_format: str, output: Path | None, several: bool) -> None:
    stacks = ", ".join(documents) or "no stack"
    if output:
        if several:
            text = _combined(documents, output_format, colour=False, width=None)
        else:
            text = RENDERERS[output_format](next(iter(documents.values())))
        try:
            write_text(output, text, "--output")
        except OutputError as error:
            click.echo(f"Error: {error}", err=True)
            sys.exit(EXIT_INVALID)
        click.echo(f"plan of {stacks} written to {output}", err=True)
    elif several:
        colour = output_format == "table" and colour_wanted(sys.stdout)
        text = _combined(documents, output_format, colour=colour, width=width_for(sys.stdout))
        click.echo(text, nl=False, color=colour)
    else:
        echo_rendered(RENDERERS[output_format], output_format, next(iter(documents.values())))
