"""`fin-infra deploy` end to end, with a stand-in `pulumi` on PATH that answers like the CLI.

The stand-in (tests/fixtures/deploy/pulumi_standin.py) records every call the Automation API
makes, streams engine events back over gRPC, and runs the real policy pack over the stack's
planned resources. These tests cover every stage up to the checks; the checks stage against
the real `fin-infra check` is in tests/test_deploy_checks.py.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from checks.outputs import read_outputs_file
from infra.deploy import checks as deploy_checks
from infra.deploy.checks import CheckOptions, CheckRun, run_checks
from infra.deploy.pipeline import Deployment, DeployOptions
from infra.deploy.stages import ExitCode
from infra.paths import REPO_ROOT
from infra.plan.engine.runner import plan_stack
from infra.policy.crossguard import PACK_DIR, STACK_SECRETS_POLICY, pack_config
from infra.policy.rules import RULES
from tests.fixtures.policy.catalog import catalog

STANDIN = REPO_ROOT / "tests" / "fixtures" / "deploy" / "pulumi_standin.py"
FIN_INFRA = Path(sys.executable).with_name("fin-infra")
SECRET_OUTPUT = "InstrumentationKey=0000-secret-ikey;IngestionEndpoint=https://x"
SUB = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-finagent-prod-abc123"


def contract_outputs(stack: str = "prod") -> dict[str, Any]:
    """Stack outputs as the program exports them (checks/outputs.py contract)."""

    def service(name: str, port: int, cpu: float, memory: float) -> dict[str, Any]:
        return {
            "kind": "containerapp",
            "resourceIds": [f"{SUB}/providers/Microsoft.App/containerApps/ca-finagent-{name}-prod-abc123"],
            "containerName": name,
            "fqdn": f"ca-finagent-{name}.example.azurecontainerapps.io",
            "url": f"https://ca-finagent-{name}.example.azurecontainerapps.io",
            "healthPath": "/health",
            "port": port,
            "ingress": "external",
            "requests": {"cpu": cpu * 0.75, "memoryGb": memory * 0.75},
            "limits": {"cpu": cpu, "memoryGb": memory},
            "scale": {
                "minReplicas": 2,
                "maxReplicas": 10,
                "cpuUtilization": 70,
                "httpConcurrency": 100,
                "cooldownSeconds": 300,
                "pollingSeconds": 30,
            },
        }

    return {
        "contractVersion": 1,
        "project": "fin-agent",
        "stack": stack,
        "environment": stack,
        "location": "westeurope",
        "platform": "containerapps",
        "resourceGroup": {"name": "rg-finagent-prod-abc123", "id": SUB},
        "services": {"backend": service("backend", 3001, 2, 4), "web": service("web", 3000, 1, 2)},
        "cache": {
            "tier": "managed",
            "resourceId": f"{SUB}/providers/Microsoft.Cache/redisEnterprise/amr-finagent-prod-abc123",
            "databaseId": f"{SUB}/providers/Microsoft.Cache/redisEnterprise/amr-finagent-prod-abc123/databases/default",
            "hostName": "amr-finagent-prod-abc123.westeurope.redis.azure.net",
            "port": 10000,
            "tls": True,
            "evictionPolicy": "allkeys-lru",
            "sku": "Balanced_B3",
            "auth": "entra",
        },
        "monitoring": {
            "logAnalyticsWorkspaceId": f"{SUB}/providers/Microsoft.OperationalInsights/workspaces/log-finagent",
            "logAnalyticsCustomerId": "6f0c0c52-0000-4000-8000-000000000001",
            "appInsightsId": f"{SUB}/providers/Microsoft.Insights/components/appi-finagent",
            "appInsightsAppId": "6f0c0c52-0000-4000-8000-000000000002",
        },
        "appInsightsConnectionString": SECRET_OUTPUT,
    }


@dataclass
class StandIn:
    root: Path
    env: dict[str, str]

    @property
    def out(self) -> Path:
        return self.root / "out"

    def calls(self) -> list[list[str]]:
        path = self.root / "state" / "calls.jsonl"
        if not path.exists():
            return []
        argvs = [json.loads(line)["argv"] for line in path.read_text().splitlines()]
        return [argv[1:] if argv[:1] == ["--non-interactive"] else argv for argv in argvs]

    def commands(self) -> list[str]:
        return [" ".join(argv[:2]) if argv[0] == "stack" else argv[0] for argv in self.calls()]

    def declare(self, resources: list[Any]) -> None:
        (self.root / "resources.json").write_text(
            json.dumps(
                [{"type": r.type, "name": r.name, "urn": r.urn, "properties": r.inputs} for r in resources],
                default=str,
            )
        )

    def outputs(self, values: dict[str, Any], secret: list[str]) -> None:
        (self.root / "outputs.json").write_text(json.dumps({"values": values, "secret": secret}))

    def deploy(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        # These tests cover the all-at-once flow; prod's default canary is in tests/test_rollout.py.
        strategy = [] if "--strategy" in args else ["--strategy", "all-at-once"]
        return subprocess.run(
            [str(FIN_INFRA), "deploy", *args, *strategy, "--output-dir", str(self.out)],
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=90,
            cwd=self.root,
        )

    def report(self) -> dict[str, Any]:
        return json.loads((self.out / "deploy-report.json").read_text())


def planned(stack: str) -> list[Any]:
    return [resource for resource in plan_stack(stack).resources if resource.custom]


@pytest.fixture
def standin(tmp_path: Path) -> StandIn:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "state").mkdir()
    wrapper = bin_dir / "pulumi"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{STANDIN}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "STANDIN_DIR": str(tmp_path / "state"),
        "STANDIN_RESOURCES": str(tmp_path / "resources.json"),
        "STANDIN_OUTPUTS": str(tmp_path / "outputs.json"),
        "STANDIN_CONFIG": json.dumps({"fin-agent:location": "westeurope"}),
    }
    env.pop("STANDIN_FAIL", None)
    double = StandIn(tmp_path, env)
    double.declare(planned("prod"))
    double.outputs(contract_outputs(), ["appInsightsConnectionString"])
    return double


def stages(report: dict[str, Any]) -> dict[str, str]:
    return {stage["name"]: stage["status"] for stage in report["stages"]}


def stage(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in report["stages"] if s["name"] == name)


def test_without_the_pulumi_cli_it_fails_at_once_saying_how_to_install_it(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    started = time.monotonic()
    result = subprocess.run(
        [str(FIN_INFRA), "deploy", "prod", "--output-dir", str(tmp_path / "out")],
        env={**os.environ, "PATH": str(empty)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert time.monotonic() - started < 15
    assert result.returncode == ExitCode.PREFLIGHT == 4
    assert "no `pulumi` on PATH" in result.stdout
    assert "curl -fsSL https://get.pulumi.com | sh" in result.stdout
    assert "https://www.pulumi.com/docs/install/" in result.stdout
    report = json.loads((tmp_path / "out" / "deploy-report.json").read_text())
    assert stages(report) == {
        "preflight": "failed",
        "settings": "skipped",
        "preview": "skipped",
        "up": "skipped",
        "outputs": "skipped",
        "bake": "skipped",
        "checks": "skipped",
    }


def test_dry_run_previews_with_the_policy_pack_and_never_updates(standin: StandIn) -> None:
    result = standin.deploy("prod", "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr
    assert standin.commands() == ["version", "stack select", "stack init", "whoami", "preview"]
    preview = standin.calls()[-1]
    assert preview[preview.index("--policy-pack") + 1] == str(PACK_DIR)
    config_path = Path(preview[preview.index("--policy-pack-config") + 1])
    assert config_path == standin.out / "policy-pack-config.json"
    assert json.loads(config_path.read_text()) == pack_config("prod")
    assert {v["enforcementLevel"] for k, v in pack_config("prod").items() if k in {r.id for r in RULES}} == {
        "mandatory"
    }
    assert pack_config("prod")[STACK_SECRETS_POLICY] == {"enforcementLevel": "mandatory"}
    assert preview[preview.index("--event-log") + 1].startswith("tcp://127.0.0.1:")
    report = standin.report()
    assert report["exitCode"] == 0 and report["dryRun"] is True and report["environment"] == "prod"
    assert stages(report)["preview"] == "passed"
    assert {stages(report)[name] for name in ("up", "outputs", "bake", "checks")} == {"skipped"}
    assert "Previewing update (prod)" in result.stdout
    assert "(dry run)" in (standin.out / "deploy-report.md").read_text()


def test_success_updates_saves_masked_outputs_and_reports(standin: StandIn) -> None:
    result = standin.deploy("prod", "--skip-checks")
    assert result.returncode == 0, result.stdout + result.stderr
    assert standin.commands() == [
        "version",
        "stack select",
        "stack init",
        "whoami",
        "preview",
        "up",
        "stack output",
        "stack output",
        "stack history",
    ]
    up = standin.calls()[5]
    assert up[:3] == ["up", "--yes", "--skip-preview"]
    assert up[up.index("--policy-pack") + 1] == str(PACK_DIR)
    outputs_file = standin.out / "outputs.json"
    assert stat.S_IMODE(outputs_file.stat().st_mode) == 0o600
    saved = json.loads(outputs_file.read_text())
    assert saved["appInsightsConnectionString"] == "[secret]"
    assert read_outputs_file(outputs_file).services["backend"].port == 3001
    for path in standin.out.rglob("*"):
        if path.is_file():
            assert SECRET_OUTPUT not in path.read_text(), path
    assert SECRET_OUTPUT not in result.stdout + result.stderr
    report = standin.report()
    assert stages(report)["outputs"] == "passed"
    assert stage(report, "outputs")["data"]["maskedSecrets"] == ["appInsightsConnectionString"]
    assert stages(report)["checks"] == "skipped"
    assert "--skip-checks" in stage(report, "checks")["detail"]
    assert "**Passed**" in (standin.out / "deploy-report.md").read_text()
    # A second deploy selects the stack it created the first time.
    again = standin.deploy("prod", "--dry-run")
    assert again.returncode == 0
    assert standin.commands()[-4:] == ["version", "stack select", "whoami", "preview"]


def test_a_mandatory_policy_violation_fails_the_preview_and_nothing_is_updated(standin: StandIn) -> None:
    standin.declare([*planned("prod"), catalog()["amr-tls-1.0"]])
    result = standin.deploy("prod", "--bake-time", "0")
    assert result.returncode == ExitCode.POLICY == 3, result.stdout + result.stderr
    assert "up" not in standin.commands()
    report = standin.report()
    assert stages(report)["preview"] == "failed"
    assert "1 mandatory policy violation" in stage(report, "preview")["detail"]
    [violation] = report["policyViolations"]
    assert violation["rule"] == "cache-min-tls" and violation["level"] == "mandatory"
    assert violation["resource"].endswith("::amr-tls-1.0")
    assert "minimumTlsVersion is '1.0'" in violation["message"]
    markdown = (standin.out / "deploy-report.md").read_text()
    assert "**Failed: policy** (exit code 3)" in markdown
    assert "| preview | **mandatory** | `cache-min-tls` |" in markdown


def test_the_same_violation_is_advisory_in_dev(standin: StandIn) -> None:
    standin.declare([*planned("dev"), catalog()["amr-tls-1.0"]])
    result = standin.deploy("dev", "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr
    violations = standin.report()["policyViolations"]
    [violation] = [v for v in violations if v["rule"] == "cache-min-tls"]
    assert violation["level"] == "advisory"
    assert {v["level"] for v in violations} == {"advisory"}


def test_a_failing_preview_stops_before_up(standin: StandIn) -> None:
    result = standin.deploy("prod", STANDIN_FAIL="preview")
    assert result.returncode == ExitCode.PREVIEW == 5
    assert standin.commands()[-1] == "preview" and "up" not in standin.commands()
    report = standin.report()
    assert "preview failed (simulated failure)" in stage(report, "preview")["detail"]
    assert {stages(report)[name] for name in ("up", "outputs", "bake", "checks")} == {"skipped"}


def test_a_failing_up_stops_before_the_outputs(standin: StandIn) -> None:
    result = standin.deploy("prod", STANDIN_FAIL="up")
    assert result.returncode == ExitCode.UP == 6
    assert standin.commands()[-1] == "up"
    assert not (standin.out / "outputs.json").exists()
    report = standin.report()
    assert stages(report)["up"] == "failed" and "up failed (simulated failure)" in stage(report, "up")["detail"]
    assert stages(report)["checks"] == "skipped"


def test_not_logged_in_fails_the_preflight(standin: StandIn) -> None:
    result = standin.deploy("prod", STANDIN_FAIL="login")
    assert result.returncode == ExitCode.PREFLIGHT
    assert "PULUMI_ACCESS_TOKEN must be set" in result.stdout
    assert "pulumi login" in result.stdout
    assert "preview" not in standin.commands()


def test_invalid_stack_settings_stop_before_the_preview(standin: StandIn, tmp_path: Path) -> None:
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    stack_file = (REPO_ROOT / "stacks" / "Pulumi.prod.yaml").read_text()
    (stacks / "Pulumi.prod.yaml").write_text(stack_file.replace("Balanced_B3", "Balanced_B2"))
    result = standin.deploy("prod", "--stacks-dir", str(stacks))
    assert result.returncode == ExitCode.INVALID == 2
    assert "fin-agent:redis.sku" in result.stdout
    assert "preview" not in standin.commands()


def test_outputs_the_checks_cannot_read_fail_the_outputs_stage(standin: StandIn) -> None:
    standin.outputs(contract_outputs(), ["services", "appInsightsConnectionString"])
    result = standin.deploy("prod")
    assert result.returncode == ExitCode.OUTPUTS == 7
    detail = stage(standin.report(), "outputs")["detail"]
    assert "services" in detail and "secret, so masked: services" in detail
    assert stages(standin.report())["checks"] == "skipped"


def test_the_bake_time_passes_before_the_checks_run(standin: StandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in standin.env.items():
        monkeypatch.setenv(key, value)
    events: list[tuple[str, Any]] = []

    def checks_recorder(stack: str, outputs_file: Path, report_dir: Path, options: CheckOptions) -> CheckRun:
        events.append(("checks", read_outputs_file(outputs_file).stack))
        return CheckRun(["fin-infra", "check"], 0, ExitCode.OK, "all targets passed")

    monkeypatch.setattr("infra.deploy.pipeline.run_checks", checks_recorder)
    options = DeployOptions(stack="prod", output_dir=standin.out, bake_seconds=420, strategy="all-at-once")
    report = Deployment(options, echo=lambda line: None, sleep=lambda s: events.append(("sleep", s))).run()
    assert report.exit_code == ExitCode.OK
    assert events == [("sleep", 420), ("checks", "prod")]
    assert [s.status for s in report.stages] == ["passed"] * 7


FAKE_CHECK = """#!/bin/sh
printf '%s\\n' "$@" > "$CHECK_ARGS"
printf '{"exitCode": %s}' "$CHECK_EXIT" > "$8/check-report.json"
exit "$CHECK_EXIT"
"""


@pytest.mark.parametrize(
    ("check_exit", "outcome"),
    [
        (0, ExitCode.OK),
        (1, ExitCode.CHECKS_WARNED),
        (2, ExitCode.CHECKS_FAILED),
        (3, ExitCode.CHECKS_INCONCLUSIVE),
        (4, ExitCode.CHECKS_NOT_RUN),
        (70, ExitCode.CHECKS_NOT_RUN),
    ],
)
def test_the_check_stage_passes_its_options_and_maps_the_exit_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, check_exit: int, outcome: ExitCode
) -> None:
    script = tmp_path / "fin-infra"
    script.write_text(FAKE_CHECK)
    script.chmod(0o755)
    monkeypatch.setattr(deploy_checks, "fin_infra_executable", lambda: script)
    monkeypatch.setitem(__import__("infra.cli").cli.COMMANDS, "check", "checks.cli:check")
    monkeypatch.setenv("CHECK_ARGS", str(tmp_path / "args"))
    monkeypatch.setenv("CHECK_EXIT", str(check_exit))
    options = CheckOptions(
        endpoints=tmp_path / "endpoints.yaml", window="PT15M", source="probe", fail_on="warn", no_data="fail"
    )
    run = run_checks("prod", tmp_path / "outputs.json", tmp_path / "reports", options)
    assert run.outcome is outcome and run.exit_code == check_exit
    assert (tmp_path / "args").read_text().split("\n")[:-1] == [
        "check",
        "prod",
        "--outputs",
        str(tmp_path / "outputs.json"),
        "--format",
        "table,json,junit,markdown,html",
        "--output-dir",
        str(tmp_path / "reports"),
        "--endpoints",
        str(tmp_path / "endpoints.yaml"),
        "--window",
        "PT15M",
        "--source",
        "probe",
        "--fail-on",
        "warn",
        "--no-data",
        "fail",
    ]
