"""The `fin-infra plan` command: CLI and rendering, on top of the engine and the policy pack.

The upper floor of `infra/plan/`: nothing under `infra/policy/`, `infra/deploy/` or the engine
imports it.
"""
