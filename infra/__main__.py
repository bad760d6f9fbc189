"""Entry point Pulumi runs (`main: infra/`): read settings, declare the stack, export outputs."""

from infra.program import main

main()
