"""`fin-infra deploy` with the canary strategy, end to end: stand-in `pulumi`, real `fin-infra check`.

The stand-in (tests/fixtures/deploy/pulumi_standin.py) keeps the stack config the rollout sets
and, on each `up`, applies the program's revision plan (`infra.components.revisions`) to a
simulated Container App: its revisions, which are active, the traffic split. The checks probe
two local HTTP servers, one standing for the stable revision (through `--endpoints`) and one
for the canary (`--canary-endpoints`), so each test sets how fast each revision answers and
asserts the `pulumi config set` values, the `up` calls and the final traffic.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.deploy.rollout_codes import RolloutExit
from infra.paths import REPO_ROOT
from tests.fixtures.checks import servers
from tests.test_deploy import FIN_INFRA, StandIn, standin  # noqa: F401 (the fixture)

pytestmark = pytest.mark.servers

OLD = "finagent.azurecr.io/fin-agent/backend:1.0.0"
NEW = "finagent.azurecr.io/fin-agent/backend:1.1.0"


@dataclass
class Rollout:
    standin: StandIn
    stacks: Path

    def stack_file(self, backend_image: str, **rollout: Any) -> None:
        document = yaml.safe_load((REPO_ROOT / "stacks" / "Pulumi.prod.yaml").read_text())
        document["config"]["fin-agent:services"]["backend"]["image"] = backend_image
        # Two local servers with the same delay differ by a few ms run to run: a 100 % tolerance
        # keeps the healthy paths steady; the slow canary below is 7 times the stable's latency.
        rules = [{"target": "api-latency", "tolerancePercent": 100}]
        document["config"]["fin-agent:rollout"] = {"bake": "0s", "rules": rules, **rollout}
        (self.stacks / "Pulumi.prod.yaml").write_text(yaml.safe_dump(document))

    def endpoints(self, name: str, url: str) -> Path:
        path = self.standin.root / f"{name}.yaml"
        document = {"services": {"backend": {"url": url}}, "probes": {"http": {"requests": 3, "ratePerSecond": 30}}}
        path.write_text(yaml.safe_dump(document))
        return path

    def deploy(
        self, stable_url: str, canary_url: str, only: str = "api-latency", **env: str
    ) -> subprocess.CompletedProcess[str]:
        args = ["prod", "--stacks-dir", str(self.stacks), "--source", "probe", "--window", "1s"]
        args += ["--only", only, "--endpoints", str(self.endpoints("stable", stable_url))]
        args += ["--canary-endpoints", str(self.endpoints("canary", canary_url))]
        return subprocess.run(
            [str(FIN_INFRA), "deploy", *args, "--output-dir", str(self.standin.out)],
            env={**self.standin.env, **env},
            capture_output=True,
            text=True,
            timeout=240,
            cwd=self.standin.root,
        )

    def first_deploy(self) -> None:
        self.stack_file(OLD)
        out = [str(self.standin.out)]
        result = subprocess.run(
            [str(FIN_INFRA), "deploy", "prod", "--stacks-dir", str(self.stacks), "--skip-checks", "--output-dir", *out],
            env=self.standin.env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=self.standin.root,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        self.mark = len(self.standin.calls())

    def state(self) -> dict[str, Any]:
        return json.loads((self.standin.root / "state" / "state.json").read_text())

    def config_sets(self) -> list[dict[str, Any]]:
        """The rollout states written with `pulumi config set` since the first deploy."""
        return [
            json.loads(argv[argv.index("--") + 1])
            for argv in self.standin.calls()[self.mark :]
            if argv[:2] == ["config", "set"] and argv[2] == "fin-agent:rolloutState"
        ]

    def ups_since_first(self) -> int:
        return sum(1 for argv in self.standin.calls()[self.mark :] if argv[:1] == ["up"])

    def report(self) -> dict[str, Any]:
        return json.loads((self.standin.out / "rollout" / "rollout-report.json").read_text())


@pytest.fixture
def rollout(standin: StandIn, tmp_path: Path) -> Rollout:  # noqa: F811
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    standin.env["STANDIN_STACKS_DIR"] = str(stacks)
    double = Rollout(standin, stacks)
    double.first_deploy()
    return double


def backend(state: dict[str, Any]) -> dict[str, Any]:
    return state["apps"]["backend"]


WEB = "finagent.azurecr.io/fin-agent/web:1.0.0"


def recorded(stable: str, web: str) -> dict[str, Any]:
    """The stable revisions the rollout records: the backend's, and the unchanged web's."""
    return {
        "backend": {"stableImage": OLD, "stableRevision": stable},
        "web": {"stableImage": WEB, "stableRevision": web},
    }


def canary_states(stable: str, weights: list[int], web: str) -> list[dict[str, Any]]:
    return [{"phase": "canary", "canaryWeight": w, "services": recorded(stable, web)} for w in weights]


def test_first_deploy_sends_all_traffic_to_the_latest_revision(rollout: Rollout) -> None:
    app = backend(rollout.state())
    assert app["mode"] == "Single"
    assert app["traffic"] == [{"revisionName": app["latest"], "weight": 100, "label": None}]
    assert app["active"] == [app["latest"]] == app["revisions"]
    assert app["latest"].startswith("ca-finagent-backend-prod-") and "--r" in app["latest"]


def test_a_healthy_canary_is_promoted_step_by_step(rollout: Rollout) -> None:
    stable, web = backend(rollout.state())["latest"], rollout.state()["apps"]["web"]["latest"]
    rollout.stack_file(NEW, steps=[10, 50, 100])
    with servers.latency_server(0.02) as old, servers.latency_server(0.02) as new:
        result = rollout.deploy(old.url, new.url)
    assert result.returncode == RolloutExit.PROMOTED == 0, result.stdout + result.stderr
    assert rollout.config_sets() == [*canary_states(stable, [0, 10, 50, 100], web), {"phase": "stable"}]
    assert rollout.ups_since_first() == 5
    app = backend(rollout.state())
    canary = app["latest"]
    assert canary != stable and app["revisions"] == [stable, canary]
    assert app["mode"] == "Single" and app["image"] == NEW
    assert app["traffic"] == [{"revisionName": canary, "weight": 100, "label": None}]
    assert app["active"] == [canary]  # the old revision is deactivated
    report = rollout.report()
    assert report["outcome"] == "promoted"
    assert [s["name"] for s in report["steps"]] == ["0 %", "10 %", "50 %", "100 %", "promote"]
    assert {s["verdict"] for s in report["steps"][:4]} == {"PASS"}
    assert report["finalTraffic"]["backend"]["stableRevision"] == canary
    assert (rollout.standin.out / "rollout" / "10pct" / "canary" / "check-report.json").exists()
    assert "<testsuite" in (rollout.standin.out / "rollout" / "rollout-junit.xml").read_text()
    assert "promoted" in (rollout.standin.out / "rollout" / "rollout-report.md").read_text()


def test_a_canary_slower_than_the_stable_is_rolled_back(rollout: Rollout) -> None:
    stable, web = backend(rollout.state())["latest"], rollout.state()["apps"]["web"]["latest"]
    rollout.stack_file(NEW)
    # 150 ms passes the absolute target (< 200 ms) but is far worse than the stable's 20 ms.
    with servers.latency_server(0.02) as old, servers.latency_server(0.15) as new:
        result = rollout.deploy(old.url, new.url)
    assert result.returncode == RolloutExit.ROLLED_BACK == 20, result.stdout + result.stderr
    services = recorded(stable, web)
    assert rollout.config_sets() == [
        *canary_states(stable, [0], web),
        {"phase": "rolledBack", "canaryWeight": 0, "services": services},
    ]
    app = backend(rollout.state())
    assert app["mode"] == "Single" and app["image"] == OLD and app["latest"] == stable
    assert app["traffic"] == [{"revisionName": stable, "weight": 100, "label": None}]
    assert app["active"] == [stable]  # the canary is deactivated
    step = rollout.report()["steps"][0]
    assert step["verdict"] == "FAIL" and "breaks <= stable" in step["detail"]
    assert step["comparisons"][0]["target"] == "api-latency"


# Probes cannot measure a revision's CPU (only Azure Monitor can): the canary's check of
# container-cpu with --source probe answers NO_DATA, as a canary without traffic would.
NO_DATA_TARGET = "container-cpu"


def test_a_step_without_data_rolls_back_in_prod(rollout: Rollout) -> None:
    stable, web = backend(rollout.state())["latest"], rollout.state()["apps"]["web"]["latest"]
    rollout.stack_file(NEW)
    with servers.latency_server(0.02) as old, servers.latency_server(0.02) as new:
        result = rollout.deploy(old.url, new.url, only=NO_DATA_TARGET)
    assert result.returncode == RolloutExit.ROLLED_BACK, result.stdout + result.stderr
    assert rollout.config_sets() == [
        *canary_states(stable, [0], web),
        {"phase": "rolledBack", "canaryWeight": 0, "services": recorded(stable, web)},
    ]
    step = rollout.report()["steps"][0]
    assert step["verdict"] == "NO_DATA" and "onNoData: rollback" in step["detail"]
    assert backend(rollout.state())["active"] == [stable]


def test_a_step_without_data_holds_the_split_when_configured(rollout: Rollout) -> None:
    stable, web = backend(rollout.state())["latest"], rollout.state()["apps"]["web"]["latest"]
    rollout.stack_file(NEW, onNoData="hold")
    with servers.latency_server(0.02) as old, servers.latency_server(0.02) as new:
        result = rollout.deploy(old.url, new.url, only=NO_DATA_TARGET)
    assert result.returncode == RolloutExit.HELD == 21, result.stdout + result.stderr
    assert rollout.config_sets() == canary_states(stable, [0], web)
    app = backend(rollout.state())
    assert app["mode"] == "Multiple" and app["active"] == sorted([stable, app["latest"]])
    assert [t["weight"] for t in app["traffic"]] == [100, 0]
    assert rollout.state()["rolloutOutput"]["phase"] == "canary"  # the owner the next run reads


def test_a_step_without_data_goes_on_when_configured(rollout: Rollout) -> None:
    stable, web = backend(rollout.state())["latest"], rollout.state()["apps"]["web"]["latest"]
    rollout.stack_file(NEW, onNoData="continue", steps=[50, 100])
    with servers.latency_server(0.02) as old, servers.latency_server(0.02) as new:
        result = rollout.deploy(old.url, new.url, only=NO_DATA_TARGET)
    assert result.returncode == RolloutExit.PROMOTED, result.stdout + result.stderr
    assert rollout.config_sets() == [*canary_states(stable, [0, 50, 100], web), {"phase": "stable"}]


def test_a_failed_up_mid_rollout_rolls_back(rollout: Rollout) -> None:
    stable, web = backend(rollout.state())["latest"], rollout.state()["apps"]["web"]["latest"]
    rollout.stack_file(NEW)
    # up #1 was the first deploy; #2 puts the canary at 0 %, #3 (10 %) fails.
    with servers.latency_server(0.02) as old, servers.latency_server(0.02) as new:
        result = rollout.deploy(old.url, new.url, STANDIN_FAIL_UP_AT="3")
    assert result.returncode == RolloutExit.UP_FAILED_ROLLED_BACK == 23, result.stdout + result.stderr
    services = recorded(stable, web)
    assert rollout.config_sets() == [
        *canary_states(stable, [0, 10, 0], web),
        {"phase": "rolledBack", "canaryWeight": 0, "services": services},
    ]
    app = backend(rollout.state())
    assert app["traffic"] == [{"revisionName": stable, "weight": 100, "label": None}]
    assert app["active"] == [stable]


def test_an_interrupted_rollout_resumes_at_its_weight(rollout: Rollout) -> None:
    stable, web = backend(rollout.state())["latest"], rollout.state()["apps"]["web"]["latest"]
    rollout.stack_file(NEW)
    with servers.latency_server(0.02) as old, servers.latency_server(0.02) as new:
        # #2 (0 %) and #3 (10 %) succeed; #4 (50 %) fails and so do the rollback's ups.
        broken = rollout.deploy(old.url, new.url, STANDIN_FAIL_UP_AT="4,5,6")
        assert broken.returncode == RolloutExit.ROLLBACK_FAILED == 22, broken.stdout + broken.stderr
        app = backend(rollout.state())
        assert app["mode"] == "Multiple"  # split at 10 %, owned by the recorded rollout state
        assert app["traffic"] == [
            {"revisionName": stable, "weight": 90, "label": "stable"},
            {"revisionName": app["latest"], "weight": 10, "label": "canary"},
        ]
        rollout.mark = len(rollout.standin.calls())
        resumed = rollout.deploy(old.url, new.url)
    assert resumed.returncode == RolloutExit.PROMOTED, resumed.stdout + resumed.stderr
    assert rollout.config_sets() == [*canary_states(stable, [10, 50, 100], web), {"phase": "stable"}]
    app = backend(rollout.state())
    assert app["active"] == [app["latest"]] and app["image"] == NEW
    assert [s["name"] for s in rollout.report()["steps"]][:2] == ["resume", "10 %"]


def test_a_critical_breach_during_the_bake_ends_the_step_early(rollout: Rollout) -> None:
    stable, web = backend(rollout.state())["latest"], rollout.state()["apps"]["web"]["latest"]
    rollout.stack_file(NEW, steps=[10, 100], bake="30s", checkEvery="0.2s")

    def degrading(handler: Any, index: int) -> None:
        # The check at 0 % (a warm-up and 3 requests) is fast; from then on, 600 ms: beyond critical.
        time.sleep(0.02 if index < 4 else 0.6)
        servers.send(handler, 200, b'{"status":"ok"}')

    started = time.monotonic()
    with servers.latency_server(0.02) as old, servers.scripted_server(degrading) as new:
        result = rollout.deploy(old.url, new.url)
    assert result.returncode == RolloutExit.ROLLED_BACK, result.stdout + result.stderr
    assert time.monotonic() - started < 30  # the 30 s bake was cut short
    assert rollout.config_sets() == [
        *canary_states(stable, [0, 10, 0], web),
        {"phase": "rolledBack", "canaryWeight": 0, "services": recorded(stable, web)},
    ]
    step = next(s for s in rollout.report()["steps"] if s["name"] == "10 %")
    assert step["verdict"] == "FAIL" and "step ended early" in step["detail"]
    assert backend(rollout.state())["active"] == [stable]
