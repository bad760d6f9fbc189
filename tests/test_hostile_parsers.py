"""Hostile outputs and endpoints files: each is refused with the file (and key or line) named.

The outputs file is what `pulumi stack output --json` printed (or a CI artifact); the endpoints
file is written by hand. Both are read by `check` and `loadtest`. Every case asserts a clean
error naming the file, no traceback, a short message, and no echoed credential; a sample of
them also runs through `fin-infra check` and `fin-infra loadtest --render-only` (exit 4, could
not run / could not be configured).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from checks.endpoints import EndpointsError, read_endpoints
from checks.outputs import OutputsError, read_outputs_file
from infra.cli import main as cli

FIXTURES = Path(__file__).parent / "fixtures" / "checks"
GOOD = json.loads((FIXTURES / "outputs-dev.json").read_text(encoding="utf-8"))
PLANTED = "PLANTED-basic-auth-9d2e"


def _with(path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(GOOD)
    *parents, last = path.split(".")
    target = data
    for part in parents:
        target = target[part]
    target[last] = value
    return data


def _dumped(data: Any) -> bytes:
    return json.dumps(data).encode()


GOOD_TEXT = json.dumps(GOOD, indent=2)
OUTPUT_CASES: list[tuple[str, bytes, str]] = [
    ("utf16-bom", GOOD_TEXT.encode("utf-16"), "UTF-16"),
    ("utf16-no-bom", GOOD_TEXT.encode("utf-16-le"), "UTF-16"),
    ("latin1", GOOD_TEXT.replace('"dev"', '"d\u00e9v"', 1).encode("latin-1"), "not UTF-8"),
    ("bad-utf8", b'{"contractVersion": 1, "stack": "\xc3\x28"}', "not UTF-8"),
    ("deep-arrays", b"[" * 100_000 + b"]" * 100_000, "nests deeper"),
    ("deep-objects", b'{"a":' * 5000 + b"1" + b"}" * 5000, "nests deeper"),
    ("nan-limit", GOOD_TEXT.replace('"cpu": 2', '"cpu": NaN', 1).encode(), "NaN"),
    ("infinity-limit", GOOD_TEXT.replace('"cpu": 2', '"cpu": Infinity', 1).encode(), "Infinity"),
    ("neg-infinity", GOOD_TEXT.replace('"cpu": 2', '"cpu": -Infinity', 1).encode(), "Infinity"),
    ("huge-int", b'{"contractVersion": ' + b"9" * 5000 + b"}", "not usable JSON"),
    ("duplicate-key", b'{"contractVersion": 1, "contractVersion": 1}', "appears twice"),
    ("truncated", GOOD_TEXT[: len(GOOD_TEXT) // 2].encode(), "is not JSON"),
    ("empty", b"", "is not JSON"),
    ("a-list", b"[1, 2]", "expected a JSON object"),
    ("a-string", b'"outputs"', "expected a JSON object"),
    ("null", b"null", "expected a JSON object"),
    ("contract-true", _dumped(_with("contractVersion", True)), "contractVersion"),
    ("contract-string", _dumped(_with("contractVersion", "1")), "contractVersion"),
    ("contract-float", _dumped(_with("contractVersion", 1.0)), "contractVersion"),
    ("contract-2", _dumped(_with("contractVersion", 2)), "contractVersion"),
    ("contract-missing", _dumped({k: v for k, v in GOOD.items() if k != "contractVersion"}), "contractVersion"),
    ("contract-key-true", _dumped({**GOOD, "contract": True, "contractVersion": True}), "contractVersion"),
    ("control-chars", b'{"contractVersion": 1, "stack": "a\x01b"}', "is not JSON"),
]
for service in ("backend", "web"):
    for side in ("limits", "requests"):
        for field, bad in (("cpu", -1), ("cpu", 0), ("memoryGb", -4), ("memoryGb", 1e308)):
            data = copy.deepcopy(GOOD)
            data["services"][service][side][field] = bad
            OUTPUT_CASES.append((f"{service}-{side}-{field}-{bad}", _dumped(data), f"services.{service}.{side}"))
for case_id, path, value, key in [
    ("port-zero", "cache.port", 0, "cache.port"),
    ("port-huge", "cache.port", 70000, "cache.port"),
    ("port-true", "cache.port", True, "cache.port"),
    ("platform-unknown", "platform", "kubernetes", "platform"),
    ("services-list", "services", [], "services"),
    ("cache-missing-host", "cache", {"tier": "managed"}, "cache.resourceId"),
]:
    OUTPUT_CASES.append((case_id, _dumped(_with(path, value)), key))


@pytest.mark.parametrize(("case_id", "data", "key"), OUTPUT_CASES, ids=[c[0] for c in OUTPUT_CASES])
def test_hostile_outputs_files_are_refused(case_id: str, data: bytes, key: str, tmp_path: Path) -> None:
    path = tmp_path / "outputs.json"
    path.write_bytes(data)
    with pytest.raises(OutputsError) as caught:
        read_outputs_file(path)
    message = str(caught.value)
    assert str(path) in message
    assert key in message, message[:500]
    assert len(message) < 4000


def test_outputs_file_faults_of_the_file_itself(tmp_path: Path) -> None:
    for path, expected in [
        (tmp_path / "missing.json", "does not exist"),
        (tmp_path, "is a directory"),
    ]:
        with pytest.raises(OutputsError, match=expected):
            read_outputs_file(path)
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (4 * 1024 * 1024 + 1))
    with pytest.raises(OutputsError, match="at most"):
        read_outputs_file(big)


def test_the_saved_outputs_still_parse_and_unknown_keys_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({**GOOD, "somethingNew": {"a": 1}}), encoding="utf-8")
    assert read_outputs_file(path).stack == "dev"


GOOD_ENDPOINTS = "services:\n  backend:\n    url: http://127.0.0.1:8080\nprobes:\n  http: {requests: 5}\n"
ENDPOINT_CASES: list[tuple[str, str, bytes, str, int | None]] = [
    ("utf16", "e.yaml", GOOD_ENDPOINTS.encode("utf-16"), "UTF-16", 1),
    ("latin1", "e.yaml", "services:\n  web:\n    url: http://caf\xe9\n".encode("latin-1"), "not UTF-8", 3),
    ("deep", "e.yaml", b"a: " + b"[" * 10000 + b"]" * 10000, "nests deeper", 1),
    ("binary-tag", "e.yaml", b"redis:\n  host: !!binary aGVsbG8=\n", "!!binary", 2),
    ("python-tag", "e.yaml", b"redis:\n  host: !!python/object:os.system ls\n", "python/object", 2),
    ("dup-key", "e.yaml", b"redis:\n  port: 1\n  port: 2\n", "defined twice", 3),
    ("int-key", "e.yaml", b"services:\n  1: {}\n", "keys must be text", 2),
    ("octal-port", "e.yaml", b"redis:\n  port: 06379\n", "ambiguous", 2),
    ("nan-timeout", "e.yaml", b"probes:\n  http:\n    timeoutSeconds: .nan\n", "finite", 3),
    ("string-nan", "e.yaml", b"probes:\n  http:\n    timeoutSeconds: NaN\n", "probes.http.timeoutSeconds", 3),
    ("negative-requests", "e.yaml", b"probes:\n  http:\n    requests: -5\n", "probes.http.requests", 3),
    ("zero-rate", "e.yaml", b"probes:\n  http:\n    ratePerSecond: 0\n", "ratePerSecond", 3),
    ("huge-loads", "e.yaml", b"probes:\n  pageLoad:\n    loads: 1000000\n", "probes.pageLoad.loads", 3),
    ("no-scheme", "e.yaml", b"services:\n  backend:\n    url: 127.0.0.1:8080\n", "services.backend.url", 3),
    ("no-host", "e.yaml", b"services:\n  backend:\n    url: 'http://'\n", "services.backend.url", 3),
    ("relative-path", "e.yaml", b"services:\n  web:\n    paths: [health]\n", "services.web.paths", 3),
    ("unknown-key", "e.yaml", b"redis:\n  hostname: x\n", "redis.hostname", 2),
    ("unknown-service", "e.yaml", b"services:\n  api: {}\n", "services.api", 2),
    ("top-list", "e.yaml", b"- a\n", "mapping at the top level", None),
    (
        "alias-bomb",
        "e.yaml",
        b"a: &a [x,x,x,x,x,x,x,x,x,x]\n"
        + b"".join(
            f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n".encode() for i in range(6)
        ),
        "expands to more than",
        None,
    ),
    ("syntax", "e.yaml", b"redis: {host: x\n", "not valid YAML", None),
    ("json-nan", "e.json", b'{"probes": {"http": {"timeoutSeconds": NaN}}}', "NaN", None),
    ("json-dup", "e.json", b'{"redis": {}, "redis": {}}', "appears twice", None),
    ("json-deep", "e.json", b"[" * 50000 + b"]" * 50000, "nests deeper", None),
    ("json-utf16", "e.json", b'{"redis": {}}'.decode().encode("utf-16"), "UTF-16", 1),
    ("json-truncated", "e.json", b'{"redis": {', "is not JSON", 1),
    ("bool-port", "e.yaml", b"redis:\n  port: true\n", "redis.port", 2),
]


@pytest.mark.parametrize(("case_id", "name", "data", "key", "line"), ENDPOINT_CASES, ids=[c[0] for c in ENDPOINT_CASES])
def test_hostile_endpoints_files_are_refused(
    case_id: str, name: str, data: bytes, key: str, line: int | None, tmp_path: Path
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(EndpointsError) as caught:
        read_endpoints(path)
    message = str(caught.value)
    assert str(path) in message
    assert key in message, message[:500]
    if line is not None:
        assert f"{path}:{line}" in message, message[:500]
    assert len(message) < 4000


@pytest.mark.parametrize(
    "url",
    [
        f"http://admin:{PLANTED}@127.0.0.1:8080",
        f"https://user:{PLANTED}@api.example",
        f"http://admin:p@ss{PLANTED}@127.0.0.1",
        f"http://:{PLANTED}@127.0.0.1",
    ],
)
def test_a_password_in_an_endpoints_url_is_refused_and_never_echoed(url: str, tmp_path: Path) -> None:
    path = tmp_path / "endpoints.yaml"
    path.write_text(f"services:\n  backend:\n    url: '{url}'\n", encoding="utf-8")
    with pytest.raises(EndpointsError) as caught:
        read_endpoints(path)
    assert "services.backend.url" in str(caught.value)
    assert "user or password" in str(caught.value)
    assert PLANTED not in str(caught.value)


CLI_SAMPLE = ["utf16-bom", "deep-arrays", "nan-limit", "contract-true", "backend-limits-cpu--1", "latin1"]


@pytest.mark.parametrize("case_id", CLI_SAMPLE)
@pytest.mark.parametrize("command", ["check", "loadtest"])
def test_commands_refuse_hostile_outputs_with_exit_4(case_id: str, command: str, tmp_path: Path) -> None:
    data = next(c[1] for c in OUTPUT_CASES if c[0] == case_id)
    path = tmp_path / "outputs.json"
    path.write_bytes(data)
    extra = ["--render-only"] if command == "loadtest" else ["--source", "probe"]
    result = CliRunner().invoke(cli, [command, "dev", "--outputs", str(path), *extra])
    assert result.exit_code == 4, result.output[-2000:]
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert str(path) in result.output


@pytest.mark.parametrize("case_id", ["utf16", "deep", "binary-tag", "alias-bomb", "json-nan"])
def test_check_refuses_hostile_endpoints_with_exit_4(case_id: str, tmp_path: Path) -> None:
    name, data = next((c[1], c[2]) for c in ENDPOINT_CASES if c[0] == case_id)
    path = tmp_path / name
    path.write_bytes(data)
    outputs = FIXTURES / "outputs-dev.json"
    result = CliRunner().invoke(
        cli, ["check", "dev", "--outputs", str(outputs), "--endpoints", str(path), "--source", "probe"]
    )
    assert result.exit_code == 4, result.output[-2000:]
    assert "Traceback" not in result.output
    assert str(path) in result.output
