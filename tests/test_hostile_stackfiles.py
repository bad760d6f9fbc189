"""A corpus of hostile and careless stack files, each run through `fin-infra plan`.

Every case is a whole `Pulumi.<stack>.yaml` (the real stack file with one fault added, or a
file written from scratch) in a temporary stacks folder. Each asserts the exit code (2: the
stack file or its settings are invalid), that the message names the file, the key and, where
the fault has one, the line; that no traceback is printed; that the message stays short (a
hostile file cannot make it huge); and that no planted secret value is echoed.

Cases run in-process through the `fin-infra` click group (the console script's `main`); a few
also run through the installed console script itself, in a subprocess.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from infra.cli import main as cli
from infra.paths import STACKS_DIR

REPO = Path(__file__).resolve().parent.parent
BASE = {
    stack: (STACKS_DIR / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8") for stack in ("dev", "staging", "prod")
}
PLANTED = "PLANTED-s3cr3t-value-7f3a9c"
MAX_MESSAGE = 20_000


@dataclass(frozen=True)
class Case:
    id: str
    content: bytes
    key: str  # must be named in the message
    line: int | None  # "file:line" must appear when given
    stack: str = "dev"
    code: int = 2
    absent: tuple[str, ...] = ()  # must never be printed


def _line_of(text: str, marker: str | None) -> int | None:
    """The line holding `marker` (its last occurrence when the marker starts with '^')."""
    if marker is None:
        return None
    last = marker.startswith("^")
    marker = marker.removeprefix("^")
    found = [number for number, line in enumerate(text.splitlines(), start=1) if marker in line]
    if not found:
        raise AssertionError(f"marker {marker!r} not in the case's file")
    return found[-1] if last else found[0]


def appended(case_id: str, snippet: str, key: str, marker: str | None = None, stack: str = "dev", **kw: Any) -> Case:
    """The real stack file with `snippet` (config entries, indented by two) appended."""
    text = BASE[stack].rstrip("\n") + "\n" + snippet.rstrip("\n") + "\n"
    return Case(case_id, text.encode("utf-8"), key, _line_of(text, marker), stack, **kw)


def whole(case_id: str, text: str, key: str, marker: str | None = None, stack: str = "dev", **kw: Any) -> Case:
    return Case(case_id, text.encode("utf-8"), key, _line_of(text, marker), stack, **kw)


def raw_bytes(case_id: str, data: bytes, key: str, line: int | None = None, **kw: Any) -> Case:
    return Case(case_id, data, key, line, **kw)


def setting(
    case_id: str, dotted: str, value: Any, key: str, marker: str | None = None, stack: str = "dev", **kw: Any
) -> Case:
    """The real stack's config with one setting changed (`services.backend.port`), written as YAML."""
    config = copy.deepcopy(yaml.safe_load(BASE[stack])["config"])
    head, *rest = dotted.split(".")
    target = config.setdefault(f"fin-agent:{head}", {}) if rest else config
    for part in rest[:-1]:
        target = target.setdefault(part, {})
    target[rest[-1] if rest else f"fin-agent:{head}"] = value
    text = yaml.safe_dump({"config": config}, sort_keys=False, width=10_000_000, allow_unicode=True)
    return Case(case_id, text.encode("utf-8"), key, _line_of(text, marker), stack, **kw)


def _cases_yaml() -> list[Case]:
    cases: list[Case] = []
    # Numbers Pulumi (yaml.v3) reads differently from what a person wrote.
    for index, (key, text) in enumerate(
        [
            ("costCenter", "0750"),
            ("costCenter", "0x1F"),
            ("costCenter", "0o17"),
            ("costCenter", "0b101"),
            ("costCenter", "1_000"),
            ("owner", "-0750"),
            ("owner", "+0x10"),
            ("owner", "00"),
        ]
    ):
        cases.append(appended(f"ambiguous-number-{index}", f"  fin-agent:{key}: {text}\n", key, f"{key}: {text}"))
    nested_numbers = [
        ("port-octal", "  fin-agent:monitoring:\n    logRetentionDays: 0100\n", "logRetentionDays", "0100"),
        ("tag-octal", "  fin-agent:tags:\n    code: 0750\n", "tags.code", "0750"),
        ("tag-hex", "  fin-agent:tags:\n    code: 0xFF\n", "tags.code", "0xFF"),
        ("list-octal", "  fin-agent:tags:\n    code: [01]\n", "tags.code", "[01]"),
    ]
    cases += [appended(f"ambiguous-{name}", snippet, key, marker) for name, snippet, key, marker in nested_numbers]
    # Non-finite and oversized numbers.
    for index, text in enumerate(
        [".inf", "-.inf", ".nan", ".NaN", "+.INF", "99999999999999999999", "-9223372036854775809"]
    ):
        snippet = f"  fin-agent:monitoring:\n    dailyQuotaGb: {text}\n"
        cases.append(appended(f"non-finite-{index}", snippet, "dailyQuotaGb", f"dailyQuotaGb: {text}"))
    # Tags other than the core ones.
    for index, tag in enumerate(
        [
            "!!binary aGVsbG8=",
            "!!timestamp 2026-01-01",
            "!!set {a, b}",
            "!!omap [{a: 1}]",
            "!!pairs [{a: 1}]",
            "!!python/object:os.system ls",
            "!!python/name:os.system",
            "!custom value",
            "!<tag:example.com,2026:x> value",
            "!!float text",
            "!!int 1.5",
            "!!bool yes",
            "!!null 0",
            "!!int 0750",
        ]
    ):
        cases.append(appended(f"tag-{index}", f"  fin-agent:owner: {tag}\n", "owner", "fin-agent:owner:"))
    for index, tag in enumerate(["!!binary aGVsbG8=", "!!timestamp 2026-01-01T00:00:00Z", "!!set {x}"]):
        snippet = f"  fin-agent:tags:\n    team: {tag}\n"
        cases.append(appended(f"nested-tag-{index}", snippet, "tags.team", "team:"))
    # Keys that are not text.
    for index, key in enumerate(["1", "true", "null", "~", "1.5", "False", "0"]):
        cases.append(appended(f"config-key-{index}", f"  {key}: value\n", "config", f"  {key}: value"))
        snippet = f"  fin-agent:tags:\n    {key}: value\n"
        cases.append(appended(f"nested-key-{index}", snippet, "tags", f"    {key}: value"))
    cases.append(whole("top-key-int", BASE["dev"] + "1: x\n", "(top)", "1: x"))
    cases.append(whole("top-key-bool", BASE["dev"] + "true: x\n", "(top)", "true: x"))
    cases.append(whole("top-key-null", BASE["dev"] + "null: x\n", "(top)", "null: x"))
    cases.append(appended("complex-key-list", "  ? [a, b]\n  : value\n", "config", "? [a, b]"))
    cases.append(appended("complex-key-map", "  ? {a: b}\n  : value\n", "config", "? {a: b}"))
    # Duplicate keys, naming both lines.
    cases.append(appended("dup-config-key", "  fin-agent:location: northeurope\n", "fin-agent:location", "northeurope"))
    dup_top = BASE["dev"] + "config:\n  fin-agent:owner: x\n"
    cases.append(Case("dup-top-config", dup_top.encode(), "defined twice", BASE["dev"].count("\n") + 1))
    cases.append(
        appended(
            "dup-namespaced",
            "  location: northeurope\n",
            "location",
            "  location: northeurope",
        )
    )
    cases.append(appended("dup-nested-tags", "  fin-agent:tags:\n    team: a\n    team: b\n", "tags.team", "team: b"))
    cases.append(
        appended(
            "dup-nested-receivers",
            "  fin-agent:monitoring:\n    receivers:\n      emails: []\n      emails: []\n",
            "receivers.emails",
            "^      emails: []",
        )
    )
    dup_image = BASE["dev"].replace(
        "      image: finagent.azurecr.io/fin-agent/backend:1.0.0\n",
        "      image: finagent.azurecr.io/fin-agent/backend:1.0.0\n      image: evil.example/backdoor:1\n",
    )
    cases.append(whole("dup-nested-image", dup_image, "services.backend.image", "evil.example"))
    cases.append(appended("dup-flow", "  fin-agent:tags: {a: 1, a: 2}\n", "tags.a", "{a: 1, a: 2}"))
    # Keys Pulumi cannot parse.
    cases.append(appended("three-colons", "  a:b:c: x\n", "a:b:c", "a:b:c"))
    cases.append(appended("empty-namespace", "  ':owner': x\n", ":owner", "':owner'"))
    cases.append(appended("empty-name", "  'fin-agent:': x\n", "fin-agent:", "'fin-agent:'"))
    # Values Pulumi reads as empty or in the clear.
    for index, empty in enumerate(["~", "null", "", "Null"]):
        cases.append(appended(f"null-owner-{index}", f"  fin-agent:owner: {empty}\n", "owner", "fin-agent:owner:"))
    cases.append(appended("null-cost-center", "  fin-agent:costCenter:\n", "costCenter", "fin-agent:costCenter:"))
    for index, secure in enumerate(
        [
            "{secure: 123}",
            "{secure: ''}",
            "{secure: abc, other: x}",
            "{secure: [a]}",
            "{secure: {a: b}}",
            "{secure: true}",
        ]
    ):
        cases.append(appended(f"secure-{index}", f"  fin-agent:owner: {secure}\n", "owner", "fin-agent:owner:"))
    cases.append(
        appended("secure-nested", "  fin-agent:tags:\n    team: {secure: 42}\n", "tags.team", "team: {secure: 42}")
    )
    # Document shapes.
    cases.append(whole("top-list", "- a\n- b\n", "must be a mapping", None))
    cases.append(whole("top-scalar", "just text\n", "must be a mapping", None))
    cases.append(whole("config-list", "config:\n  - a\n", "config", "config:"))
    cases.append(whole("config-scalar", "config: text\n", "config", "config:"))
    cases.append(whole("two-documents", BASE["dev"] + "---\nconfig: {}\n", "not valid YAML", None))
    # Syntax errors: the line is named.
    cases.append(appended("unclosed-flow", "  fin-agent:tags: {a: 1\n", "not valid YAML", None))
    cases.append(appended("unclosed-quote", "  fin-agent:owner: 'abc\n", "not valid YAML", None))
    cases.append(appended("tab-indent", "  fin-agent:tags:\n\tteam: a\n", "not valid YAML", "\tteam"))
    cases.append(appended("bad-indent", "  fin-agent:tags:\n    a: 1\n   b: 2\n", "not valid YAML", "   b: 2"))
    cases.append(appended("undefined-alias", "  fin-agent:owner: *nothing\n", "not valid YAML", "*nothing"))
    cases.append(appended("control-char", "  fin-agent:owner: a\x07b\n", "not allow", "fin-agent:owner"))
    return cases


def _cases_bounds_and_encoding() -> list[Case]:
    cases: list[Case] = []
    text = BASE["dev"]
    cases.append(raw_bytes("utf16-le-bom", text.encode("utf-16"), "UTF-16", 1))
    cases.append(raw_bytes("utf16-be-bom", b"\xfe\xff" + text.encode("utf-16-be"), "UTF-16", 1))
    cases.append(raw_bytes("utf16-le-no-bom", text.encode("utf-16-le"), "UTF-16", 1))
    cases.append(raw_bytes("utf32", text.encode("utf-32"), "UTF-16", 1))
    latin = (text + "  fin-agent:owner: café\n").encode("latin-1")
    cases.append(raw_bytes("latin1", latin, "not UTF-8", text.count("\n") + 1))
    cases.append(raw_bytes("bad-continuation", text.encode() + b"  fin-agent:owner: \xc3\x28\n", "not UTF-8", None))
    cases.append(raw_bytes("lone-surrogate", text.encode() + b"  fin-agent:owner: \xed\xa0\x80\n", "not UTF-8", None))
    cases.append(raw_bytes("nul-byte", text.encode() + b"  fin-agent:owner: a\x00b\n", "not allow", None))
    cases.append(raw_bytes("binary-garbage", bytes(range(256)) * 4, "UTF", 1))
    # Nesting and aliases.
    cases.append(appended("deep-flow", "  fin-agent:tags: " + "[" * 5000 + "]" * 5000 + "\n", "nests deeper", None))
    deep_block = "  fin-agent:tags:\n" + "".join("  " * (i + 2) + f"k{i}:\n" for i in range(200)) + "  " * 202 + "x\n"
    cases.append(appended("deep-block", deep_block, "nests deeper", None))
    cases.append(
        appended("deep-maps", "  fin-agent:tags: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n", "nests deeper", None)
    )
    laughs = "  fin-agent:tags:\n    l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    for level in range(1, 9):
        refs = ", ".join([f"*l{level - 1}"] * 9)
        laughs += f"    l{level}: &l{level} [{refs}]\n"
    cases.append(appended("alias-bomb", laughs, "expands to more than", None))
    wide = "  fin-agent:tags:\n    a: &a [" + ", ".join(["x"] * 1000) + "]\n    b: [" + ", ".join(["*a"] * 100) + "]\n"
    cases.append(appended("alias-wide", wide, "expands to more than", None))
    # Size.
    cases.append(appended("file-too-big", "  fin-agent:owner: " + "x" * (1024 * 1024 + 10) + "\n", "bytes", None))
    # Bounds with Azure's documented limits (or a stated sanity bound).
    big = "x" * 600_000
    for case_id, dotted, value, key, marker in [
        ("huge-image", "services.backend.image", "a/" + "b" * 600_000, "services.backend.image", "image: a/bbb"),
        ("huge-health-path", "services.backend.healthPath", "/" + big, "healthPath", "healthPath: /xxx"),
        ("long-health-path", "services.web.healthPath", "/" + "a" * 2100, "healthPath", "healthPath: /aaa"),
        ("long-image", "services.web.image", "a/" + "b" * 600, "services.web.image", "image: a/bbb"),
        ("huge-daily-cap", "monitoring.dailyQuotaGb", 10**9, "dailyQuotaGb", "dailyQuotaGb"),
        ("huge-retention", "monitoring.logRetentionDays", 10**9, "logRetentionDays", "logRetentionDays"),
        ("huge-sampling", "monitoring.samplingPercentage", 1e9, "samplingPercentage", "samplingPercentage"),
        ("huge-reserved", "redis.maxmemoryReservedMb", 10**9, "maxmemoryReservedMb", "maxmemoryReservedMb"),
        ("huge-frag", "redis.maxfragmentationmemoryReservedMb", 10**12, "maxfragmentation", "maxfragmentation"),
        ("huge-timeout", "redis.timeout", 2**40, "redis.timeout", "timeout: 1099"),
        ("huge-keepalive", "redis.tcpKeepalive", 2**40, "tcpKeepalive", "tcpKeepalive"),
        ("huge-samples", "redis.maxmemorySamples", 10**6, "maxmemorySamples", "maxmemorySamples"),
        ("huge-cpu", "services.backend.resources.limits.cpu", 1e9, "limits.cpu", "cpu: 1000000000"),
        ("huge-memory", "services.web.resources.requests.memoryGb", 1e9, "requests.memoryGb", "memoryGb: 1000000000"),
        ("huge-port", "services.backend.port", 10**6, "services.backend.port", "port: 1000000"),
        ("zero-port", "services.backend.port", 0, "services.backend.port", "port: 0"),
        ("negative-cpu", "services.backend.resources.requests.cpu", -1, "requests.cpu", "cpu: -1"),
        ("huge-group-count", "compute.containerInstances.groupCount", 10**6, "groupCount", "groupCount"),
        ("huge-failure", "services.web.probes.failureThreshold", 10**6, "failureThreshold", "failureThreshold"),
        ("huge-delay", "services.web.probes.initialDelaySeconds", 3600, "initialDelaySeconds", "initialDelay"),
        ("huge-env-value", "services.web.env", {"LOG_FORMAT": "x" * 40_000}, "services.web.env", "LOG_FORMAT"),
        ("tag-value-long", "tags", {"team": "x" * 300}, "tags.team", "team: xxx"),
        ("tag-name-long", "tags", {"t" * 600: "x"}, "tags", "ttttt"),
        ("tags-51", "tags", {f"t{i}": "v" for i in range(51)}, "tags", "fin-agent:tags:"),
        ("tags-45-plus-standard", "tags", {f"t{i}": "v" for i in range(45)}, "tags", "fin-agent:tags:"),
        (
            "emails-1001",
            "monitoring.receivers.emails",
            [{"name": f"n{i}", "address": f"a{i}@x.example"} for i in range(1001)],
            "emails",
            "emails:",
        ),
        (
            "webhooks-11",
            "monitoring.receivers.webhooks",
            [{"name": f"w{i}", "urlSecret": f"hook{i}"} for i in range(11)],
            "webhooks",
            "webhooks:",
        ),
        (
            "email-too-long",
            "monitoring.receivers.emails",
            [{"name": "a", "address": "a" * 300 + "@x.example"}],
            "address",
            "address:",
        ),
    ]:
        cases.append(setting(case_id, dotted, value, key, marker))
    cases.append(
        setting("huge-concurrency", "autoscale.httpConcurrency", 10**9, "httpConcurrency", "httpConcurrency", "staging")
    )
    cases.append(setting("huge-max-replicas", "autoscale.maxReplicas", 10**6, "maxReplicas", "maxReplicas", "staging"))
    cases.append(
        setting("huge-cooldown", "autoscale.cooldownSeconds", 10**9, "cooldownSeconds", "cooldownSeconds", "staging")
    )
    return cases


def _cases_types() -> list[Case]:
    cases: list[Case] = []
    for case_id, dotted, value, key, marker, stack in [
        ("true-port", "services.backend.port", True, "services.backend.port", "port: true", "dev"),
        ("false-port", "services.web.port", False, "services.web.port", "port: false", "dev"),
        ("string-port", "services.backend.port", "3001", "services.backend.port", "port: '3001'", "dev"),
        ("float-port", "services.backend.port", 3001.5, "services.backend.port", "port: 3001.5", "dev"),
        ("list-port", "services.backend.port", [3001], "services.backend.port", "port:", "dev"),
        (
            "true-failure",
            "services.backend.probes.failureThreshold",
            True,
            "failureThreshold",
            "failureThreshold: true",
            "dev",
        ),
        ("true-period", "services.web.probes.periodSeconds", True, "periodSeconds", "periodSeconds: true", "dev"),
        ("true-cpu", "services.web.resources.limits.cpu", True, "limits.cpu", "cpu: true", "dev"),
        ("string-cpu", "services.web.resources.limits.cpu", "1", "limits.cpu", "cpu: '1'", "dev"),
        ("true-min-replicas", "autoscale.minReplicas", True, "minReplicas", "minReplicas: true", "staging"),
        ("true-max-replicas", "autoscale.maxReplicas", True, "maxReplicas", "maxReplicas: true", "staging"),
        ("string-min-replicas", "autoscale.minReplicas", "2", "minReplicas", "minReplicas: '2'", "staging"),
        ("true-cpu-utilization", "autoscale.cpuUtilization", True, "cpuUtilization", "cpuUtilization: true", "staging"),
        ("yes-ha", "redis.highAvailability", "yes", "highAvailability", "highAvailability: 'yes'", "dev"),
        ("on-public", "redis.publicNetworkAccess", "on", "publicNetworkAccess", "publicNetworkAccess: 'on'", "dev"),
        ("one-strict", "redis.strict", 1, "redis.strict", "strict: 1", "dev"),
        ("yes-zone", "compute.containerApps.zoneRedundant", "yes", "zoneRedundant", "zoneRedundant: 'yes'", "staging"),
        (
            "string-true-keys",
            "redis.accessKeysAuthentication",
            "true",
            "accessKeys",
            "accessKeysAuthentication: 'true'",
            "dev",
        ),
        (
            "yes-unlisted",
            "allowUnlistedLocation",
            "yes",
            "allowUnlistedLocation",
            "allowUnlistedLocation: 'yes'",
            "dev",
        ),
        ("one-unlisted", "allowUnlistedLocation", 1, "allowUnlistedLocation", "allowUnlistedLocation: 1", "dev"),
        ("int-env-value", "services.web.env", {"PORT_HINT": 8080}, "services.web.env.PORT_HINT", "PORT_HINT", "dev"),
        ("map-image", "services.web.image", {"a": "b"}, "services.web.image", "^image:", "dev"),
        ("int-retention", "monitoring.logRetentionDays", "30", "logRetentionDays", "logRetentionDays: '30'", "dev"),
        (
            "bool-sampling",
            "monitoring.samplingPercentage",
            True,
            "samplingPercentage",
            "samplingPercentage: true",
            "dev",
        ),
        ("list-tags", "tags", ["a", "b"], "tags", "fin-agent:tags:", "dev"),
        ("int-tag-value", "tags", {"team": 5}, "tags.team", "team: 5", "dev"),
        ("null-tag-value", "tags", {"team": None}, "tags.team", "team: null", "dev"),
        ("bool-environment", "environment", "production", "environment", "fin-agent:environment", "dev"),
        ("int-redis-version", "redis.redisVersion", 6, "redisVersion", "redisVersion: 6", "dev"),
        ("bad-cidr", "network.addressSpace", "10.0.0.0/33", "addressSpace", "addressSpace", "staging"),
        ("int-cidr", "network.appsSubnet", 10, "appsSubnet", "appsSubnet: 10", "staging"),
    ]:
        cases.append(setting(case_id, dotted, value, key, marker, stack))
    return cases


def _cases_namespaces() -> list[Case]:
    cases = []
    for index, namespace in enumerate(["fin-agnet", "FIN-AGENT", "fin_agent", "finagent", "fin-agen", "Fin-Agent"]):
        snippet = f"  {namespace}:monitoring:\n    logRetentionDays: 90\n"
        cases.append(
            appended(f"namespace-typo-{index}", snippet, "did you mean 'fin-agent:monitoring'", f"{namespace}:")
        )
    for index, namespace in enumerate(["aws", "gcp", "other-project", "azure"]):
        snippet = f"  {namespace}:region: westeurope\n"
        cases.append(appended(f"namespace-foreign-{index}", snippet, f"{namespace}:region", f"{namespace}:region"))
    cases.append(
        appended("namespace-provider-typo", "  azure-nativ:location: westeurope\n", "azure-native", "azure-nativ")
    )
    cases.append(
        appended(
            "namespace-unknown-key", "  fin-agent:monitorng:\n    x: 1\n", "did you mean 'monitoring'", "monitorng"
        )
    )
    cases.append(appended("namespaceless-unknown", "  locaton: westeurope\n", "did you mean 'location'", "locaton"))
    return cases


def _cases_env_and_receivers() -> list[Case]:
    cases: list[Case] = []
    for name in [
        "DATABASE_URL",
        "DB_PASS",
        "STRIPE_KEY",
        "SUPABASE_KEY",
        "MONGODB_URI",
        "PG_PWD",
        "SESSION_SECRET",
        "GITHUB_TOKEN",
        "REDIS_URL",
        "SENTRY_DSN",
        "OPENAI_APIKEY",
        "AWS_SECRET_ACCESS_KEY",
    ]:
        value = f"postgres://user:{PLANTED}@db.example/app" if "URL" in name or "URI" in name else PLANTED
        cases.append(
            setting(
                f"credential-env-{name}",
                "services.backend.env",
                {name: value},
                f"services.backend.env.{name}",
                name,
                absent=(PLANTED,),
            )
        )
    for name in [
        "BACKEND_URL",
        "REDIS_HOST",
        "REDIS_PORT",
        "REDIS_TLS",
        "REDIS_AUTH_MODE",
        "AZURE_CLIENT_ID",
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    ]:
        cases.append(setting(f"shadow-env-{name}", "services.web.env", {name: "x"}, f"services.web.env.{name}", name))
    for name in ["REDIS_PASSWORD", "BACKEND_URL", "APPLICATIONINSIGHTS_CONNECTION_STRING"]:
        secrets = {"SUPABASE_URL": "supabaseUrl", name: "someSecret"}
        cases.append(
            setting(
                f"shadow-secret-{name}", "services.backend.secrets", secrets, f"services.backend.secrets.{name}", name
            )
        )
    # A secret value written where a secret reference belongs: named, never echoed.
    for index, value in enumerate(
        [
            f"sk_live_{PLANTED}",
            f"https://hooks.example/services/T000/{PLANTED}",
            f"{PLANTED}",
            f"postgres://u:{PLANTED}@h/db",
        ]
    ):
        cases.append(
            setting(
                f"secret-value-as-reference-{index}",
                "services.backend.secrets",
                {"STRIPE_API": value},
                "services.backend.secrets.STRIPE_API",
                "STRIPE_API",
                absent=(PLANTED,),
            )
        )
        hooks = [{"name": "ops", "urlSecret": value}]
        cases.append(
            setting(
                f"webhook-url-as-reference-{index}",
                "monitoring.receivers.webhooks",
                hooks,
                "urlSecret",
                "urlSecret",
                absent=(PLANTED,),
            )
        )
    receivers = [
        (
            "dup-email-names",
            {"emails": [{"name": "ops", "address": "a@x.example"}, {"name": "ops", "address": "b@x.example"}]},
        ),
        (
            "dup-email-case",
            {"emails": [{"name": "Ops", "address": "a@x.example"}, {"name": "ops", "address": "b@x.example"}]},
        ),
        (
            "dup-email-webhook",
            {
                "emails": [{"name": "ops", "address": "a@x.example"}],
                "webhooks": [{"name": "ops", "urlSecret": "opsHook"}],
            },
        ),
    ]
    for case_id, value in receivers:
        cases.append(setting(case_id, "monitoring.receivers", value, "name", "^name: ops"))
    cases.append(setting("empty-owner", "owner", "", "owner", "fin-agent:owner"))
    cases.append(setting("long-owner", "owner", "o" * 300, "owner", "fin-agent:owner"))
    return cases


CASES = _cases_yaml() + _cases_bounds_and_encoding() + _cases_types() + _cases_namespaces() + _cases_env_and_receivers()


def test_the_corpus_has_at_least_150_cases_with_unique_ids() -> None:
    assert len(CASES) >= 150
    assert len({case.id for case in CASES}) == len(CASES)


def _run(case: Case, tmp_path: Path):
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    path = stacks / f"Pulumi.{case.stack}.yaml"
    path.write_bytes(case.content)
    result = CliRunner().invoke(cli, ["plan", case.stack, "--stacks-dir", str(stacks), "--format", "json"])
    return path, result


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_stack_file_is_refused_cleanly(case: Case, tmp_path: Path) -> None:
    path, result = _run(case, tmp_path)
    output = result.output
    assert result.exit_code == case.code, output[-2000:]
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in output
    assert len(output) < MAX_MESSAGE, f"{len(output)} characters of error"
    assert str(path) in output, output[:2000]
    assert case.key in output, output[:2000]
    if case.line is not None:
        assert f"{path}:{case.line}" in output, output[:2000]
    for secret in case.absent:
        assert secret not in output
    assert result.stdout == ""  # nothing is shown as planned


@pytest.mark.parametrize(
    "case_id", ["utf16-le-bom", "alias-bomb", "tag-0", "deep-flow", "true-port", "credential-env-DATABASE_URL"]
)
def test_the_console_script_refuses_them_too(case_id: str, tmp_path: Path) -> None:
    case = next(c for c in CASES if c.id == case_id)
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    (stacks / f"Pulumi.{case.stack}.yaml").write_bytes(case.content)
    script = Path(sys.executable).parent / "fin-infra"
    done = subprocess.run(
        [str(script), "plan", case.stack, "--stacks-dir", str(stacks)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert case.key in done.stderr
    assert done.stdout == ""


def _plan_json(text: str, tmp_path: Path, stack: str = "dev") -> dict[str, Any]:
    import json

    stacks = tmp_path / "stacks"
    stacks.mkdir(exist_ok=True)
    (stacks / f"Pulumi.{stack}.yaml").write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["plan", stack, "--stacks-dir", str(stacks), "--format", "json"])
    assert result.exit_code == 0, result.output[-2000:]
    return json.loads(result.stdout)


def _tags_of(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [r["inputs"]["tags"] for r in plan["resources"] if isinstance(r.get("inputs", {}).get("tags"), dict)]


def test_dates_yes_and_quoted_numbers_are_text_as_pulumi_reads_them(tmp_path: Path) -> None:
    """yaml.v3 keeps timestamps, yes/on and quoted numbers as text: so does the plan."""
    text = BASE["dev"] + "  fin-agent:costCenter: '0750'\n  fin-agent:tags:\n    created: 2026-01-01\n    flag: yes\n"
    tags = _tags_of(_plan_json(text, tmp_path))
    assert tags
    assert all(t["created"] == "2026-01-01" and t["flag"] == "yes" and t["cost-center"] == "0750" for t in tags)


def test_a_utf8_bom_and_merge_keys_are_read_as_pulumi_reads_them(tmp_path: Path) -> None:
    text = "\ufeff" + BASE["dev"] + "  fin-agent:tags:\n    <<: {team: core}\n    tier: one\n"
    tags = _tags_of(_plan_json(text, tmp_path))
    assert all(t["team"] == "core" and t["tier"] == "one" for t in tags)


def test_provider_config_is_accepted(tmp_path: Path) -> None:
    text = BASE["dev"] + "  azure-native:location: westeurope\n  pulumi:disable-default-providers: ['*']\n"
    assert _plan_json(text, tmp_path)["resources"]


def test_a_secure_value_is_a_secret_and_never_shown(tmp_path: Path) -> None:
    text = BASE["dev"] + f"  fin-agent:plaidSecret:\n    secure: v1:{PLANTED}\n"
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    (stacks / "Pulumi.dev.yaml").write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["plan", "dev", "--stacks-dir", str(stacks), "--format", "json"])
    assert result.exit_code == 0
    assert PLANTED not in result.output


def test_pulumi_ups_entry_point_refuses_a_mistyped_namespace_too() -> None:
    """Under `pulumi up` the engine passes every namespace; a typo must not be dropped silently."""
    from infra.plan.engine.runner import run_entrypoint
    from infra.settings import SettingsError
    from tests.conftest import raw_config

    raw = raw_config("dev")
    values = dict(raw.values) | {"fin-agnet:monitoring": '{"logRetentionDays": 90}', "azure-native:location": "x"}
    with pytest.raises(SettingsError, match="did you mean 'fin-agent:monitoring'"):
        run_entrypoint(type(raw)(values, raw.secret_keys), "dev")
