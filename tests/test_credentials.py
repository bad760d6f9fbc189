"""The checks' credential on GitHub Actions: a fresh GitHub ID token per Entra token request.

Everything runs against loopback stand-ins (`tests/fixtures/checks/fake_oidc.py`): the runner's
ID-token endpoint and Entra ID's token endpoint (HTTPS, self-signed), through azure-identity's
real `ClientAssertionCredential`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ClientAssertionCredential, DefaultAzureCredential

from checks.credentials import ID_TOKEN_AUDIENCE, IdTokenError, select_credential
from tests.fixtures.checks.fake_azure import FakeAzure, Series, self_signed_cert
from tests.fixtures.checks.fake_oidc import REQUEST_TOKEN, FakeEntra, IdTokenEndpoint

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "66666666-7777-8888-9999-000000000000"
METRICS_SCOPE = "https://metrics.monitor.azure.com/.default"
LOGS_SCOPE = "https://api.loganalytics.io/.default"
DEV_OUTPUTS = Path(__file__).parent / "fixtures" / "checks" / "outputs-dev.json"
CLI = Path(sys.executable).parent / "fin-infra"


@pytest.fixture
def cert(tmp_path: Path) -> tuple[Path, Path]:
    return self_signed_cert(tmp_path)


@pytest.fixture
def entra(cert: tuple[Path, Path]) -> Iterator[FakeEntra]:
    with FakeEntra(*cert) as server:
        yield server


def github_env(id_endpoint: IdTokenEndpoint) -> dict[str, str]:
    return {**id_endpoint.env(), "AZURE_CLIENT_ID": CLIENT, "AZURE_TENANT_ID": TENANT}


@pytest.mark.parametrize(
    "missing",
    ["ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "AZURE_CLIENT_ID", "AZURE_TENANT_ID", None],
)
def test_the_github_credential_is_chosen_only_with_all_four_variables(missing: str | None) -> None:
    environ = {
        "ACTIONS_ID_TOKEN_REQUEST_URL": "https://runner.invalid/idtoken?api-version=2.0",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": REQUEST_TOKEN,
        "AZURE_CLIENT_ID": CLIENT,
        "AZURE_TENANT_ID": TENANT,
    }
    if missing:
        environ[missing] = ""
    selected = select_credential("login.microsoftonline.com", environ)
    built = selected.build()
    if missing:
        assert (selected.kind, type(built)) == ("default", DefaultAzureCredential)
    else:
        assert (selected.kind, type(built)) == ("github-oidc", ClientAssertionCredential)
        assert REQUEST_TOKEN not in repr(selected)


def test_a_second_audience_after_the_first_assertion_expired_gets_a_fresh_assertion(
    entra: FakeEntra, cert: tuple[Path, Path]
) -> None:
    with IdTokenEndpoint(lifetime=1.0) as id_endpoint:
        selected = select_credential(entra.address, github_env(id_endpoint), connection_verify=str(cert[0]))
        credential = selected.build()
        first = credential.get_token(METRICS_SCOPE)
        assert credential.get_token(METRICS_SCOPE).token == first.token  # cached: no new assertion
        time.sleep(1.3)  # the first ID token (the assertion) has expired
        second = credential.get_token(LOGS_SCOPE)

    assert first.token != second.token
    assert [r.audience for r in id_endpoint.requests] == [ID_TOKEN_AUDIENCE, ID_TOKEN_AUDIENCE]
    assert {r.authorization for r in id_endpoint.requests} == {f"Bearer {REQUEST_TOKEN}"}
    issued = entra.issued()
    assert [(r.tenant, r.client_id, r.scope) for r in issued] == [
        (TENANT, CLIENT, METRICS_SCOPE),
        (TENANT, CLIENT, LOGS_SCOPE),
    ]
    assert [r.assertion for r in issued] == [r.token for r in id_endpoint.requests]
    assert issued[0].assertion != issued[1].assertion


def test_the_stand_in_refuses_an_expired_assertion_as_entra_does(entra: FakeEntra, cert: tuple[Path, Path]) -> None:
    """The control: one assertion reused after it expired (what a signed-in Azure CLI holds) fails."""
    with IdTokenEndpoint(lifetime=1.0) as id_endpoint:
        fetch = select_credential(entra.address, github_env(id_endpoint)).assertion
        assert fetch is not None
        once = fetch()
        credential = ClientAssertionCredential(
            TENANT, CLIENT, lambda: once, authority=entra.address, connection_verify=str(cert[0])
        )
        credential.get_token(METRICS_SCOPE)
        time.sleep(1.3)
        with pytest.raises(ClientAuthenticationError, match="AADSTS700024"):
            credential.get_token(LOGS_SCOPE)


@pytest.mark.parametrize("status", [403, 500])
def test_a_failing_id_token_endpoint_is_a_clear_error_without_tokens(
    entra: FakeEntra, cert: tuple[Path, Path], status: int
) -> None:
    with IdTokenEndpoint() as id_endpoint:
        id_endpoint.fail_status = status
        selected = select_credential(entra.address, github_env(id_endpoint), connection_verify=str(cert[0]))
        with pytest.raises(IdTokenError) as raised:
            selected.build().get_token(METRICS_SCOPE)
    message = str(raised.value)
    assert f"answered HTTP {status}" in message and id_endpoint.address in message
    assert "id-token: write" in message
    assert REQUEST_TOKEN not in message
    assert entra.requests == []  # nothing reached Entra


def test_an_unreachable_id_token_endpoint_is_a_clear_error() -> None:
    with IdTokenEndpoint() as id_endpoint:
        env = github_env(id_endpoint)
    selected = select_credential("login.microsoftonline.com", env)  # the endpoint is closed now
    with pytest.raises(IdTokenError, match="did not answer"):
        selected.preflight()


# -- through `fin-infra check` ---------------------------------------------------------------------


def run_check(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ACTIONS_ID_TOKEN", "AZURE_"))}
    return subprocess.run(
        [str(CLI), "check", "dev", "--outputs", str(DEV_OUTPUTS), *args],
        capture_output=True,
        text=True,
        timeout=90,
        env={**base, **env},
        check=False,
    )


def test_check_exits_4_when_the_id_token_endpoint_fails() -> None:
    with IdTokenEndpoint() as id_endpoint:
        id_endpoint.fail_status = 500
        result = run_check(["--source", "azure", "--format", "json"], github_env(id_endpoint))
    assert result.returncode == 4, result.stderr
    assert "cannot sign in to Azure: the GitHub Actions ID-token endpoint" in result.stderr
    assert "HTTP 500" in result.stderr
    assert result.stdout == ""  # no verdict: the check did not run
    assert REQUEST_TOKEN not in result.stderr + result.stdout


def test_check_signs_in_with_a_fresh_assertion_per_audience(tmp_path: Path) -> None:
    fake = FakeAzure(tmp_path).start()
    try:
        outputs = json.loads(DEV_OUTPUTS.read_text())
        group = outputs["services"]["backend"]["resourceIds"][0]
        fake.metric(
            group,
            "CpuUsage",
            "Count",
            Series({"containerName": "backend"}, [600]),
            Series({"containerName": "web"}, [300]),
        )
        fake.log("AppRequests", 120.0, 100, role="backend")
        with FakeEntra(fake.cert, fake.key) as entra, IdTokenEndpoint() as id_endpoint:
            result = run_check(
                ["--source", "azure", "--format", "json", "--only", "container-cpu", "--only", "api-latency",
                 "--no-conformance", "--authority-host", entra.address, "--metrics-endpoint", fake.url,
                 "--logs-endpoint", fake.url, "--retries", "0"],
                {**github_env(id_endpoint), "REQUESTS_CA_BUNDLE": str(fake.cert)},
            )  # fmt: skip
    finally:
        fake.stop()
    assert result.returncode == 0, result.stderr
    assert "credential: GitHub Actions OIDC" in result.stderr
    verdicts = {t["id"]: t["verdict"] for t in json.loads(result.stdout)["targets"]}
    assert verdicts == {"container-cpu": "PASS", "api-latency": "PASS"}
    issued = entra.issued()
    assert sorted(r.scope for r in issued) == sorted([METRICS_SCOPE, LOGS_SCOPE])
    # one ID token for the preflight, then one per Entra token request, each used once
    assert len(id_endpoint.requests) == 1 + len(issued)
    assert len({r.assertion for r in issued}) == len(issued)
    assert {r.authorization for r in fake.requests} == {f"Bearer {r.access_token}" for r in issued}
    everything = result.stdout + result.stderr
    assert REQUEST_TOKEN not in everything
    assert not any(r.token and r.token in everything for r in id_endpoint.requests)
