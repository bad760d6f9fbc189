"""Distinctive secret values planted everywhere a secret can enter; no command ever prints one.

Where secrets enter: `secure:` config in a stack file (ciphertext) and decrypted config (what
`pulumi up` hands the program); secret stack outputs (`pulumi stack output --json
--show-secrets`); a password in a service URL of the outputs; the PostgreSQL DSN and the Redis
password the probes read from the environment (well-formed, with an unencoded `@`, a malformed
percent escape, key=value, and a password query parameter); a password in an endpoints URL; a
secret written where a secret's *name* belongs. The scan covers stdout, stderr and every report
file of `check` (every format), `loadtest --render-only`, `plan` and `policy` (every format).
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from infra.cli import main as cli
from infra.paths import STACKS_DIR
from infra.plan.command.render import RENDERERS as PLAN_RENDERERS
from infra.plan.command.render import plan_document
from infra.plan.engine.runner import plan_stack
from infra.policy.cli import RENDERERS as POLICY_RENDERERS
from infra.policy.evaluate import evaluate_plan, policy_section
from infra.settings import RawConfig
from tests.conftest import raw_config
from tests.fixtures.checks.servers import free_port, latency_server

FIXTURES = Path(__file__).parent / "fixtures" / "checks"
CLI = Path(sys.executable).parent / "fin-infra"
SECURE = "PLANTEDsecureCiphertext1"
DECRYPTED = "PLANTED-decrypted-secret-2"
OUTPUT_SECRET = "PLANTED-secret-output-3"
URL_PASSWORD = "PLANTEDurlPass4"
DSN_PASSWORD = "PLANTEDdsnPass5"
REDIS_PASSWORD = "PLANTEDredisPass6"
ENDPOINT_PASSWORD = "PLANTEDendpointPass7"
ALL = (SECURE, DECRYPTED, OUTPUT_SECRET, URL_PASSWORD, DSN_PASSWORD, REDIS_PASSWORD, ENDPOINT_PASSWORD)
SECRET_KEYS = ("supabaseUrl", "supabaseServiceKey", "plaidClientId", "plaidSecret", "marketDataApiKey", "aiApiKey")


def assert_clean(*texts: str) -> None:
    everything = "\n".join(texts)
    for secret in ALL:
        assert secret not in everything, f"{secret} was printed"
        # the fragments an unencoded '@' used to leak
        assert secret[len("PLANTED") :] not in everything, f"part of {secret} was printed"


def files_text(folder: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in sorted(folder.rglob("*")) if p.is_file())


def outputs_with_secrets(path: Path, backend_url: str | None) -> Path:
    data = json.loads((FIXTURES / "outputs-dev.json").read_text(encoding="utf-8"))
    data = copy.deepcopy(data)
    # secret outputs, as `--show-secrets` writes them: unknown to the contract, never shown
    data["appInsightsConnectionString"] = f"InstrumentationKey={OUTPUT_SECRET}"
    data["monitoring"]["connectionString"] = OUTPUT_SECRET
    data["redisAccessKey"] = OUTPUT_SECRET
    if backend_url is not None:
        data["services"]["backend"]["url"] = backend_url
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def endpoints_file(path: Path, extra: dict | None = None) -> Path:
    document = {
        "redis": {"host": "127.0.0.1", "port": free_port(), "tls": False, "auth": "password"},
        "database": {"dsnEnv": "FIN_DATABASE_DSN"},
        "probes": {"http": {"requests": 2, "ratePerSecond": 20, "timeoutSeconds": 2}, "counterSampleSeconds": 0.5},
    }
    document["redis"]["passwordEnv"] = "FIN_REDIS_PASSWORD"
    document.update(extra or {})
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def run(command: str, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CLI), command, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
        check=False,
    )


DSNS = {
    "url": f"postgresql://postgres:{DSN_PASSWORD}@127.0.0.1:{{port}}/app",
    "unencoded-at": f"postgresql://postgres:p@{DSN_PASSWORD}@127.0.0.1:{{port}}/app",
    "bad-percent": f"postgresql://postgres:p%zz{DSN_PASSWORD}@127.0.0.1:{{port}}/app",
    "key-value": f"host=127.0.0.1 port={{port}} dbname=app user=postgres password={DSN_PASSWORD} sslmode=bogus",
    "query-password": f"postgresql://postgres@127.0.0.1:{{port}}/app?password={DSN_PASSWORD}&sslmode=bogus",
}


@pytest.mark.parametrize("dsn_kind", sorted(DSNS))
def test_check_reports_in_every_format_hold_no_secret(dsn_kind: str, tmp_path: Path) -> None:
    with latency_server(0.0) as api:
        backend = api.url.replace("http://", f"http://admin:{URL_PASSWORD}@")
        outputs = outputs_with_secrets(tmp_path / "outputs.json", backend)
        endpoints = endpoints_file(tmp_path / "endpoints.yaml")
        env = {"FIN_DATABASE_DSN": DSNS[dsn_kind].format(port=free_port()), "FIN_REDIS_PASSWORD": REDIS_PASSWORD}
        reports = tmp_path / "reports"
        args = ["dev", "--source", "probe", "--outputs", str(outputs), "--endpoints", str(endpoints)]
        args += ["--window", "1s", "--skip", "container-cpu", "--skip", "container-memory", "--skip", "page-load"]
        result = run("check", [*args, "--format", "table,json,junit,markdown,html", "--output-dir", str(reports)], env)
        assert result.returncode in (0, 1, 2, 3), result.stderr[-2000:]
        assert "Traceback" not in result.stderr
        assert len(list(reports.iterdir())) == 5
        table = run("check", [*args, "--only", "db-query-time", "--only", "api-latency"], env)
    report = json.loads((reports / "check-report.json").read_text(encoding="utf-8"))
    rows = [e for t in report["targets"] for e in t["evidence"]]
    assert any("***@" in str(e.get("resource")) for e in rows), "the URL is shown, without its credentials"
    assert_clean(result.stdout, result.stderr, files_text(reports), table.stdout, table.stderr)


def test_a_password_in_an_endpoints_url_is_never_printed(tmp_path: Path) -> None:
    outputs = outputs_with_secrets(tmp_path / "outputs.json", None)
    url = f"http://ops:{ENDPOINT_PASSWORD}@127.0.0.1:9"
    endpoints = endpoints_file(tmp_path / "endpoints.yaml", {"services": {"backend": {"url": url}}})
    for command, extra in (("check", ["--source", "probe"]), ("loadtest", ["--render-only"])):
        result = run(command, ["dev", "--outputs", str(outputs), "--endpoints", str(endpoints), *extra], {})
        assert result.returncode == 4, result.stderr
        assert "services.backend.url" in result.stderr
        assert_clean(result.stdout, result.stderr)


def test_loadtest_render_only_holds_no_secret_output(tmp_path: Path) -> None:
    outputs = outputs_with_secrets(tmp_path / "outputs.json", None)
    printed = run("loadtest", ["dev", "--outputs", str(outputs), "--render-only"], {})
    assert printed.returncode == 0, printed.stderr
    written = run(
        "loadtest", ["dev", "--outputs", str(outputs), "--render-only", "--output-dir", str(tmp_path / "o")], {}
    )
    assert written.returncode == 0, written.stderr
    assert_clean(printed.stdout, printed.stderr, written.stdout, written.stderr, files_text(tmp_path / "o"))


def _stack_folder(tmp_path: Path, extra: str) -> Path:
    stacks = tmp_path / "stacks"
    stacks.mkdir(exist_ok=True)
    text = (STACKS_DIR / "Pulumi.dev.yaml").read_text(encoding="utf-8") + extra
    (stacks / "Pulumi.dev.yaml").write_text(text, encoding="utf-8")
    return stacks


@pytest.mark.parametrize("command", ["plan", "policy"])
@pytest.mark.parametrize("output_format", ["table", "json", "markdown"])
def test_plan_and_policy_never_print_secure_config(command: str, output_format: str, tmp_path: Path) -> None:
    secure = "".join(f"  fin-agent:{key}:\n    secure: v1:AAAA{SECURE}\n" for key in SECRET_KEYS)
    stacks = _stack_folder(tmp_path, secure)
    result = CliRunner().invoke(cli, [command, "dev", "--stacks-dir", str(stacks), "--format", output_format])
    assert result.exit_code == 0, result.output[-2000:]
    out = tmp_path / f"{command}.{output_format}"
    CliRunner().invoke(cli, [command, "dev", "--stacks-dir", str(stacks), "--format", output_format, "-o", str(out)])
    assert_clean(result.output, out.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "extra",
    [
        "  fin-agent:services:\n    backend:\n      image: a/b:1\n      secrets:\n"
        f"        STRIPE_API: sk_live_{SECURE}\n",
        "  fin-agent:monitoring:\n    receivers:\n      webhooks:\n"
        f"        - {{name: ops, urlSecret: 'https://hooks.example/T0/{SECURE}'}}\n",
        f"  fin-agent:owner:\n    secure: 12345{SECURE[-4:]}\n",
        f"  fin-agent:tags:\n    password: {{secure: {{nested: {SECURE}}}}}\n",
        f"  fin-agent:plaidSecret: {SECURE}\n",
    ],
    ids=["secret-as-reference", "webhook-url-as-reference", "secure-not-text", "secure-with-object", "plain-secret"],
)
def test_stack_file_errors_never_print_secret_values(extra: str, tmp_path: Path) -> None:
    text = (STACKS_DIR / "Pulumi.dev.yaml").read_text(encoding="utf-8")
    if "fin-agent:services:" in extra:
        text = (
            text.split("  fin-agent:services:")[0] + extra + "  fin-agent:redis:" + text.split("  fin-agent:redis:")[1]
        )
        extra = ""
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    (stacks / "Pulumi.dev.yaml").write_text(text + extra, encoding="utf-8")
    for command in ("plan", "policy"):
        result = CliRunner().invoke(cli, [command, "dev", "--stacks-dir", str(stacks)])
        assert result.exit_code == 2, result.output[-2000:]
        assert_clean(result.output)


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_decrypted_secrets_appear_in_no_rendering_of_plan_or_policy(stack: str) -> None:
    """What `pulumi up` hands the program (secrets decrypted), through every renderer."""
    raw = raw_config(stack)
    values = dict(raw.values) | {f"fin-agent:{key}": f"{DECRYPTED}-{key}" for key in SECRET_KEYS}
    secret_keys = raw.secret_keys | {f"fin-agent:{key}" for key in SECRET_KEYS}
    result = plan_stack(stack, raw=RawConfig(values, frozenset(secret_keys)))
    report = evaluate_plan(result)
    section = policy_section(report)
    document = plan_document(result, extra_sections={"policy": section})
    texts = [render(document) for render in PLAN_RENDERERS.values()]
    policy_document = {"schemaVersion": 1, "project": "fin-agent", "stack": stack, "policy": section}
    texts += [render(policy_document) for render in POLICY_RENDERERS.values()]
    texts.append(json.dumps(result.outputs, default=str))
    assert_clean(*texts)
