"""The plan engine: read a stack file, run the program under Pulumi's mock engine, record resources.

The lower floor of `infra/plan/`: policy and deploy use it; it never imports the policy pack or
the `plan` command.
"""
