"""Save the stack outputs for the checks, with every secret output masked.

The file has exactly the shape of `pulumi stack output --json` (without `--show-secrets`):
one JSON object, a secret output replaced by Pulumi's own mask `"[secret]"`. So it is safe to
keep as a CI artifact, and the checks read it with `checks.outputs.read_outputs_file` as they
would read the CLI's output. It is written owner-only (0600) all the same.

The contract the checks need (`checks.outputs.StackOutputs`) holds no secrets: ids, host
names, sizes. An output the contract needs that the program marked secret arrives masked and
fails the contract check here, naming the key, before any check runs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from checks.outputs import OutputsError, StackOutputs, parse_outputs

SECRET_MASK = "[secret]"
CONTRACT_KEYS = frozenset(field.alias or name for name, field in StackOutputs.model_fields.items())


def masked(outputs: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Outputs as `{key: value}` with secret ones masked, and the secret keys.

    `outputs` maps a key to an Automation API `OutputValue` (`.value`, `.secret`).
    """
    plain: dict[str, Any] = {}
    secret_keys: list[str] = []
    for key, output in sorted(outputs.items()):
        if output.secret:
            plain[key] = SECRET_MASK
            secret_keys.append(key)
        else:
            plain[key] = output.value
    return plain, secret_keys


def save_outputs(outputs: Mapping[str, Any], path: Path) -> list[str]:
    """Write the masked outputs to `path` (0600); return the keys that were masked."""
    plain, secret_keys = masked(outputs)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(plain, file, indent=2, sort_keys=True)
        file.write("\n")
    os.chmod(path, 0o600)
    return secret_keys


def contract_problem(plain: Mapping[str, Any], secret_keys: list[str], source: str) -> str | None:
    """Why the outputs do not serve the checks, or None."""
    try:
        parse_outputs(dict(plain), source)
    except OutputsError as error:
        needed = [key for key in secret_keys if key in CONTRACT_KEYS]
        hint = f" (secret, so masked: {', '.join(needed)}; the checks need them in plain text)" if needed else ""
        return f"{error}{hint}"
    return None
