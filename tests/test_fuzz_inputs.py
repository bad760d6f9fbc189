"""Property tests: any stack file, outputs file or endpoints file ends in a result or a clean error.

Hypothesis generates arbitrary YAML structures (any keys, any scalars, nesting, aliases through
repetition), YAML-ish text and raw bytes for the stack-file reader and the settings loader, and
arbitrary JSON documents (and mutations of the real ones) for the outputs and endpoints parsers.
The only acceptable exceptions are the documented ones (StackFileError, SettingsError,
OutputsError, EndpointsError); anything else is a traceback a user would see. Runs are bounded
(max_examples, deadline) and deterministic (derandomized, no example database).
"""

from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checks.endpoints import Endpoints, EndpointsError, read_endpoints
from checks.outputs import OutputsError, StackOutputs, read_outputs_file
from infra.paths import STACKS_DIR
from infra.plan.engine.stackfile import StackFileError, read_stack_file
from infra.settings import LoadedSettings, SettingsError, load_settings

WORK = Path(tempfile.mkdtemp(prefix="fin-fuzz-"))
FIXTURES = Path(__file__).parent / "fixtures" / "checks"
DEV_CONFIG = yaml.safe_load((STACKS_DIR / "Pulumi.dev.yaml").read_text(encoding="utf-8"))["config"]
GOOD_OUTPUTS = json.loads((FIXTURES / "outputs-dev.json").read_text(encoding="utf-8"))
GOOD_ENDPOINTS = {
    "services": {"backend": {"url": "http://127.0.0.1:8080", "paths": ["/x"]}, "web": {"url": "http://127.0.0.1:3000"}},
    "redis": {"host": "127.0.0.1", "port": 6379, "tls": False, "auth": "password", "passwordEnv": "P"},
    "database": {"dsnEnv": "D"},
    "probes": {"http": {"requests": 5, "ratePerSecond": 2.5}, "pageLoad": {"loads": 1}, "counterSampleSeconds": 1},
}

FUZZ = settings(
    max_examples=120,
    deadline=2000,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(["0750", "yes", "on", "~", "2026-01-01", "1:20", "0x1F", ".inf", "!!binary", "{secure: 1}"]),
)
keys = st.one_of(st.text(max_size=20), st.integers(), st.booleans(), st.none(), st.floats(allow_nan=False))
values = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=5), st.dictionaries(keys, children, max_size=5)),
    max_leaves=25,
)
config_keys = st.one_of(
    st.sampled_from(
        [
            f"fin-agent:{key}"
            for key in (
                "location",
                "owner",
                "costCenter",
                "tags",
                "services",
                "compute",
                "redis",
                "monitoring",
                "autoscale",
                "network",
                "keyVault",
                "allowUnlistedLocation",
                "plaidSecret",
                "environment",
            )
        ]
    ),
    st.sampled_from(["location", "fin-agnet:tags", "azure-native:location", "a:b:c", "secure"]),
    st.text(max_size=20),
)


def _leaf_paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    if isinstance(value, dict):
        found = [prefix] if prefix else []
        for key, item in value.items():
            found += _leaf_paths(item, (*prefix, key))
        return found
    if isinstance(value, list):
        found = [prefix]
        for index, item in enumerate(value):
            found += _leaf_paths(item, (*prefix, index))
        return found
    return [prefix]


def _set(document: Any, path: tuple, value: Any) -> Any:
    document = copy.deepcopy(document)
    if not path:
        return value
    target = document
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return document


def _dump(document: Any) -> bytes:
    try:
        return yaml.dump(document, Dumper=yaml.SafeDumper, allow_unicode=True).encode("utf-8", "surrogatepass")
    except yaml.YAMLError:
        return repr(document).encode("utf-8", "surrogatepass")


def _stack_result(data: bytes) -> LoadedSettings | None:
    folder = Path(tempfile.mkdtemp(dir=WORK))
    (folder / "Pulumi.dev.yaml").write_bytes(data)
    try:
        raw = read_stack_file("dev", folder)
        return load_settings(raw, "dev", allow_missing_secrets=True)
    except (StackFileError, SettingsError) as error:
        assert str(error)
        assert len(str(error)) < 50_000
        return None


@FUZZ
@given(document=st.one_of(values, st.dictionaries(st.just("config"), st.dictionaries(config_keys, values, max_size=6))))
def test_any_yaml_structure_as_a_stack_file(document: Any) -> None:
    _stack_result(_dump(document))


@FUZZ
@given(mutation=st.data())
def test_the_dev_stack_with_any_value_anywhere(mutation: st.DataObject) -> None:
    path = mutation.draw(st.sampled_from(_leaf_paths(DEV_CONFIG)))
    document = {"config": _set(DEV_CONFIG, path, mutation.draw(values))}
    _stack_result(_dump(document))


# Plain (unquoted) scalars whose reading differs between YAML 1.1, yaml.v3 and a person.
RAW_TOKENS = [
    "0750",
    "0x1F",
    "1_000",
    "yes",
    "on",
    "~",
    "null",
    "2026-01-01",
    "2026-01-01T10:00:00Z",
    "1:20",
    ".inf",
    "-.nan",
    "!!binary aGk=",
    "!!set {a}",
    "!custom x",
    "!!int 12",
    "!!str 1",
    "true",
    "1e999",
    "<<",
    "=",
    "99999999999999999999",
    "&a x",
    "*a",
    "{secure: 1}",
    "{secure: x}",
    "'quoted'",
    "|\n  block\n",
]


def _flow(value: Any) -> str:
    """`value` as flow-style YAML text, with RawToken strings written unquoted."""
    if isinstance(value, RawToken):
        return str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_flow(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(item) for item in value) + "]"
    return json.dumps(value)


class RawToken(str):
    """A scalar written as-is into the YAML text."""


raw_scalars = st.one_of(
    scalars.filter(lambda v: not isinstance(v, float) or v == v), st.sampled_from(RAW_TOKENS).map(RawToken)
)
raw_values = st.recursive(
    raw_scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(raw_scalars, children, max_size=4)),
    max_leaves=20,
)


@FUZZ
@given(entries=st.dictionaries(config_keys, raw_values, max_size=5), depth=st.integers(0, 200))
def test_any_flow_yaml_with_plain_scalars_as_stack_config(entries: dict, depth: int) -> None:
    text = "config:\n" + "".join(f"  {json.dumps(k)}: {_flow(v)}\n" for k, v in entries.items())
    text += f"  fin-agent:tags: {'[' * depth}1{']' * depth}\n"
    _stack_result(text.encode("utf-8", "surrogatepass"))


yamlish = st.text(alphabet=st.sampled_from(list(":-[]{}&*!|>'\"%@#,?~<=\n\t ab01.\\\x00\x85\ufeff")), max_size=120)


@FUZZ
@given(text=st.one_of(yamlish, st.binary(max_size=200)))
def test_any_text_or_bytes_as_a_stack_file(text: str | bytes) -> None:
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    _stack_result(b"config:\n  fin-agent:tags: " + data)
    _stack_result(data)


def _outputs_result(data: bytes) -> StackOutputs | None:
    path = Path(tempfile.mkdtemp(dir=WORK)) / "outputs.json"
    path.write_bytes(data)
    try:
        return read_outputs_file(path)
    except OutputsError as error:
        assert str(path) in str(error)
        return None


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=30)),
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=30,
)


@FUZZ
@given(document=json_values)
def test_any_json_document_as_outputs(document: Any) -> None:
    _outputs_result(json.dumps(document).encode())


@FUZZ
@given(mutation=st.data())
def test_the_real_outputs_with_any_value_anywhere(mutation: st.DataObject) -> None:
    path = mutation.draw(st.sampled_from(_leaf_paths(GOOD_OUTPUTS)))
    document = _set(GOOD_OUTPUTS, path, mutation.draw(json_values))
    _outputs_result(json.dumps(document).encode())


@FUZZ
@given(data=st.one_of(st.binary(max_size=200), yamlish.map(lambda t: t.encode("utf-8", "surrogatepass"))))
def test_any_bytes_as_outputs(data: bytes) -> None:
    _outputs_result(data)


def _endpoints_result(data: bytes, suffix: str) -> Endpoints | None:
    path = Path(tempfile.mkdtemp(dir=WORK)) / f"endpoints{suffix}"
    path.write_bytes(data)
    try:
        return read_endpoints(path)
    except EndpointsError as error:
        assert str(path) in str(error)
        return None


@FUZZ
@given(document=values, suffix=st.sampled_from([".yaml", ".json"]))
def test_any_document_as_endpoints(document: Any, suffix: str) -> None:
    data = json.dumps(document, default=str).encode() if suffix == ".json" and _jsonable(document) else _dump(document)
    _endpoints_result(data, suffix)


@FUZZ
@given(mutation=st.data(), suffix=st.sampled_from([".yaml", ".json"]))
def test_valid_endpoints_with_any_value_anywhere(mutation: st.DataObject, suffix: str) -> None:
    path = mutation.draw(st.sampled_from(_leaf_paths(GOOD_ENDPOINTS)))
    document = _set(GOOD_ENDPOINTS, path, mutation.draw(values))
    data = json.dumps(document, default=str).encode() if suffix == ".json" and _jsonable(document) else _dump(document)
    _endpoints_result(data, suffix)


@FUZZ
@given(data=st.one_of(st.binary(max_size=200), yamlish.map(lambda t: t.encode("utf-8", "surrogatepass"))))
def test_any_bytes_as_endpoints(data: bytes) -> None:
    _endpoints_result(data, ".yaml")
    _endpoints_result(data, ".json")


def _jsonable(document: Any) -> bool:
    try:
        json.dumps(document)
        return True
    except (TypeError, ValueError):
        return False


def test_the_unmutated_inputs_parse() -> None:
    """The generators start from valid documents: the properties above exercise real parsing."""
    assert _stack_result(_dump({"config": DEV_CONFIG})) is not None
    assert _outputs_result(json.dumps(GOOD_OUTPUTS).encode()) is not None
    assert _endpoints_result(_dump(GOOD_ENDPOINTS), ".yaml") is not None
    assert _endpoints_result(json.dumps(GOOD_ENDPOINTS).encode(), ".json") is not None
