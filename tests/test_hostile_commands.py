"""A corpus of hostile command inputs for check, loadtest, plan, policy and deploy.

Each case is a command line a careless or malicious user could type. Every one must end with
the documented exit code (docs/exit-codes.md), a message naming the offending option, file or
key, and no traceback. Cases run in process (click's runner), with `catch_exceptions=False`
so an uncaught exception fails the case. Nothing here reaches the network: every outputs file
points at 127.0.0.1, and every case is refused before anything is measured.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from infra.cli import main
from tests.test_loadtest import outputs_document

CHECK_USAGE = LOADTEST_USAGE = 4
PLAN_INVALID = POLICY_INVALID = DEPLOY_INVALID = 2
LOADTEST_ARTILLERY = 5


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    code: int
    names: tuple[str, ...]  # every fragment the message must hold (the option, file or key)


@pytest.fixture(scope="module")
def ground(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Files the cases point at: loopback outputs, a regular file, a folder, broken files."""
    root = tmp_path_factory.mktemp("hostile")
    (root / "afile").write_text("x", encoding="utf-8")
    (root / "adir").mkdir()
    for name, edit in OUTPUT_EDITS.items():
        document = loopback_outputs()
        edit(document)
        (root / f"outputs-{name}.json").write_text(json.dumps(document), encoding="utf-8")
    (root / "outputs.json").write_text(json.dumps(loopback_outputs()), encoding="utf-8")
    (root / "outputs-staging.json").write_text(json.dumps(loopback_outputs("staging")), encoding="utf-8")
    (root / "outputs-not-json.json").write_text("{not json", encoding="utf-8")
    (root / "outputs-latin1.json").write_bytes(b'{"stack": "d\xe9v"}')
    payloads = {
        "payload-header.csv": "user\nu-1\n",
        "payload-empty.csv": "userId\n",
        "payload-space.csv": "userId\nu 1\n",
        "payload-two.csv": "userId\nu-1,u-2\n",
        "payload-template.csv": "userId\n{{ $processEnvironment.HOME }}\n",
        "payload-nothing.csv": "",
    }
    for name, text in payloads.items():
        (root / name).write_text(text, encoding="utf-8")
    (root / "payload-latin1.csv").write_bytes(b"userId\nu-\xe9\n")
    (root / "endpoints-template.yaml").write_text(
        "services:\n  backend:\n    url: 'http://127.0.0.1:9/{{ $env.HOME }}'\n", encoding="utf-8"
    )
    (root / "endpoints-ftp.yaml").write_text("services:\n  backend:\n    url: 'ftp://127.0.0.1/'\n", encoding="utf-8")
    (root / "endpoints-port.yaml").write_text(
        "services:\n  backend:\n    url: 'http://127.0.0.1:99999/'\n", encoding="utf-8"
    )
    (root / "targets-latin1.yaml").write_bytes(b"targets:\n  - id: caf\xe9\n")
    (root / "reports").mkdir()
    (root / "reports" / "check-report.json").mkdir()
    (root / "reports" / "loadtest-report.json").mkdir()
    return root


def loopback_outputs(stack: str = "dev") -> dict:
    document = outputs_document("http://127.0.0.1:9", stack=stack)
    document["cache"]["hostName"] = "127.0.0.1"
    return document


def _backend(document: dict) -> dict:
    return document["services"]["backend"]


OUTPUT_EDITS = {
    "health-url": lambda d: _backend(d).update(healthPath="http://attacker.example/health"),
    "health-scheme-relative": lambda d: _backend(d).update(healthPath="//attacker.example/h"),
    "health-newline": lambda d: _backend(d).update(healthPath="/health\nbefore:"),
    "health-crlf": lambda d: _backend(d).update(healthPath="/health\r\nX-Evil: 1"),
    "health-template": lambda d: _backend(d).update(healthPath="/h?{{ $processEnvironment.HOME }}"),
    "health-env-template": lambda d: _backend(d).update(healthPath="/h{{$env.HOME}}"),
    "health-space": lambda d: _backend(d).update(healthPath="/health check"),
    "health-relative": lambda d: _backend(d).update(healthPath="health"),
    "health-empty": lambda d: _backend(d).update(healthPath=""),
    "health-huge": lambda d: _backend(d).update(healthPath="/" + "a" * 5000),
    "health-fragment": lambda d: _backend(d).update(healthPath="/health#x"),
    "health-tab": lambda d: _backend(d).update(healthPath="/health\tx"),
    "health-nul": lambda d: _backend(d).update(healthPath="/health\x00"),
    "health-unicode-line": lambda d: _backend(d).update(healthPath="/health\u2028x"),
    "url-template": lambda d: _backend(d).update(url="http://127.0.0.1:9/{{ $processEnvironment.HOME }}"),
    "url-ftp": lambda d: _backend(d).update(url="ftp://127.0.0.1:9"),
    "url-newline": lambda d: _backend(d).update(url="http://127.0.0.1:9/\nx"),
    "url-no-host": lambda d: _backend(d).update(url="http://"),
    "url-port": lambda d: _backend(d).update(url="http://127.0.0.1:70000"),
    "url-brace": lambda d: _backend(d).update(url="http://127.0.0.1:9/{x}"),
    "url-null": lambda d: _backend(d).update(url=None),
    "no-backend": lambda d: d["services"].pop("backend"),
    "stack-template": lambda d: d.update(stack="dev{{ $env.HOME }}"),
}


def _check(*extra: str) -> tuple[str, ...]:
    return ("check", "dev", "--source", "probe", "--outputs", "{G}/outputs.json", *extra)


def _load(*extra: str, outputs: str = "outputs.json") -> tuple[str, ...]:
    return ("loadtest", "dev", "--outputs", f"{{G}}/{outputs}", "--render-only", *extra)


CHECK_CASES = [
    Case("window-word", _check("--window", "abc"), CHECK_USAGE, ("--window",)),
    Case("window-exp", _check("--window", "1e400"), CHECK_USAGE, ("--window",)),
    Case("window-overflow-h", _check("--window", "99999999999999999999h"), CHECK_USAGE, ("--window",)),
    Case("window-overflow-iso", _check("--window", "PT99999999999999999H"), CHECK_USAGE, ("--window",)),
    Case("window-overflow-days", _check("--window", "P9999999999D"), CHECK_USAGE, ("--window",)),
    Case("window-too-long", _check("--window", "P31D"), CHECK_USAGE, ("--window", "720 h")),
    Case("window-empty", _check("--window", ""), CHECK_USAGE, ("--window",)),
    Case("window-negative", _check("--window", "-5m"), CHECK_USAGE, ("--window",)),
    Case("window-huge-number", _check("--window", "9" * 400), CHECK_USAGE, ("--window",)),
    Case("bake-overflow", _check("--bake", "999999999999999999999h"), CHECK_USAGE, ("--bake",)),
    Case("bake-overflow-seconds", _check("--bake", "9" * 400), CHECK_USAGE, ("--bake",)),
    Case("bake-two-days", _check("--bake", "P2D"), CHECK_USAGE, ("--bake", "24 h")),
    Case("bake-word", _check("--bake", "soon"), CHECK_USAGE, ("--bake",)),
    Case("bake-newline", _check("--bake", "5m\n1h"), CHECK_USAGE, ("--bake",)),
    Case("outdir-under-file", _check("--output-dir", "{G}/afile/reports"), CHECK_USAGE, ("--output-dir",)),
    Case("outdir-proc", _check("--output-dir", "/proc/fin-reports"), CHECK_USAGE, ("--output-dir",)),
    Case("outdir-proc-self", _check("--output-dir", "/proc/self/fin"), CHECK_USAGE, ("--output-dir",)),
    Case("outdir-sys", _check("--output-dir", "/sys/fin-reports"), CHECK_USAGE, ("--output-dir",)),
    Case("outdir-is-file", _check("--output-dir", "{G}/afile"), CHECK_USAGE, ("--output-dir",)),
    Case("report-is-dir", _check("--format", "json", "--output-dir", "{G}/reports"), CHECK_USAGE, ("--output-dir",)),
    Case("only-and-skip", _check("--only", "api-latency", "--skip", "api-latency"), CHECK_USAGE, ("--only", "--skip")),
    Case(
        "skip-everything",
        _check(
            *[
                a
                for t in (
                    "api-latency",
                    "cache-hit-rate",
                    "db-query-time",
                    "page-load",
                    "container-memory",
                    "container-cpu",
                )
                for a in ("--skip", t)
            ]
        ),
        CHECK_USAGE,
        ("--skip",),
    ),
    Case("only-unknown", _check("--only", "nope"), CHECK_USAGE, ("nope",)),
    Case("skip-unknown", _check("--skip", "nope"), CHECK_USAGE, ("nope",)),
    Case("format-unknown", _check("--format", "pdf"), CHECK_USAGE, ("--format",)),
    Case("formats-need-dir", _check("--format", "json,html"), CHECK_USAGE, ("--output-dir",)),
    Case("outputs-missing", ("check", "dev", "--outputs", "{G}/nope.json"), CHECK_USAGE, ("nope.json",)),
    Case("outputs-dir", ("check", "dev", "--outputs", "{G}/adir"), CHECK_USAGE, ("--outputs",)),
    Case(
        "outputs-not-json",
        ("check", "dev", "--outputs", "{G}/outputs-not-json.json"),
        CHECK_USAGE,
        ("outputs-not-json.json",),
    ),
    Case(
        "outputs-latin1",
        ("check", "dev", "--outputs", "{G}/outputs-latin1.json"),
        CHECK_USAGE,
        ("outputs-latin1.json",),
    ),
    Case("outputs-other-stack", ("check", "dev", "--outputs", "{G}/outputs-staging.json"), CHECK_USAGE, ("staging",)),
    Case("endpoints-missing", _check("--endpoints", "{G}/nope.yaml"), CHECK_USAGE, ("nope.yaml",)),
    Case("endpoints-dir", _check("--endpoints", "{G}/adir"), CHECK_USAGE, ("--endpoints",)),
    Case("timeout-zero", _check("--timeout", "0"), CHECK_USAGE, ("--timeout",)),
    Case("timeout-inf", _check("--timeout", "inf"), CHECK_USAGE, ("--timeout",)),
    Case("timeout-nan", _check("--timeout", "nan"), CHECK_USAGE, ("--timeout",)),
    Case("timeout-huge", _check("--timeout", "1e999"), CHECK_USAGE, ("--timeout",)),
    Case("retries-negative", _check("--retries", "-1"), CHECK_USAGE, ("--retries",)),
    Case("retries-float", _check("--retries", "1.5"), CHECK_USAGE, ("--retries",)),
    Case("retries-huge", _check("--retries", "9" * 50), CHECK_USAGE, ("--retries",)),
    Case("source-unknown", ("check", "dev", "--source", "magic"), CHECK_USAGE, ("--source",)),
    Case("no-data-unknown", _check("--no-data", "maybe"), CHECK_USAGE, ("--no-data",)),
    Case("fail-on-unknown", _check("--fail-on", "never"), CHECK_USAGE, ("--fail-on",)),
    Case("cloud-unknown", _check("--cloud", "mars"), CHECK_USAGE, ("--cloud",)),
    Case("targets-missing", _check("--targets", "{G}/nope.yaml"), CHECK_USAGE, ("--targets",)),
    Case("targets-latin1", _check("--targets", "{G}/targets-latin1.yaml"), CHECK_USAGE, ("targets-latin1.yaml",)),
    Case("option-unknown", _check("--bogus"), CHECK_USAGE, ("--bogus",)),
    Case("stack-missing", ("check",), CHECK_USAGE, ("STACK",)),
]

LOADTEST_CASES = [
    *[
        Case(f"outputs-{name}", _load(outputs=f"outputs-{name}.json"), LOADTEST_USAGE, (key,))
        for name, key in {
            "health-url": "services.backend.healthPath",
            "health-scheme-relative": "services.backend.healthPath",
            "health-newline": "services.backend.healthPath",
            "health-crlf": "services.backend.healthPath",
            "health-template": "services.backend.healthPath",
            "health-env-template": "services.backend.healthPath",
            "health-space": "services.backend.healthPath",
            "health-relative": "services.backend.healthPath",
            "health-empty": "services.backend.healthPath",
            "health-huge": "services.backend.healthPath",
            "health-fragment": "services.backend.healthPath",
            "health-tab": "services.backend.healthPath",
            "health-nul": "services.backend.healthPath",
            "health-unicode-line": "services.backend.healthPath",
            "url-template": "services.backend.url",
            "url-ftp": "services.backend.url",
            "url-newline": "services.backend.url",
            "url-no-host": "services.backend.url",
            "url-port": "services.backend.url",
            "url-brace": "services.backend.url",
            "url-null": "services.backend.url",
            "no-backend": "services.backend",
        }.items()
    ],
    Case(
        "stack-template",
        ("loadtest", "dev{{ $env.HOME }}", "--outputs", "{G}/outputs-stack-template.json", "--render-only"),
        LOADTEST_USAGE,
        ("stack name",),
    ),
    Case(
        "endpoints-template",
        _load("--endpoints", "{G}/endpoints-template.yaml"),
        LOADTEST_USAGE,
        ("endpoints file services.backend.url",),
    ),
    Case("endpoints-ftp", _load("--endpoints", "{G}/endpoints-ftp.yaml"), LOADTEST_USAGE, ("services.backend.url",)),
    Case("endpoints-port", _load("--endpoints", "{G}/endpoints-port.yaml"), LOADTEST_USAGE, ("services.backend.url",)),
    Case("scale-zero", _load("--scale", "0"), LOADTEST_USAGE, ("--scale",)),
    Case("scale-two", _load("--scale", "2"), LOADTEST_USAGE, ("--scale",)),
    Case("scale-nan", _load("--scale", "nan"), LOADTEST_USAGE, ("--scale",)),
    Case("scale-inf", _load("--scale", "inf"), LOADTEST_USAGE, ("--scale",)),
    Case("scale-negative", _load("--scale", "-1"), LOADTEST_USAGE, ("--scale",)),
    Case("scale-word", _load("--scale", "half"), LOADTEST_USAGE, ("--scale",)),
    Case("payload-missing", _load("--payload", "{G}/nope.csv"), LOADTEST_USAGE, ("nope.csv",)),
    Case("payload-dir", _load("--payload", "{G}/adir"), LOADTEST_USAGE, ("--payload",)),
    Case("payload-header", _load("--payload", "{G}/payload-header.csv"), LOADTEST_USAGE, ("payload-header.csv",)),
    Case("payload-empty", _load("--payload", "{G}/payload-empty.csv"), LOADTEST_USAGE, ("payload-empty.csv",)),
    Case("payload-space", _load("--payload", "{G}/payload-space.csv"), LOADTEST_USAGE, ("payload-space.csv", "line 2")),
    Case("payload-two", _load("--payload", "{G}/payload-two.csv"), LOADTEST_USAGE, ("payload-two.csv", "line 2")),
    Case(
        "payload-template",
        _load("--payload", "{G}/payload-template.csv"),
        LOADTEST_USAGE,
        ("payload-template.csv", "line 2"),
    ),
    Case("payload-nothing", _load("--payload", "{G}/payload-nothing.csv"), LOADTEST_USAGE, ("payload-nothing.csv",)),
    Case("payload-latin1", _load("--payload", "{G}/payload-latin1.csv"), LOADTEST_USAGE, ("payload-latin1.csv",)),
    Case("outdir-under-file", _load("--output-dir", "{G}/afile/out"), LOADTEST_USAGE, ("--output-dir",)),
    Case("outdir-proc", _load("--output-dir", "/proc/fin-load"), LOADTEST_USAGE, ("--output-dir",)),
    Case("outdir-sys", _load("--output-dir", "/sys/fin-load"), LOADTEST_USAGE, ("--output-dir",)),
    Case("outdir-is-file", _load("--output-dir", "{G}/afile"), LOADTEST_USAGE, ("--output-dir",)),
    Case("report-is-dir", _load("--output-dir", "{G}/reports", "--format", "json"), LOADTEST_USAGE, ("--output-dir",)),
    Case("format-unknown", _load("--format", "pdf"), LOADTEST_USAGE, ("--format",)),
    Case("formats-need-dir", _load("--format", "json,junit"), LOADTEST_USAGE, ("--output-dir",)),
    Case("fail-on-unknown", _load("--fail-on", "never"), LOADTEST_USAGE, ("--fail-on",)),
    Case("targets-missing", _load("--targets", "{G}/nope.yaml"), LOADTEST_USAGE, ("--targets",)),
    Case("outputs-other-stack", _load(outputs="outputs-staging.json"), LOADTEST_USAGE, ("staging",)),
    Case("outputs-missing", _load(outputs="nope.json"), LOADTEST_USAGE, ("nope.json",)),
    Case("outputs-not-json", _load(outputs="outputs-not-json.json"), LOADTEST_USAGE, ("outputs-not-json.json",)),
    Case(
        "artillery-missing",
        ("loadtest", "dev", "--outputs", "{G}/outputs.json", "--artillery", "{G}/no-artillery"),
        LOADTEST_ARTILLERY,
        ("--artillery",),
    ),
]

PLAN_CASES = [
    Case(f"{command}-{name}", (command, "dev", *argv), code, names)
    for command, code in (("plan", PLAN_INVALID), ("policy", POLICY_INVALID))
    for name, argv, names in (
        ("out-under-file", ("-o", "{G}/afile/out.txt"), ("--output",)),
        ("out-proc", ("-o", "/proc/fin-out.txt"), ("--output",)),
        ("out-sys", ("--format", "json", "-o", "/sys/fin-out.json"), ("--output",)),
        ("out-dir", ("-o", "{G}/adir"), ("--output",)),
        ("stacks-dir-file", ("--stacks-dir", "{G}/afile"), ("--stacks-dir",)),
        ("stacks-dir-missing", ("--stacks-dir", "{G}/nope"), ("--stacks-dir",)),
        ("format-unknown", ("--format", "pdf"), ("--format",)),
        ("targets-missing", ("--targets", "{G}/nope.yaml"), ("--targets",)),
        ("targets-latin1", ("--targets", "{G}/targets-latin1.yaml"), ("targets-latin1.yaml",)),
        ("targets-not-a-table", ("--targets", "{G}/afile"), ("afile",)),
        ("option-unknown", ("--bogus",), ("--bogus",)),
    )
] + [
    Case("plan-unknown-stack", ("plan", "nosuch"), PLAN_INVALID, ("Pulumi.nosuch.yaml",)),
    Case("plan-stack-traversal", ("plan", "../dev"), PLAN_INVALID, ("dev",)),
    Case("plan-stack-newline", ("plan", "dev\nx"), PLAN_INVALID, ("stack",)),
    Case("policy-unknown-stack", ("policy", "nosuch"), POLICY_INVALID, ("Pulumi.nosuch.yaml",)),
    Case("policy-pack-config-dir", ("policy", "dev", "--pack-config", "{G}/adir"), POLICY_INVALID, ("--pack-config",)),
    Case(
        "policy-pack-config-proc",
        ("policy", "dev", "--pack-config", "/proc/nope/x.json"),
        POLICY_INVALID,
        ("--pack-config",),
    ),
    Case(
        "policy-pack-config-under-file",
        ("policy", "dev", "--pack-config", "{G}/afile/x.json"),
        POLICY_INVALID,
        ("--pack-config",),
    ),
]

DEPLOY_CASES = [
    Case(f"deploy-{name}", ("deploy", "dev", *argv), DEPLOY_INVALID, names)
    for name, argv, names in (
        ("bake-exp", ("--bake-time", "1e400"), ("--bake-time",)),
        ("bake-word", ("--bake-time", "later"), ("--bake-time",)),
        ("bake-negative", ("--bake-time", "-1"), ("--bake-time",)),
        ("bake-overflow", ("--bake-time", "9" * 400), ("--bake-time",)),
        ("window-word", ("--window", "abc"), ("--window",)),
        ("window-overflow", ("--window", "99999999999999999999h"), ("--window",)),
        ("window-too-long", ("--window", "P60D"), ("--window",)),
        ("source-unknown", ("--source", "magic"), ("--source",)),
        ("fail-on-unknown", ("--fail-on", "never"), ("--fail-on",)),
        ("no-data-unknown", ("--no-data", "maybe"), ("--no-data",)),
        ("stacks-dir-missing", ("--stacks-dir", "{G}/nope"), ("--stacks-dir",)),
        ("policy-pack-missing", ("--policy-pack", "{G}/nope"), ("--policy-pack",)),
        ("output-dir-file", ("--output-dir", "{G}/afile"), ("--output-dir",)),
        ("endpoints-dir", ("--endpoints", "{G}/adir"), ("--endpoints",)),
        ("option-unknown", ("--bogus",), ("--bogus",)),
    )
]

CASES = (
    [Case(f"check-{c.id}", c.argv, c.code, c.names) for c in CHECK_CASES]
    + [Case(f"loadtest-{c.id}", c.argv, c.code, c.names) for c in LOADTEST_CASES]
    + PLAN_CASES
    + DEPLOY_CASES
)


def test_the_corpus_has_at_least_100_cases() -> None:
    assert len(CASES) >= 100, len(CASES)
    assert len({case.id for case in CASES}) == len(CASES), "case ids are unique"


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_command_input(case: Case, ground: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no pulumi: nothing deploys, nothing reaches a cloud
    monkeypatch.setenv("AZURE_TOKEN_CREDENTIALS", "AzureCliCredential")  # never the managed-identity endpoint
    monkeypatch.chdir(ground)  # a deploy writes its report under ./out
    argv = [part.replace("{G}", str(ground)) for part in case.argv]
    result = CliRunner().invoke(main, argv, catch_exceptions=False)
    output = result.output
    assert "Traceback" not in output, output[-3000:]
    assert result.exit_code == case.code, f"exit {result.exit_code}, expected {case.code}: {output[-1500:]}"
    for name in case.names:
        assert name in output, f"the message does not name {name!r}: {output[-1500:]}"
