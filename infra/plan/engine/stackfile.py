"""Read `stacks/Pulumi.<stack>.yaml` into the raw config the Pulumi engine would hand the program.

Pulumi passes config as strings (objects JSON-encoded) and lists the keys stored as secrets.
This reader does the same from the YAML file, without the CLI, reading the YAML as Pulumi does
(`checks.strict_yaml`: yaml.v3's scalars, no duplicate or non-text keys, bounded size, depth
and aliases). It cannot decrypt: a `secure:` value becomes a placeholder and its key is marked
secret, so plans never hold (or show) a secret. See docs/stack-files.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from checks.inputfiles import InputFileError, read_limited
from checks.project import project_for_cwd, project_relative
from checks.strict_yaml import MAX_BYTES, YamlInputError, excerpt, read_yaml
from infra.settings import NAMESPACE, RawConfig

SECRET_PLACEHOLDER = "[secret]"


class StackFileError(ValueError):
    """The stack file is missing or is not a Pulumi stack file."""


def available_stacks(stacks_dir: Path) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in stacks_dir.glob("Pulumi.*.yaml"))


def stack_file_path(stack: str, stacks_dir: Path) -> Path:
    return stacks_dir / f"Pulumi.{stack}.yaml"


def stack_file_label(stack: str, stacks_dir: Path | None = None) -> str:
    """STACK's file relative to the project root, as annotations and SARIF name it."""
    project = project_for_cwd()
    return project_relative(stack_file_path(stack, stacks_dir or project.stacks_dir), project.root)


def _secure_problem(value: Any) -> str | None:
    """Why a mapping using the reserved `secure` key is not a secret Pulumi would read, if it is not.

    Pulumi reads a mapping as a secret only when its one key is `secure` and its value is text
    (`isSecureValue`, pulumi/pulumi `sdk/go/common/resource/config/object.go`); `{secure: 123}` or
    `{secure: x, other: y}` would be deployed as a plain object, in the clear.
    """
    if not isinstance(value, dict) or "secure" not in value:
        return None
    if set(value) != {"secure"}:
        return "a mapping with a 'secure' key must have no other key (Pulumi would store it in plain text)"
    if not isinstance(value["secure"], str) or not value["secure"]:
        return (
            "'secure' must hold the ciphertext `pulumi config set --secret` writes; any other value is "
            "deployed in plain text by Pulumi"
        )
    return None


def _replace_secure(value: Any, path: str, problems: list[tuple[str, str]]) -> tuple[Any, bool]:
    """The value with every `secure:` leaf replaced by a placeholder, and whether one was found."""
    problem = _secure_problem(value)
    if problem:
        problems.append((path, problem))
        return None, False
    if isinstance(value, dict) and set(value) == {"secure"}:
        return SECRET_PLACEHOLDER, True
    if isinstance(value, dict):
        found = False
        out = {}
        for key, item in value.items():
            out[key], item_found = _replace_secure(item, f"{path}.{key}", problems)
            found = found or item_found
        return out, found
    if isinstance(value, list):
        found = False
        items = []
        for index, item in enumerate(value):
            replaced, item_found = _replace_secure(item, f"{path}[{index}]", problems)
            items.append(replaced)
            found = found or item_found
        return items, found
    return value, False


def _go_float(value: float) -> str:
    """A float as Go's encoding/json writes it (what Pulumi hands the program): 2.0 -> "2"."""
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return repr(value)


def _as_config_string(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, allow_nan=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _go_float(value)
    return str(value)


def _full_key(key: str) -> str | None:
    """The namespaced key as Pulumi reads it (`ParseKey`), or None when Pulumi would refuse it."""
    parts = key.split(":")
    if len(parts) == 1:
        return f"{NAMESPACE}:{key}"
    if len(parts) == 2 and all(parts):
        return key
    if len(parts) == 3 and parts[1] == "config" and parts[0] and parts[2]:
        return f"{parts[0]}:{parts[2]}"
    return None


def raw_config_from_mapping(
    config: dict[str, Any], source: str | None = None, lines: dict[str, int] | None = None
) -> RawConfig:
    """Config map as written in a stack file (`fin-agent:key: value`) -> engine-style RawConfig.

    Keys without a namespace belong to the project (Pulumi's `stackConfigNamespacedWithProject`).
    Values Pulumi would read differently from what the file seems to say are refused here with
    the key and line: a key with no value (Pulumi warns and passes an empty string), a malformed
    `secure:` value, the same key written with and without its namespace.
    """
    lines = lines or {}
    values: dict[str, str] = {}
    secret_keys: set[str] = set()
    positions: dict[str, int] = {}
    problems: list[tuple[str, str]] = []
    written_as: dict[str, str] = {}
    for key, value in config.items():
        full_key = _full_key(key)
        if full_key is None:
            problems.append((key, "is not a config key: write `name` or `namespace:name`"))
            continue
        if full_key in written_as:
            first = written_as[full_key]
            problems.append((key, f"is the same config key as '{first}' (line {lines.get(first, '?')}); keep one"))
            continue
        written_as[full_key] = key
        if value is None:
            problems.append(
                (key, "has no value; Pulumi would pass an empty string: write the value, or remove the key")
            )
            continue
        replaced, is_secret = _replace_secure(value, key, problems)
        values[full_key] = _as_config_string(replaced)
        if is_secret:
            secret_keys.add(full_key)
        short = full_key[len(NAMESPACE) + 1 :] if full_key.startswith(f"{NAMESPACE}:") else full_key
        for path, line in lines.items():
            if path == key or path.startswith((f"{key}.", f"{key}[")):
                positions[short + path[len(key) :]] = line
    if problems:
        where = source or "stack config"
        shown = [f"  - {where}:{lines.get(path, '?')}: {excerpt(path, 80)}: {message}" for path, message in problems]
        raise StackFileError(f"{where} cannot be read as Pulumi reads it:\n" + "\n".join(shown))
    return RawConfig(values, frozenset(secret_keys), source=source, lines=positions)


def read_stack_file(stack: str, stacks_dir: Path | None = None) -> RawConfig:
    directory = stacks_dir or project_for_cwd().stacks_dir
    path = stack_file_path(stack, directory)
    if not path.is_file():
        known = ", ".join(available_stacks(directory)) or "none"
        raise StackFileError(f"no stack file {path} (stacks in {directory}: {known})")
    try:
        document = read_yaml(read_limited(path, "stack file", MAX_BYTES), str(path))
    except InputFileError as error:
        raise StackFileError(str(error)) from None
    except YamlInputError as error:
        key = error.key[len("config.") :] if error.key and error.key.startswith("config.") else error.key
        where = f"{path}:{error.line}" if error.line else str(path)
        raise StackFileError(f"{where}: {key}: {error.detail}" if key else f"{where}: {error.detail}") from None
    data = document.value if document.value is not None else {}
    if not isinstance(data, dict):
        raise StackFileError(f"{path}:1: must be a mapping with a 'config' key")
    config = data.get("config")
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise StackFileError(f"{path}:{document.lines.get('config', 1)}: config: must be a mapping of config keys")
    lines = {p[len("config.") :]: n for p, n in document.lines.items() if p.startswith("config.")}
    return raw_config_from_mapping(config, str(path), lines)
