"""Offline plan: run the Pulumi program under Pulumi's mock engine and show what it declares.

No cloud, no credentials, no Pulumi CLI: `fin-infra plan STACK` reads the stack file itself,
validates the settings exactly as `pulumi up` would, runs the program with `AzureMocks`, and
renders every resource with the settings that matter.
"""
