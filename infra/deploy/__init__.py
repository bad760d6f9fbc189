"""`fin-infra deploy STACK`: the CI deploy, on Pulumi's Automation API.

Stages, in order (each failing stage has its own exit code, see `stages.ExitCode`):
preflight (the Pulumi CLI is there and logged in) -> settings (the stack file validates
offline; its environment decides the policy levels) -> preview with the policy pack (a dry
run stops here) -> up -> outputs (saved with secrets masked, checked against the contract
the checks read) -> bake (wait) -> checks (`fin-infra check`) -> reports (JSON and Markdown).
"""
