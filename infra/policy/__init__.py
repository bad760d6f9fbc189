"""Guardrails: one set of rules, run offline on the mock-engine plan and for real in `pulumi preview`.

- `model`: what a rule is and what it sees (a resource's type, name and inputs as the engine
  receives them, plus the stack's context), and how to read properties safely.
- `rules`: the rules, one module per pillar (security, reliability, performance, operations).
- `evaluate`: runs the rules over a plan's resources (`fin-infra plan`, `fin-infra policy`).
- `preconditions`: rules over the whole plan (grants, ordering, private DNS, the metric and
  diagnostic-category catalogues) that predict a failed first `pulumi up`; mandatory in every
  stack, run offline and as stack-validation policies in the pack.
- `pack`: adapts the same rules to `pulumi_policy` for `pulumi preview --policy-pack
  infra/policy/pack`; the pack directory only builds the `PolicyPack` (which blocks).

Enforcement is mandatory in prod and advisory elsewhere (see `enforcement`).
"""
