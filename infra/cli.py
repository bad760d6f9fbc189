"""`fin-infra`: the one command line for plans, checks, load tests, policy and deploys.

Subcommands load lazily (each from the module that owns the behaviour), so `fin-infra plan`
does not pay for the Azure clients the checks import. Exit codes are per command and listed
in each command's help and in the README.
"""

from __future__ import annotations

import importlib

import click

# name -> "module:attribute" of the click command
COMMANDS: dict[str, str] = {
    "plan": "infra.plan.cli:plan",
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


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="fin-agent-infra")
def main() -> None:
    """Fin Agent platform on Azure: offline plans, policy, deploys and post-deploy checks."""
