"""Read YAML the way Pulumi's Go YAML library (gopkg.in/yaml.v3) reads it, within bounds.

Stack files are read by Pulumi with yaml.v3 (pulumi/pulumi `sdk/go/common/encoding/marshal.go`),
not with a YAML 1.1 reader such as PyYAML's default resolver. The two disagree on plain
scalars: PyYAML reads `yes`/`on` as booleans, `2026-01-01` as a date, `1:20` as 80; yaml.v3
reads all three as text (a timestamp decoded into an untyped value stays a string, yaml.v3
`decode.go`). Both read `0750` as the octal 488 (yaml.v3 `resolve.go` hands the text to Go's
`strconv.ParseInt(s, 0, 64)`), which is never what a person writing `costCenter: 0750` meant.
So this reader resolves plain scalars as yaml.v3 does and refuses, naming line and key, what a
person and Pulumi would read differently:

- numbers with a leading zero, `0x`/`0o`/`0b` prefixes or `_` separators (quote them);
- `.inf`/`.nan` and numbers beyond 64 bits (Pulumi's JSON encoding cannot hold them);
- explicit tags other than the core ones (`!!binary`, `!!timestamp`, `!!set`, `!python/...`);
- keys that are not text (`1:`, `true:`, `null:`), which Pulumi refuses ("expected only string
  keys", `SimplifyMarshalledValue` in `sdk/go/common/workspace/project.go`);
- duplicate keys in one mapping (yaml.v3: "mapping key ... already defined at line N").

It also bounds what hostile input can cost: the file's size, nesting depth, and the number of
nodes after alias expansion (an alias bomb is refused before it is expanded), and it never
echoes more than a short excerpt of a value. Files must be UTF-8 (a UTF-8 BOM is skipped, as
Pulumi's `readFileStripUTF8BOM` does); UTF-16/32 and invalid bytes are refused with the line.

Used for stack files (`infra/plan/engine/stackfile.py`) and the checks' endpoints file.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 50_000
EXCERPT = 60

_CORE = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = (f"{_CORE}{t}" for t in ("str", "int", "float", "bool", "null"))
_MAP, _SEQ = f"{_CORE}map", f"{_CORE}seq"
_NULLS = {"", "~", "null", "Null", "NULL"}
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_SPECIAL_FLOATS = {s for base in ("inf", "Inf", "INF") for s in (f".{base}", f"+.{base}", f"-.{base}")} | {
    ".nan",
    ".NaN",
    ".NAN",
}
_DECIMAL = re.compile(r"^[-+]?(0|[1-9][0-9]*)$")
# yaml.v3 `yamlStyleFloat`
_FLOAT_RE = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
# What Go's strconv.ParseInt(s, 0, 64) would also read as an integer, after yaml.v3 drops `_`.
_GO_INT = re.compile(r"^[-+]?(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|0[0-9_]+|[0-9][0-9_]*)$")
_INT64 = 2**63


def excerpt(value: Any, limit: int = EXCERPT) -> str:
    """`value` as text, cut to `limit` characters, with control characters made visible."""
    text = value if isinstance(value, str) else repr(value)
    text = text.encode("unicode_escape", "backslashreplace").decode("ascii") if not text.isprintable() else text
    return text if len(text) <= limit else text[: limit - 1] + "…"


class YamlInputError(ValueError):
    """The YAML cannot be read safely or unambiguously: names the source, line and key."""

    def __init__(self, source: str, message: str, line: int | None = None, key: str | None = None) -> None:
        self.source, self.line, self.key, self.detail = source, line, key, message
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {key}: {message}" if key else f"{where}: {message}")


@dataclass
class YamlDocument:
    value: Any
    # dotted key path ("services.backend.port", "receivers.emails[0]") -> 1-based line
    lines: dict[str, int] = field(default_factory=dict)


def tag_name(tag: str) -> str:
    return excerpt("!!" + tag[len(_CORE) :] if tag.startswith(_CORE) else tag, 40)


def join_path(path: tuple[Any, ...]) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            part = excerpt(part, 64)
            text += f".{part}" if text else part
    return text


class _NoResolver(BaseResolver):
    """Leave every node's tag as written (or empty); `_Converter` resolves them as yaml.v3 does."""

    def resolve(self, kind, value, implicit):  # type: ignore[override]
        if kind is ScalarNode:
            return _STR if not implicit[0] else ""
        return _SEQ if kind is SequenceNode else _MAP


class _DepthError(Exception):
    def __init__(self, mark: Any, path: tuple[Any, ...]) -> None:
        self.mark, self.path = mark, path


class _Loader(Reader, Scanner, Parser, Composer, _NoResolver):
    """PyYAML's reader, scanner, parser and composer with a depth bound; no constructor."""

    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        _NoResolver.__init__(self)
        self._path: list[Any] = []

    def compose_node(self, parent, index):  # type: ignore[override]
        part = index.value if isinstance(index, ScalarNode) else ("?" if index is not None else None)
        if parent is not None:
            if isinstance(parent, SequenceNode):
                part = len(parent.value)
            self._path.append(part)
        try:
            if len(self._path) > MAX_DEPTH:
                raise _DepthError(self.peek_event().start_mark, tuple(self._path))
            return super().compose_node(parent, index)
        finally:
            if parent is not None:
                self._path.pop()


def decode_utf8(data: bytes, source: str) -> str:
    """`data` as UTF-8 text (a UTF-8 BOM skipped); UTF-16/32 and invalid bytes refused with the line."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(data) >= 2 and (data[0] == 0 or data[1] == 0)):
        raise YamlInputError(source, "is UTF-16 or UTF-32 encoded; save it as UTF-8", line=1)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise YamlInputError(
            source, f"is not UTF-8: byte 0x{data[error.start]:02x} at column {column}; save it as UTF-8", line=line
        ) from None


def _mark_line(error: yaml.YAMLError) -> int | None:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    if mark is None and isinstance(error, yaml.reader.ReaderError):
        return None
    return mark.line + 1 if mark is not None else None


def _yaml_problem(error: yaml.YAMLError) -> str:
    if isinstance(error, yaml.reader.ReaderError):
        return f"contains a character YAML does not allow (code point {error.character!r:.12})"
    problem = getattr(error, "problem", None) or "is not valid YAML"
    context = getattr(error, "context", None)
    return excerpt(f"{context}: {problem}" if context else problem, 160)


def compose(text: str, source: str) -> Node | None:
    """The single document's node graph; raises YamlInputError naming the line."""
    loader = None
    try:
        loader = _Loader(text)
        return loader.get_single_node()
    except _DepthError as error:
        raise YamlInputError(
            source,
            f"nests deeper than {MAX_DEPTH} levels",
            line=error.mark.line + 1,
            key=join_path(error.path[:3]) + " …",
        ) from None
    except yaml.YAMLError as error:
        line = _mark_line(error)
        if isinstance(error, yaml.reader.ReaderError):
            line = text.count("\n", 0, error.position) + 1
        raise YamlInputError(source, f"is not valid YAML: {_yaml_problem(error)}", line=line) from None
    finally:
        if loader is not None:
            loader.dispose()


class _Converter:
    """Node graph -> Python values, resolving scalars as yaml.v3 does, within a node budget."""

    def __init__(self, source: str, max_nodes: int) -> None:
        self.source = source
        self.budget = max_nodes
        self.lines: dict[str, int] = {}

    def fail(self, node: Node, path: tuple[Any, ...], message: str) -> YamlInputError:
        return YamlInputError(self.source, message, line=node.start_mark.line + 1, key=join_path(path) or "(top)")

    def convert(self, node: Node, path: tuple[Any, ...]) -> Any:
        self.budget -= 1
        if self.budget < 0:
            raise self.fail(
                node, path, f"expands to more than {MAX_NODES} values (aliases included); refusing to expand it"
            )
        if path:
            self.lines.setdefault(join_path(path), node.start_mark.line + 1)
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        if isinstance(node, SequenceNode):
            self.check_tag(node, path, _SEQ)
            return [self.convert(item, (*path, index)) for index, item in enumerate(node.value)]
        self.check_tag(node, path, _MAP)
        return self.mapping(node, path)

    def check_tag(self, node: Node, path: tuple[Any, ...], expected: str) -> None:
        if node.tag not in ("", "!", expected):
            raise self.fail(node, path, f"the YAML tag {tag_name(node.tag)} is not supported; write plain YAML")

    def mapping(self, node: MappingNode, path: tuple[Any, ...]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        seen: dict[str, int] = {}
        merges: list[Node] = []
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag == "" and key_node.value == "<<":
                merges.append(value_node)
                continue
            key = self.key(key_node, path)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise self.fail(key_node, (*path, key), f"is defined twice, at lines {seen[key]} and {line}; keep one")
            seen[key] = line
            self.lines.setdefault(join_path((*path, key)), line)
            result[key] = self.convert(value_node, (*path, key))
        for merge in merges:
            sources = merge.value if isinstance(merge, SequenceNode) else [merge]
            for source_node in sources:
                merged = self.convert(source_node, (*path, "<<"))
                if not isinstance(merged, dict):
                    raise self.fail(source_node, path, "a merge key (<<) must name a mapping")
                for key, value in merged.items():
                    result.setdefault(key, value)
        return result

    def key(self, node: Node, path: tuple[Any, ...]) -> str:
        if not isinstance(node, ScalarNode):
            raise self.fail(node, path, "has a key that is a list or mapping; keys must be text")
        value = self.scalar(node, path)
        if not isinstance(value, str):
            kind = {type(None): "null", bool: "boolean", int: "number", float: "number"}[type(value)]
            raise self.fail(
                node,
                path,
                f"has the key {excerpt(node.value or '~', 20)}, which YAML reads as a {kind}: keys must be "
                f"text (Pulumi refuses other keys); quote it: '{excerpt(node.value, 20)}'",
            )
        return value

    def scalar(self, node: ScalarNode, path: tuple[Any, ...]) -> Any:
        text = node.value
        if node.tag in (_STR, "!"):
            return text
        if node.tag == "":
            return self.plain(node, path, text)
        resolved = self.plain(node, path, text)
        expected = {_INT: int, _FLOAT: (int, float), _BOOL: bool, _NULL: type(None)}.get(node.tag)
        if expected is None:
            raise self.fail(node, path, f"the YAML tag {tag_name(node.tag)} is not supported; write plain YAML")
        if not isinstance(resolved, expected) or (node.tag == _INT and isinstance(resolved, bool)):
            raise self.fail(node, path, f"{excerpt(text)!r} is not a valid {node.tag.rsplit(':', 1)[-1]}")
        return float(resolved) if node.tag == _FLOAT else resolved

    def plain(self, node: ScalarNode, path: tuple[Any, ...], text: str) -> Any:
        if text in _NULLS:
            return None
        if text in _BOOLS:
            return _BOOLS[text]
        if text in _SPECIAL_FLOATS:
            raise self.fail(node, path, f"{text} is not a finite number; Pulumi's JSON config cannot hold it")
        if _DECIMAL.match(text):
            number = int(text)
            if not -_INT64 <= number < _INT64:
                raise self.fail(node, path, f"{excerpt(text, 24)} does not fit in 64 bits")
            return number
        if _GO_INT.match(text) and any(c.isdigit() for c in text):
            raise self.fail(
                node,
                path,
                f"{excerpt(text, 24)} is ambiguous: YAML readers (Pulumi's included) read leading zeros, 0x/0o/0b "
                "and _ as a different number; quote it if it is text, or write the plain decimal number",
            )
        if _FLOAT_RE.match(text):
            number = float(text)
            if not math.isfinite(number):
                raise self.fail(node, path, f"{excerpt(text, 24)} is not a finite number")
            return number
        return text


def read_yaml(data: bytes, source: str, *, max_bytes: int = MAX_BYTES, max_nodes: int = MAX_NODES) -> YamlDocument:
    """Parse one YAML document from `data` (bytes of a file); raise YamlInputError on anything unsafe."""
    if len(data) > max_bytes:
        raise YamlInputError(source, f"is {len(data)} bytes; at most {max_bytes} are read")
    text = decode_utf8(data, source)
    node = compose(text, source)
    if node is None:
        return YamlDocument(None)
    converter = _Converter(source, max_nodes)
    value = converter.convert(node, ())
    return YamlDocument(value, converter.lines)
