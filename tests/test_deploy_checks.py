"""The deploy's check stage end to end: stand-in `pulumi`, then the real `fin-infra check`.

The deploy runs up to the outputs with the stand-in CLI (tests/test_deploy.py), then calls
`fin-infra check prod --outputs <saved file>` in a subprocess; here the checks probe local
servers on 127.0.0.1 (an API, a web page, Redis) named in an endpoints file, so a fast API
passes the gate and a slow one fails it, and the deploy's exit code says so.

`fin-infra check` and the local-server helpers arrive with the checks branch: on a branch
without them this module is skipped (with that reason); after the merge it must pass.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from infra.deploy.stages import ExitCode
from tests.fixtures.checks import servers
from tests.test_deploy import StandIn, stage, stages, standin  # noqa: F401 (the fixture)

pytestmark = pytest.mark.servers


def endpoints_file(path: Path, api_url: str, web_url: str, redis_port: int) -> Path:
    document = {
        "services": {"backend": {"url": api_url}, "web": {"url": web_url}},
        "redis": {
            "host": "127.0.0.1",
            "port": redis_port,
            "tls": False,
            "auth": "password",
            "passwordEnv": "FIN_REDIS_PASSWORD",
        },
        "probes": {"http": {"requests": 4, "ratePerSecond": 20}, "pageLoad": {"loads": 1}, "counterSampleSeconds": 0.5},
    }
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def deploy_with_checks(standin: StandIn, tmp_path: Path, api_delay: float):  # noqa: F811
    with (
        servers.redis_server() as redis_srv,
        servers.latency_server(api_delay) as api,
        servers.page_server(0.05) as web,
    ):
        endpoints = endpoints_file(tmp_path / "endpoints.yaml", api.url, web.url, redis_srv.port)
        return standin.deploy(
            "prod",
            "--bake-time",
            "0",
            "--source",
            "probe",
            "--no-data",
            "ignore",
            "--window",
            "2s",
            "--endpoints",
            str(endpoints),
            FIN_REDIS_PASSWORD=redis_srv.password,
        )


def test_a_passing_check_completes_the_deploy(standin: StandIn, tmp_path: Path) -> None:  # noqa: F811
    result = deploy_with_checks(standin, tmp_path, api_delay=0.02)
    assert result.returncode == ExitCode.OK, result.stdout + result.stderr
    report = standin.report()
    assert set(stages(report).values()) == {"passed"}
    checks = stage(report, "checks")["data"]
    assert checks["exitCode"] == 0
    assert checks["command"][1:5] == ["check", "prod", "--outputs", str(standin.out / "outputs.json")]
    check_report = json.loads((standin.out / "checks" / "check-report.json").read_text())
    assert {t["id"]: t["verdict"] for t in check_report["targets"]}["api-latency"] == "PASS"


def test_a_failing_check_fails_the_deploy_with_its_own_exit_code(standin: StandIn, tmp_path: Path) -> None:  # noqa: F811
    result = deploy_with_checks(standin, tmp_path, api_delay=0.55)
    assert result.returncode == ExitCode.CHECKS_FAILED == 8, result.stdout + result.stderr
    report = standin.report()
    assert stages(report)["checks"] == "failed"
    assert stage(report, "checks")["data"]["exitCode"] == 2
    assert "beyond their critical threshold" in stage(report, "checks")["detail"]
    assert (standin.out / "checks" / "check-report.md").exists()
