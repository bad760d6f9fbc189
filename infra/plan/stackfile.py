"""Read `stacks/Pulumi.<stack>.yaml` into the raw config the Pulumi engine would hand the program.

Pulumi passes config as strings (objects JSON-encoded) and lists the keys stored as secrets.
This reader does the same from the YAML file, without the CLI. It cannot decrypt: a
`secure:` value becomes a placeholder and its key is marked secret, so plans never hold (or
show) a secret.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from infra.paths import STACKS_DIR
from infra.settings import NAMESPACE, RawConfig

SECRET_PLACEHOLDER = "[secret]"


class StackFileError(ValueError):
    """The stack file is missing or is not a Pulumi stack file."""


def available_stacks(stacks_dir: Path) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in stacks_dir.glob("Pulumi.*.yaml"))


def stack_file_path(stack: str, stacks_dir: Path) -> Path:
    return stacks_dir / f"Pulumi.{stack}.yaml"


def _is_secure(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"secure"}


def _replace_secure(value: Any) -> tuple[Any, bool]:
    """The value with every `secure:` leaf replaced by a placeholder, and whether one was found."""
    if _is_secure(value):
        return SECRET_PLACEHOLDER, True
    if isinstance(value, dict):
        found = False
        out = {}
        for key, item in value.items():
            out[key], item_found = _replace_secure(item)
            found = found or item_found
        return out, found
    if isinstance(value, list):
        found = False
        items = []
        for item in value:
            replaced, item_found = _replace_secure(item)
            items.append(replaced)
            found = found or item_found
        return items, found
    return value, False


def _as_config_string(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def raw_config_from_mapping(config: dict[str, Any]) -> RawConfig:
    """Config map as written in a stack file (`fin-agent:key: value`) -> engine-style RawConfig."""
    values: dict[str, str] = {}
    secret_keys: set[str] = set()
    for key, value in config.items():
        full_key = key if ":" in key else f"{NAMESPACE}:{key}"
        replaced, is_secret = _replace_secure(value)
        values[full_key] = _as_config_string(replaced)
        if is_secret:
            secret_keys.add(full_key)
    return RawConfig(values, frozenset(secret_keys))


def read_stack_file(stack: str, stacks_dir: Path | None = None) -> RawConfig:
    directory = stacks_dir or STACKS_DIR
    path = stack_file_path(stack, directory)
    if not path.is_file():
        known = ", ".join(available_stacks(directory)) or "none"
        raise StackFileError(f"no stack file {path} (stacks in {directory}: {known})")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise StackFileError(f"{path} is not valid YAML: {error}") from error
    if not isinstance(document, dict):
        raise StackFileError(f"{path} must be a mapping with a 'config' key")
    config = document.get("config") or {}
    if not isinstance(config, dict):
        raise StackFileError(f"{path}: 'config' must be a mapping")
    return raw_config_from_mapping(config)
