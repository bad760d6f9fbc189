"""`fin-infra loadtest` renders no value as an Artillery template and no value as YAML syntax.

Artillery evaluates `{{ ... }}` in its config with the environment among the variables; a
health path or URL holding `{{ $processEnvironment.X }}` used to send `X` to the target. The
config is now built as data and dumped by a YAML serializer, every outside value is checked
free of template syntax, and Artillery gets only the environment variables it needs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from checks.loadtest.artillery import DEFAULT_ARTILLERY, artillery_environment
from checks.loadtest.config import PORTFOLIO_URL
from checks.model import EXIT_PASS, EXIT_USAGE
from tests.test_loadtest import outputs_document, run_cli
from tests.test_loadtest_artillery import stand_in_api

PLANTED = "planted-4f1c9e-secret-value"
TEMPLATES = [
    "{{ $processEnvironment.FIN_PLANTED }}",
    "{{$env.FIN_PLANTED}}",
    "{{{ $processEnvironment.FIN_PLANTED }}}",
    "{{ $randomString() }}",
    "x}}",
]


def _outputs(tmp_path: Path, url: str, *, health: str = "/health", stack: str = "dev") -> Path:
    document = outputs_document(url, stack=stack)
    document["services"]["backend"]["healthPath"] = health
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _endpoints(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "endpoints.yaml"
    path.write_text(yaml.safe_dump({"services": {"backend": {"url": url}}}), encoding="utf-8")
    return path


@pytest.mark.parametrize("template", TEMPLATES)
def test_template_in_the_health_path_is_refused_naming_the_key(tmp_path: Path, template: str) -> None:
    result = run_cli("dev", "--outputs", str(_outputs(tmp_path, "http://127.0.0.1:9", health=f"/health{template}")))
    assert result.exit_code == EXIT_USAGE
    assert "services.backend.healthPath" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("template", TEMPLATES)
def test_template_in_the_endpoints_url_is_refused_naming_the_key(tmp_path: Path, template: str) -> None:
    endpoints = _endpoints(tmp_path, f"http://127.0.0.1:9/{template}")
    result = run_cli("dev", "--outputs", str(_outputs(tmp_path, None)), "--endpoints", str(endpoints))
    assert result.exit_code == EXIT_USAGE
    assert "endpoints file services.backend.url" in result.output and "Traceback" not in result.output


def test_template_in_the_payload_path_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "{{ $processEnvironment.FIN_PLANTED }}"
    folder.mkdir()
    (folder / "users.csv").write_text("userId\nu-1\n", encoding="utf-8")
    outputs = _outputs(tmp_path, "http://127.0.0.1:9")
    result = run_cli("dev", "--outputs", str(outputs), "--payload", str(folder / "users.csv"), "--render-only")
    assert result.exit_code == EXIT_USAGE and "--payload" in result.output


@pytest.mark.parametrize(
    ("health", "message"),
    [
        ("http://attacker.example/health", "absolute URL"),
        ("//attacker.example/health", "absolute URL"),
        ("/health\nbefore:", "newline"),
        ("/health\r\nX-Injected: 1", "newline"),
        ("/health check", "whitespace"),
        ("health", "starting with '/'"),
        ("/health#frag", "starting with '/'"),
        ("/" + "a" * 3000, "characters long"),
    ],
)
def test_a_health_path_that_is_not_a_path_is_refused(tmp_path: Path, health: str, message: str) -> None:
    result = run_cli("dev", "--outputs", str(_outputs(tmp_path, "http://127.0.0.1:9", health=health)))
    assert result.exit_code == EXIT_USAGE, result.output
    assert "services.backend.healthPath" in result.output and message in result.output


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9/a\nb", "ftp://127.0.0.1/", "http://", "http://127.0.0.1:99999/", "http://a b/"]
)
def test_a_bad_endpoints_url_is_refused(tmp_path: Path, url: str) -> None:
    result = run_cli("dev", "--outputs", str(_outputs(tmp_path, None)), "--endpoints", str(_endpoints(tmp_path, url)))
    assert result.exit_code == EXIT_USAGE, result.output
    assert "services.backend.url" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("url", ["http://user:s3cr3t-planted@127.0.0.1:9/", "https://s3cr3t-planted@127.0.0.1:9/"])
def test_a_url_with_credentials_is_refused_without_echoing_them(tmp_path: Path, url: str) -> None:
    # The endpoints file refuses credentials itself; the stack outputs' URL is checked here.
    result = run_cli("dev", "--outputs", str(_outputs(tmp_path, url)), "--render-only")
    assert result.exit_code == EXIT_USAGE, result.output
    assert "stack output services.backend.url" in result.output and "user name or password" in result.output
    assert "s3cr3t-planted" not in result.output


def test_yaml_syntax_in_the_stack_name_stays_in_a_comment(tmp_path: Path) -> None:
    stack = "dev\nbefore:\n  flow:\n    - get: {url: /steal}\n# "
    outputs = _outputs(tmp_path, "http://127.0.0.1:9", stack=stack)
    result = run_cli("--outputs", str(outputs), "--render-only", "--", stack)
    assert result.exit_code == 0, result.output
    config = yaml.safe_load(result.stdout)
    assert set(config) == {"config", "scenarios"}, "no key came from the stack name"
    assert "before" not in config["config"] and all("/steal" not in json.dumps(s) for s in config["scenarios"])
    header = result.stdout.split("config:", 1)[0]
    assert all(line.startswith("#") for line in header.splitlines() if line), header


def test_every_string_of_the_config_but_the_user_id_is_free_of_templates(tmp_path: Path) -> None:
    result = run_cli("dev", "--outputs", str(_outputs(tmp_path, "http://127.0.0.1:9")), "--render-only")
    strings: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            strings.extend(map(str, value))
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str):
            strings.append(value)

    walk(yaml.safe_load(result.stdout))
    assert [s for s in strings if "{{" in s] == [PORTFOLIO_URL]


def test_artillery_gets_only_the_environment_it_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FIN_PLANTED", "AZURE_CLIENT_SECRET", "ARM_CLIENT_SECRET", "PULUMI_ACCESS_TOKEN", "GITHUB_TOKEN"):
        monkeypatch.setenv(name, PLANTED)
    monkeypatch.setenv("NODE_EXTRA_CA_CERTS", "/tmp/ca.pem")
    environment = artillery_environment()
    assert PLANTED not in environment.values()
    assert environment["NODE_EXTRA_CA_CERTS"] == "/tmp/ca.pem" and "PATH" in environment


@pytest.mark.servers
@pytest.mark.slow
def test_a_real_artillery_run_sends_no_planted_environment_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The refused config never runs; a clean one runs and carries nothing of the environment."""
    if not DEFAULT_ARTILLERY.exists():
        pytest.fail(f"{DEFAULT_ARTILLERY} is missing: run `make setup`")
    monkeypatch.setenv("FIN_PLANTED", PLANTED)
    payload = tmp_path / "users.csv"
    payload.write_text("userId\nu-1\n", encoding="utf-8")
    with stand_in_api(0.0) as (url, api):
        hostile = _outputs(tmp_path, url, health="/health?leak={{ $processEnvironment.FIN_PLANTED }}")
        refused = run_cli("dev", "--outputs", str(hostile), "--payload", str(payload), "--scale", "0.02")
        assert refused.exit_code == EXIT_USAGE and not api.seen, "a refused config sent nothing"
        clean = _outputs(tmp_path, url)
        out = tmp_path / "out"
        ran = run_cli(
            "dev", "--outputs", str(clean), "--payload", str(payload), "--scale", "0.02",
            "--format", "json", "--output-dir", str(out),
        )  # fmt: skip
    assert ran.exit_code == EXIT_PASS, ran.output
    assert api.seen and PLANTED not in json.dumps(api.seen)
    assert PLANTED not in ran.output and PLANTED not in (out / "artillery.yml").read_text(encoding="utf-8")
