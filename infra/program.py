"""The stack: validated settings in, Azure resources declared, the output contract out.

Data flows one way: settings -> components (one per Azure concern) -> outputs. Outputs are the
contract later tools read (checks, load tests, CI); their shape is documented in the README
("Stack outputs") and checked by tests against `checks.outputs`.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config
from pulumi_azure_native import resources

from checks.targets import TargetTable, load_targets
from infra.components.cache import Cache, CacheArgs
from infra.settings import NAMESPACE, LoadedSettings, RawConfig, load_settings
from infra.tags import PROJECT, standard_tags

OUTPUTS_CONTRACT_VERSION = 1


def read_engine_config() -> RawConfig:
    """The config the Pulumi engine passed this program, and which keys are secrets."""
    values: dict[str, str] = dict(runtime_config.get_config_env())
    values.update(runtime_config.CONFIG.get())
    namespaced = {k: v for k, v in values.items() if k.startswith(f"{NAMESPACE}:")}
    secret_keys = {k for k in namespaced if runtime_config.is_config_secret(k)}
    secret_keys |= set(runtime_config.get_config_secret_keys_env()) & set(namespaced)
    return RawConfig({k: str(v) for k, v in namespaced.items()}, frozenset(secret_keys))


def build(loaded: LoadedSettings, targets: TargetTable) -> dict[str, Any]:
    """Declare every resource of the stack; return the stack outputs."""
    settings = loaded.settings
    tags = standard_tags(settings, loaded.stack)
    group = resources.ResourceGroup(
        "resource-group",
        resource_group_name=loaded.naming.name("resource_group"),
        location=settings.location,
        tags=tags,
    )
    cache = Cache(
        "cache",
        CacheArgs(
            redis=settings.redis,
            environment=settings.environment,
            resource_group_name=group.name,
            location=settings.location,
            naming=loaded.naming,
            tags=tags,
        ),
    )
    return {
        "contractVersion": OUTPUTS_CONTRACT_VERSION,
        "project": PROJECT,
        "stack": loaded.stack,
        "environment": settings.environment,
        "location": settings.location,
        "platform": settings.compute.platform,
        "resourceGroup": {"name": group.name, "id": group.id},
        "cache": cache.stack_output(),
    }


def main() -> None:
    loaded = load_settings(read_engine_config(), pulumi.get_stack())
    for notice in loaded.notices:
        pulumi.log.warn(notice)
    for key, value in build(loaded, load_targets()).items():
        pulumi.export(key, value)
