"""Entry point Pulumi runs for `--policy-pack infra/policy/pack`: build the pack and serve it.

`PolicyPack(...)` starts the analyzer server and blocks, which is why it is built only here.
The policies, their levels and the environment they enforce come from `infra.policy.crossguard`.
"""

from pulumi_policy import PolicyPack

from infra.policy.crossguard import pack_arguments

PolicyPack(**pack_arguments())
