"""Every rule of the fin-agent policy pack, one module per pillar.

Rule ids are stable (they are the policy names in `pulumi preview` output and in
`--policy-pack-config` files); the rules table in docs/plan-and-policy.md is checked against `RULES` by a test.
"""

from __future__ import annotations

from infra.policy.model import Rule
from infra.policy.rules import operations, performance, reliability, security

RULES: tuple[Rule, ...] = (*security.RULES, *reliability.RULES, *performance.RULES, *operations.RULES)
RULES_BY_ID: dict[str, Rule] = {rule.id: rule for rule in RULES}

if len(RULES_BY_ID) != len(RULES):  # pragma: no cover (a programming error, caught at import)
    raise RuntimeError("duplicate policy rule ids")
