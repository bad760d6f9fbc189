"""Read the checks' input files (stack outputs, endpoints) within bounds, as UTF-8, strictly.

The outputs file comes from `pulumi stack output --json` or a CI artifact; the endpoints file is
written by hand. Either may be truncated, re-encoded (UTF-16 by a Windows editor or PowerShell
redirect), or hostile. Every fault becomes an `InputFileError` naming the file and, where there
is one, the line: a size bound, UTF-8 only, JSON without NaN/Infinity (not JSON, and Pulumi never
writes them), duplicate keys refused, and nesting bounded so no parser recursion can blow up.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from checks.strict_yaml import MAX_DEPTH, YamlInputError, decode_utf8, excerpt

MAX_INPUT_BYTES = 4 * 1024 * 1024


class InputFileError(ValueError):
    """An input file cannot be read safely; the message names the file (and line)."""


def read_limited(path: Path, what: str, max_bytes: int = MAX_INPUT_BYTES) -> bytes:
    """The file's bytes; a clean error when it is missing, a directory, unreadable or too large."""
    try:
        if path.is_dir():
            raise InputFileError(f"{path} is a directory, not a {what}")
        size = path.stat().st_size
        if size > max_bytes:
            raise InputFileError(f"{path} is {size} bytes; a {what} may have at most {max_bytes}")
        return path.read_bytes()
    except FileNotFoundError:
        raise InputFileError(f"{path} does not exist") from None
    except OSError as error:
        raise InputFileError(f"{path} cannot be read ({error.strerror or type(error).__name__})") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"the key {excerpt(key, 40)!r} appears twice in one object")
        result[key] = value
    return result


def _depth(text: str) -> int:
    """Deepest bracket nesting outside strings (checked before parsing, so nothing recurses deeply)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def read_json_bytes(data: bytes, source: str) -> Any:
    """Parse JSON from a file's bytes; InputFileError with the line on anything malformed."""
    try:
        text = decode_utf8(data, source)
    except YamlInputError as error:
        raise InputFileError(str(error)) from None
    if _depth(text) > MAX_DEPTH:
        raise InputFileError(f"{source} nests deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(text, parse_constant=_no_constant, object_pairs_hook=_unique)
    except json.JSONDecodeError as error:
        raise InputFileError(f"{source}:{error.lineno}: is not JSON: {error.msg} (column {error.colno})") from None
    except (ValueError, RecursionError) as error:
        raise InputFileError(f"{source}: is not usable JSON: {excerpt(str(error), 120)}") from None
