"""Preconditions: rules over the whole plan that predict a failed or useless first `pulumi up`.

Per-resource rules (`infra.policy.rules`) cannot see that an app pulls with an identity that
holds no AcrPull, or starts before its Key Vault grant, or resolves a private cache through a
DNS zone nobody linked to its network. These rules see every planned resource with the
dependencies the engine recorded (`model`), so the same code runs offline (`evaluate`, for
`fin-infra plan` and `fin-infra policy`) and in `pulumi preview` as CrossGuard stack-validation
policies (`infra.policy.crossguard`).

Mandatory in every stack (dev included), because each one predicts a deploy that fails or
measures nothing:
- `image-pull-grant`, `key-vault-grant` (`grants`);
- `private-dns-linked` (`private_path`);
- `alert-metrics`, `diagnostic-categories` (`telemetry`, against the sourced catalogues in `data/`).
One advisory stack rule rides along: `zone-spread` (`zone_spread`).
"""

from __future__ import annotations

from infra.policy.preconditions import grants, load_testing, private_path, telemetry, zone_spread
from infra.policy.preconditions.model import StackRule

STACK_RULES: tuple[StackRule, ...] = (
    *grants.RULES,
    *private_path.RULES,
    *telemetry.RULES,
    *zone_spread.RULES,
    *load_testing.RULES,
)
PRECONDITIONS: tuple[StackRule, ...] = tuple(rule for rule in STACK_RULES if rule.level == "mandatory")
STACK_RULES_BY_ID = {rule.id: rule for rule in STACK_RULES}
