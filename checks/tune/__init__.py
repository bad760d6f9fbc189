"""`fin-infra tune`: measured load -> recommendations -> a reviewed patch of the stack file.

Reads through the same Azure access as the checks (`checks.sources.azure`), judges against the
same target table, and writes only the stack file (never Azure). It does not import the Pulumi
program; validating a patch runs the plan machinery lazily (`checks.tune.validate`).
"""
