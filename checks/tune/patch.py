"""Write setting changes into `stacks/Pulumi.<stack>.yaml`, keeping its comments and order.

The stack file is read and written with ruamel.yaml's round-trip mode, which keeps comments,
key order, quoting and flow style; only the changed scalars (and any mapping that has to be
created to hold them, appended at the end of its parent) differ. A setting the file does not
state yet (it came from the defaults) is added under its config key, e.g.
`fin-agent:autoscale: {maxReplicas: 14}` as a block mapping. The patch is a unified diff of the
file's text before and after.
"""

from __future__ import annotations

import difflib
import io
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from checks.tune.model import SettingChange

NAMESPACE = "fin-agent"


class PatchError(ValueError):
    """The stack file cannot hold the change (not a mapping where one is needed)."""


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a long line (resource ids)
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _scalar(value: Any) -> Any:
    """2.0 -> 2 (as a person writes it); other values unchanged."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _set(config: CommentedMap, change: SettingChange) -> None:
    head, *rest = change.path.split(".")
    key = f"{NAMESPACE}:{head}"
    if not rest:
        config[key] = _scalar(change.proposed)
        return
    node = config.get(key)
    if node is None:
        node = config[key] = CommentedMap()
    for part in rest[:-1]:
        if not isinstance(node, dict):
            raise PatchError(f"{change.path}: {part!r} is not under a mapping in the stack file")
        child = node.get(part)
        if child is None:
            child = node[part] = CommentedMap()
        node = child
    if not isinstance(node, dict):
        raise PatchError(f"{change.path}: the stack file holds a non-mapping where a mapping is needed")
    node[rest[-1]] = _scalar(change.proposed)


def patched_text(original: str, changes: list[SettingChange], source: str = "stack file") -> str:
    """The stack file's text with every change applied (comments and order kept)."""
    if not changes:
        return original
    yaml = _yaml()
    document = yaml.load(original)
    if not isinstance(document, dict):
        raise PatchError(f"{source} is not a mapping with a 'config' key")
    config = document.get("config")
    if config is None:
        config = document["config"] = CommentedMap()
    if not isinstance(config, dict):
        raise PatchError(f"{source}: 'config' is not a mapping")
    for change in changes:
        _set(config, change)
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()


def unified_diff(original: str, patched: str, path: Path | str) -> str:
    name = str(path)
    lines = difflib.unified_diff(
        original.splitlines(keepends=True), patched.splitlines(keepends=True), f"a/{name}", f"b/{name}"
    )
    return "".join(lines)
