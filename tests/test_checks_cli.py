"""`fin-infra check` end to end: options, outputs from a file or the pulumi CLI, reports, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import yaml

from tests.fixtures.checks.fake_azure import FakeAzure, Series
from tests.fixtures.checks.servers import (
    PostgresServer,
    RedisServer,
    latency_server,
    page_server,
    postgres_server,
    redis_server,
)

FIXTURES = Path(__file__).parent / "fixtures" / "checks"
DEV_OUTPUTS = FIXTURES / "outputs-dev.json"
CLI = Path(sys.executable).parent / "fin-infra"


def run(args: list[str], env: dict[str, str] | None = None, timeout: float = 90) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [str(CLI), "check", *args], capture_output=True, text=True, timeout=timeout, env=full_env, check=False
    )


def write_endpoints(path: Path, document: dict) -> Path:
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


# -- usage errors exit 4, never a verdict code ---------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["dev", "--outputs", str(DEV_OUTPUTS), "--format", "yaml"], "'yaml' is not one of"),
        (["dev", "--outputs", str(DEV_OUTPUTS), "--format", "json,html"], "2 formats need --output-dir"),
        (
            ["staging", "--outputs", str(DEV_OUTPUTS), "--source", "probe"],
            "the outputs are of stack 'dev', not 'staging'",
        ),
        (["dev", "--outputs", str(DEV_OUTPUTS), "--window", "fortnight"], "is not a duration"),
        (
            ["dev", "--outputs", str(DEV_OUTPUTS), "--only", "api-speed", "--source", "probe"],
            "unknown target 'api-speed'",
        ),
        (["dev", "--outputs", "/nonexistent/outputs.json"], "does not exist"),
        (["dev", "--source", "sometimes", "--outputs", str(DEV_OUTPUTS)], "'sometimes' is not one of"),
    ],
)
def test_usage_problems_exit_4_with_a_clear_message(args: list[str], message: str) -> None:
    result = run(args)
    assert result.returncode == 4, result.stderr
    assert message in result.stderr


def test_an_invalid_endpoints_file_names_the_key(tmp_path: Path) -> None:
    endpoints = write_endpoints(tmp_path / "e.yaml", {"redis": {"hostname": "x"}, "probes": {"http": {"requests": 0}}})
    result = run(["dev", "--outputs", str(DEV_OUTPUTS), "--endpoints", str(endpoints), "--source", "probe"])
    assert result.returncode == 4
    assert "redis.hostname: Extra inputs are not permitted" in result.stderr
    assert "probes.http.requests: Input should be greater than or equal to 1" in result.stderr


def test_without_outputs_file_or_pulumi_cli_the_check_says_what_to_do(tmp_path: Path) -> None:
    result = run(["dev", "--source", "probe"], env={"PATH": str(tmp_path)})
    assert result.returncode == 4
    assert "pulumi stack output --json --show-secrets > outputs.json" in result.stderr


# -- probe mode against real local servers -------------------------------------------------------


@pytest.fixture(scope="module")
def local_platform() -> Iterator[dict]:
    """Redis, PostgreSQL (with pg_stat_statements), an API and a web page, all on 127.0.0.1."""
    with (
        redis_server() as redis_srv,
        postgres_server() as pg_srv,
        latency_server(0.02) as api,
        page_server(0.05) as web,
    ):
        with psycopg.connect(pg_srv.dsn(), autocommit=True) as connection:
            connection.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        yield {"redis": redis_srv, "pg": pg_srv, "api": api, "web": web}


def local_endpoints(path: Path, platform: dict) -> Path:
    redis_srv: RedisServer = platform["redis"]
    return write_endpoints(
        path,
        {
            "services": {
                "backend": {"url": platform["api"].url, "paths": ["/api/v1/ping"]},
                "web": {"url": platform["web"].url},
            },
            "redis": {
                "host": "127.0.0.1",
                "port": redis_srv.port,
                "tls": False,
                "auth": "password",
                "passwordEnv": "FIN_REDIS_PASSWORD",
            },
            "database": {"dsnEnv": "FIN_DATABASE_DSN"},
            "probes": {
                "http": {"requests": 5, "ratePerSecond": 20},
                "pageLoad": {"loads": 1},
                "counterSampleSeconds": 0.5,
            },
        },
    )


def traffic(platform: dict, seconds: float) -> threading.Thread:
    """The application at work during the window: cache lookups (9 hits per miss) and queries."""

    def work() -> None:
        redis_client = platform["redis"].client()
        redis_client.set("session:1", "x")
        pg: PostgresServer = platform["pg"]
        with psycopg.connect(pg.dsn(), autocommit=True) as connection:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                for _ in range(9):
                    redis_client.get("session:1")
                redis_client.get("session:missing")
                connection.execute("SELECT pg_sleep(0.01)")
                time.sleep(0.05)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


@pytest.mark.servers
def test_probe_mode_against_local_servers_passes_and_writes_every_format(local_platform: dict, tmp_path: Path) -> None:
    endpoints = local_endpoints(tmp_path / "endpoints.yaml", local_platform)
    secrets = {"FIN_REDIS_PASSWORD": local_platform["redis"].password, "FIN_DATABASE_DSN": local_platform["pg"].dsn()}
    worker = traffic(local_platform, 3.0)
    result = run(
        [
            "dev", "--source", "probe", "--outputs", str(DEV_OUTPUTS), "--endpoints", str(endpoints),
            "--window", "3s", "--skip", "container-cpu", "--skip", "container-memory",
            "--format", "table,json,junit,markdown,html", "--output-dir", str(tmp_path / "reports"),
        ],
        env=secrets,
    )  # fmt: skip
    worker.join()
    assert result.returncode == 0, result.stderr + result.stdout
    files = sorted(p.name for p in (tmp_path / "reports").iterdir())
    assert files == [
        "check-report.html",
        "check-report.json",
        "check-report.junit.xml",
        "check-report.md",
        "check-report.txt",
    ]
    document = json.loads((tmp_path / "reports" / "check-report.json").read_text())
    verdicts = {t["id"]: t["verdict"] for t in document["targets"]}
    assert verdicts == {
        "api-latency": "PASS",
        "api-latency-errors": "PASS",
        "cache-hit-rate": "PASS",
        "db-query-time": "PASS",
        "page-load": "PASS",
        "page-load-errors": "PASS",
    }
    hit_rate = next(t for t in document["targets"] if t["id"] == "cache-hit-rate")["evidence"][0]
    assert hit_rate["value"] == pytest.approx(90.0, abs=0.5)
    api_rows = {e["label"] for e in next(t for t in document["targets"] if t["id"] == "api-latency")["evidence"]}
    assert api_rows == {"backend GET /health", "backend GET /api/v1/ping"}
    assert [c["verdict"] for c in document["conformance"]] == ["PASS"]  # the live eviction policy
    assert "target container-cpu skipped (--skip)" in document["notes"]
    everything = "".join(p.read_text() for p in (tmp_path / "reports").iterdir())
    for secret in (*secrets.values(), "unused-secret-pw"):
        assert secret not in everything + result.stderr


@pytest.mark.servers
def test_targets_no_probe_can_measure_make_the_run_inconclusive(local_platform: dict, tmp_path: Path) -> None:
    endpoints = local_endpoints(tmp_path / "endpoints.yaml", local_platform)
    env = {"FIN_REDIS_PASSWORD": local_platform["redis"].password, "FIN_DATABASE_DSN": local_platform["pg"].dsn()}
    args = ["dev", "--source", "probe", "--outputs", str(DEV_OUTPUTS), "--endpoints", str(endpoints), "--window", "0s"]
    args += ["--only", "container-cpu", "--only", "api-latency", "--format", "json"]
    result = run(args, env=env)
    assert result.returncode == 3
    document = json.loads(result.stdout)
    cpu = next(t for t in document["targets"] if t["id"] == "container-cpu")
    assert cpu["verdict"] == "NO_DATA"
    assert "no probe measure for this target" in cpu["summary"]
    ignored = run([*args[:-2], "--no-data", "ignore", "--format", "json"], env=env)
    assert ignored.returncode == 0, "NO_DATA is reported but does not count with --no-data ignore"


@pytest.mark.servers
def test_a_slow_api_fails_the_gate_with_exit_2(tmp_path: Path) -> None:
    with latency_server(0.55) as slow:
        endpoints = write_endpoints(
            tmp_path / "e.yaml",
            {"services": {"backend": {"url": slow.url}}, "probes": {"http": {"requests": 4, "ratePerSecond": 20}}},
        )
        result = run(
            [
                "dev",
                "--source",
                "probe",
                "--outputs",
                str(DEV_OUTPUTS),
                "--endpoints",
                str(endpoints),
                "--only",
                "api-latency",
                "--no-conformance",
                "--format",
                "markdown",
            ]
        )
    assert result.returncode == 2
    assert "❌ FAIL | **api-latency**" in result.stdout


@pytest.mark.servers
def test_warnings_fail_only_with_fail_on_warn(tmp_path: Path) -> None:
    with latency_server(0.25) as api:
        endpoints = write_endpoints(
            tmp_path / "e.yaml",
            {"services": {"backend": {"url": api.url}}, "probes": {"http": {"requests": 3, "ratePerSecond": 20}}},
        )
        args = [
            "dev",
            "--source",
            "probe",
            "--outputs",
            str(DEV_OUTPUTS),
            "--endpoints",
            str(endpoints),
            "--only",
            "api-latency",
            "--no-conformance",
        ]
        lenient = run(args)
        strict = run([*args, "--fail-on", "warn"])
    assert lenient.returncode == 0 and "WARN" in lenient.stdout
    assert strict.returncode == 1


def test_outputs_come_from_the_pulumi_cli_when_no_file_is_given(tmp_path: Path) -> None:
    log = tmp_path / "pulumi-args.txt"
    pulumi = tmp_path / "pulumi"
    pulumi.write_text(f'#!/bin/sh\necho "$@" > {log}\ncat {DEV_OUTPUTS}\n', encoding="utf-8")
    pulumi.chmod(0o755)
    with latency_server(0.01) as api:
        endpoints = write_endpoints(
            tmp_path / "e.yaml",
            {"services": {"backend": {"url": api.url}}, "probes": {"http": {"requests": 2, "ratePerSecond": 20}}},
        )
        result = run(
            [
                "dev",
                "--source",
                "probe",
                "--endpoints",
                str(endpoints),
                "--only",
                "api-latency",
                "--no-conformance",
                "--format",
                "json",
            ],
            env={"PATH": f"{tmp_path}:{os.environ['PATH']}"},
        )
    assert result.returncode == 0, result.stderr
    args = log.read_text().split()
    assert args[:4] == ["stack", "output", "--json", "--show-secrets"] and "--stack" in args and "dev" in args


# -- Azure sources through the CLI: DefaultAzureCredential via a stand-in `az` -------------------


def test_azure_source_through_the_cli_with_the_azure_cli_credential(tmp_path: Path) -> None:
    fake = FakeAzure(tmp_path).start()
    try:
        outputs = json.loads(DEV_OUTPUTS.read_text())
        group = outputs["services"]["backend"]["resourceIds"][0]
        fake.metric(
            group,
            "CpuUsage",
            "Count",
            Series({"containerName": "backend"}, [600, 700]),
            Series({"containerName": "web"}, [300]),
        )
        fake.metric(
            group,
            "MemoryUsage",
            "Bytes",
            Series({"containerName": "backend"}, [1.5e9]),
            Series({"containerName": "web"}, [0.5e9]),
        )
        cache = outputs["cache"]
        fake.metric(cache["resourceId"], "cachehits", "Count", Series({}, [95]))
        fake.metric(cache["resourceId"], "cachemisses", "Count", Series({}, [5]))
        for table, value in (("AppRequests", 120.0), ("AppDependencies", 12.0), ("AppBrowserTimings", 1800.0)):
            fake.log(table, value, 100)

        def container(name: str, requests: tuple[float, float], limits: tuple[float, float]) -> dict:
            sizes = {
                "requests": {"cpu": requests[0], "memoryInGB": requests[1]},
                "limits": {"cpu": limits[0], "memoryInGB": limits[1]},
            }
            env = [{"name": "OTEL_SERVICE_NAME", "value": name}]  # the role name the outputs give
            return {"name": name, "properties": {"resources": sizes, "environmentVariables": env}}

        fake.resource(
            group, {"containers": [container("backend", (1.5, 3), (2, 4)), container("web", (0.5, 1), (1, 2))]}
        )
        fake.resource(cache["databaseId"], {"evictionPolicy": "AllKeysLRU"})
        az_log = tmp_path / "az-args.txt"
        az = tmp_path / "az"
        az.write_text(
            "#!/bin/sh\n"
            f'echo "$@" >> {az_log}\n'
            'echo \'{"accessToken": "cli-token", "expiresOn": "2099-01-01 00:00:00.000000", '
            '"expires_on": 4070908800, "tokenType": "Bearer"}\'\n',
            encoding="utf-8",
        )
        az.chmod(0o755)
        env = {
            "PATH": f"{tmp_path}:{os.environ['PATH']}",
            "AZURE_TOKEN_CREDENTIALS": "AzureCliCredential",
            "REQUESTS_CA_BUNDLE": str(fake.cert),
        }
        result = run(
            ["dev", "--source", "azure", "--outputs", str(DEV_OUTPUTS), "--format", "json", "--window", "10m",
             "--arm-endpoint", fake.url, "--metrics-endpoint", fake.url, "--logs-endpoint", fake.url, "--retries", "0"],
            env=env,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        document = json.loads(result.stdout)
        assert {t["id"]: t["verdict"] for t in document["targets"]} == {
            "api-latency": "PASS", "cache-hit-rate": "PASS", "db-query-time": "PASS",
            "page-load": "PASS", "container-memory": "PASS", "container-cpu": "PASS",
        }  # fmt: skip
        assert {c["verdict"] for c in document["conformance"]} == {"PASS"}
        assert {r.authorization for r in fake.requests} == {"Bearer cli-token"}
        resources = {line.split("--resource")[1].split()[0] for line in az_log.read_text().splitlines()}
        assert resources == {
            "https://metrics.monitor.azure.com",
            "https://api.loganalytics.io",
            "https://management.azure.com",
        }
        assert [c["namespace"] for c in document["calls"] if c["source"] == "azure-metrics"].count(
            "Microsoft.ContainerInstance/containerGroups"
        ) == 1
    finally:
        fake.stop()
