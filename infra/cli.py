"""`fin-infra`: the one command line for plans, checks, load tests, policy and deploys.

Subcommands load lazily (each from the module that owns the behaviour), so `fin-infra plan`
does not pay for the Azure clients the checks import. Exit codes are per command and listed
in each command's help and in docs/exit-codes.md; every command exits 130 after SIGINT (Ctrl-C)
and 143 after SIGTERM.
"""

from __future__ import annotations

import importlib

import click

from checks.interrupts import Interrupted, interruptible
from checks.project import INSTALLED_ROOT, project_for_cwd

# name -> "module:attribute" of the click command
COMMANDS: dict[str, str] = {
    "plan": "infra.plan.command.cli:plan",
    "policy": "infra.policy.cli:policy",
    "deploy": "infra.deploy.cli:deploy",
    "check": "checks.cli:check",
    "loadtest": "checks.loadtest.cli:loadtest",
    "tune": "checks.tune.cli:tune",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        return getattr(importlib.import_module(module_name), attribute)

    def invoke(self, ctx: click.Context) -> object:
        """SIGINT/SIGTERM in any command: unwind (clean-up runs), then exit 130/143, not click's 'Aborted!' 1."""
        try:
            with interruptible():
                return super().invoke(ctx)
        except Interrupted as stop:
            click.echo(f"fin-infra {ctx.invoked_subcommand or ''}: interrupted by {stop.name}", err=True)
            ctx.exit(stop.exit_code)


def _say_which_project() -> None:
    """One stderr line when the project is not the installed checkout, or there is no project here."""
    project = project_for_cwd()
    if project.how != "current directory" or project.root != INSTALLED_ROOT:
        click.echo(f"fin-infra: {project.describe()}", err=True)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="fin-agent-infra")
def main() -> None:
    """Fin Agent platform on Azure: offline plans, policy, deploys and post-deploy checks.

    Works on the Pulumi project found from the current directory (Pulumi.yaml here or above),
    as `pulumi` does; outside any project, on the checkout fin-infra was installed from.
    """
    if click.get_current_context().invoked_subcommand in COMMANDS:
        _say_which_project()
