"""`fin-infra tune` against the local Azure stand-in with synthetic week-long hourly series.

Each scenario copies a real stack file (with its comments) into a scratch stacks folder, serves
a week of metrics from `FakeAzure` through the real `MetricsClient`, runs the tune, and then
checks what a reviewer relies on: the recommendation and its evidence, the patch, that the
patched file keeps every comment, and that `fin-infra plan --stacks-dir` plans it with exit 0
(settings valid, no mandatory policy or precondition violation).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from checks.clouds import cloud_profile
from checks.outputs import StackOutputs, parse_outputs
from checks.sources.azure import AzureAccess
from checks.tune.model import TuneResult
from checks.tune.render import as_json, markdown
from checks.tune.run import TuneOptions, tune
from infra.cli import main
from infra.paths import STACKS_DIR
from tests.fixtures.checks.fake_azure import FakeAzure, FakeCredential, Series

FIXTURES = Path(__file__).parent / "fixtures" / "checks"
HOURS = 7 * 24
END = datetime(2026, 11, 23, tzinfo=UTC)
SUB = "/subscriptions/00000000-0000-0000-0000-000000000002/resourceGroups/rg-fin-agent-{stack}-xyz/providers"


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeAzure]:
    server = FakeAzure(tmp_path).start()
    yield server
    server.stop()


def outputs_for(stack: str, sku: str) -> StackOutputs:
    """Container Apps outputs (the staging fixture's shape) for `stack` with a Managed Redis `sku`."""
    data = json.loads((FIXTURES / "outputs-staging.json").read_text())
    data = json.loads(json.dumps(data).replace("staging", stack).replace("northeurope", "westeurope"))
    data["environment"] = stack
    cache_id = f"{SUB.format(stack=stack)}/Microsoft.Cache/redisEnterprise/redis-fin-agent-{stack}-xyz"
    data["cache"] = {
        **data["cache"], "tier": "managed", "resourceId": cache_id, "databaseId": f"{cache_id}/databases/default",
        "sku": sku, "auth": "entra", "port": 10000,
    }  # fmt: skip
    return parse_outputs(data)


def stacks_copy(tmp_path: Path, stack: str) -> Path:
    folder = tmp_path / "stacks"
    folder.mkdir(exist_ok=True)
    shutil.copy(STACKS_DIR / f"Pulumi.{stack}.yaml", folder / f"Pulumi.{stack}.yaml")
    return folder


def access(fake: FakeAzure) -> AzureAccess:
    profile = cloud_profile("public", metrics_endpoint=fake.url)
    return AzureAccess(
        profile, lambda: FakeCredential(), retries=0, client_kwargs={"connection_verify": str(fake.cert)}
    )


def hourly(value: float, hot: float | None = None, hot_hours: int = 0) -> list[float]:
    """A week of hourly values: `hot` for the first `hot_hours` of every day, `value` otherwise."""
    return [hot if hot is not None and (h % 24) < hot_hours else value for h in range(HOURS)]


def serve_app(
    fake: FakeAzure,
    rid: str,
    cpu: list[float],
    memory: list[float],
    replicas: list[float],
    latency: float = 120.0,
) -> None:
    """Two replicas' CPU and memory (the second at 80 % of the first), replicas, requests, latency."""
    pods = [("rev1-a", 1.0), ("rev1-b", 0.8)]
    fake.metric(rid, "CpuPercentage", "Percent", *[Series({"podName": p}, [v * f for v in cpu]) for p, f in pods])
    fake.metric(rid, "MemoryPercentage", "Percent", *[Series({"podName": p}, [v * f for v in memory]) for p, f in pods])
    fake.metric(rid, "Replicas", "Count", Series({}, replicas))
    fake.metric(rid, "Requests", "Count", Series({}, [1000.0] * HOURS))
    fake.metric(rid, "ResponseTime", "Milliseconds", Series({}, [latency] * HOURS))


def serve_cache(fake: FakeAzure, rid: str, memory: float, evicted: float, hits: float, misses: float) -> None:
    fake.metric(rid, "usedmemorypercentage", "Percent", Series({}, [memory] * HOURS))
    fake.metric(rid, "serverLoad", "Percent", Series({}, [30.0] * HOURS))
    fake.metric(rid, "evictedkeys", "Count", Series({}, [evicted] * HOURS))
    fake.metric(rid, "cachehits", "Count", Series({}, [hits] * HOURS))
    fake.metric(rid, "cachemisses", "Count", Series({}, [misses] * HOURS))


def healthy_app(fake: FakeAzure, outputs: StackOutputs, name: str) -> None:
    serve_app(fake, outputs.services[name].resource_ids[0], hourly(60, 65, 8), hourly(70, 72, 8), hourly(3, 5, 8))


def run_tune(stack: str, outputs: StackOutputs, fake: FakeAzure, stacks: Path) -> TuneResult:
    options = TuneOptions(window=timedelta(days=7), grain="PT1H", end=END, stacks_dir=stacks)
    return tune(stack, outputs, access(fake), options)


def comment_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith("#")]


def apply_and_plan(result: TuneResult, stack: str, stacks: Path, tmp_path: Path) -> str:
    """Write the patch with `git apply` semantics (patch(1)), check comments and plan the file."""
    path = stacks / f"Pulumi.{stack}.yaml"
    original = path.read_text()
    patched_dir = tmp_path / "patched"
    patched_dir.mkdir()
    target = patched_dir / path.name
    target.write_text(original)
    if result.patch:
        subprocess.run(
            ["patch", "-s", str(target)], input=result.patch, text=True, check=True, capture_output=True, timeout=30
        )
    patched = target.read_text()
    assert comment_lines(patched) == comment_lines(original), "the patch must keep every comment, in order"
    planned = CliRunner().invoke(main, ["plan", stack, "--stacks-dir", str(patched_dir), "--format", "json"])
    assert planned.exit_code == 0, planned.output
    policy = json.loads(planned.output)["policy"]
    assert policy["mandatoryViolations"] == 0
    return patched


def findings(result: TuneResult) -> dict[tuple[str, str], Any]:
    return {(f.subject, f.knob): f for f in result.findings}


def changes(result: TuneResult) -> dict[str, Any]:
    return {c.path: c.proposed for f in result.findings for c in f.changes}


def test_an_over_provisioned_app_gets_a_smaller_allowed_pair(fake: FakeAzure, tmp_path: Path) -> None:
    stacks = stacks_copy(tmp_path, "staging")
    outputs = outputs_for("staging", "Balanced_B1")
    backend = outputs.services["backend"].resource_ids[0]
    serve_app(fake, backend, hourly(15, 20, 8), hourly(25, 30, 8), [2.0] * HOURS)
    healthy_app(fake, outputs, "web")
    serve_cache(fake, outputs.cache.resource_id, 50, 0, 900, 100)

    result = run_tune("staging", outputs, fake, stacks)

    allocation = findings(result)[("service backend", "allocation")]
    assert allocation.kind == "change"
    # p95 20 % of 2 vCPU (target 70) and memory peak 30 % of 4 Gi (critical 95) -> 0.75 vCPU / 1.5 Gi.
    assert changes(result) == {
        "services.backend.resources.limits.cpu": 0.75,
        "services.backend.resources.limits.memoryGb": 1.5,
        "services.backend.resources.requests.cpu": 0.75,
        "services.backend.resources.requests.memoryGb": 1.5,
    }
    assert allocation.evidence["cpuPercentP95"] == 20.0 and allocation.evidence["memoryPercentMax"] == 30.0
    assert "2 Gi per vCPU" in allocation.rule
    assert result.validation.passed, result.validation
    patched = apply_and_plan(result, "staging", stacks, tmp_path)
    assert "cpu: 0.75" in patched and "memoryGb: 1.5" in patched
    calls = {(c["namespace"], c["filter"]) for c in result.calls}
    assert ("Microsoft.App/containerApps", "podName eq '*'") in calls
    assert {c["grain"] for c in result.calls} == {"PT1H"} and not any(c["error"] for c in result.calls)


def test_a_hot_app_pinned_at_max_replicas_gets_a_higher_max(fake: FakeAzure, tmp_path: Path) -> None:
    stacks = stacks_copy(tmp_path, "prod")
    outputs = outputs_for("prod", "Balanced_B3")
    backend = outputs.services["backend"].resource_ids[0]
    # 10 of every 24 hours at max (10 replicas) with the busiest replica at 85 % CPU.
    serve_app(fake, backend, hourly(55, 85, 10), hourly(70, 72, 10), hourly(4, 10, 10), latency=180)
    healthy_app(fake, outputs, "web")
    serve_cache(fake, outputs.cache.resource_id, 50, 0, 900, 100)

    result = run_tune("prod", outputs, fake, stacks)

    assert findings(result)[("service backend", "maxReplicas")].kind == "change"
    # ceil(10 x 85 / 70) = 13; CPU is answered by replicas, so the allocation stays.
    assert changes(result) == {"autoscale.maxReplicas": 13}
    assert findings(result)[("service backend", "allocation")].kind == "no-change"
    assert findings(result)[("service backend", "maxReplicas")].evidence["cpuPercentP95AtMax"] == 85.0
    assert result.validation.passed, result.validation
    patched = apply_and_plan(result, "prod", stacks, tmp_path)
    assert patched.rstrip().endswith("fin-agent:autoscale:\n    maxReplicas: 13")


def test_an_eviction_heavy_cache_gets_the_next_sku(fake: FakeAzure, tmp_path: Path) -> None:
    stacks = stacks_copy(tmp_path, "prod")
    outputs = outputs_for("prod", "Balanced_B3")
    healthy_app(fake, outputs, "backend")
    healthy_app(fake, outputs, "web")
    serve_cache(fake, outputs.cache.resource_id, 99, 500, 700, 300)

    result = run_tune("prod", outputs, fake, stacks)

    sku = findings(result)[("cache", "sku")]
    assert sku.kind == "change" and changes(result) == {"redis.sku": "Balanced_B5"}
    assert sku.evidence["evictedKeys"] == 500 * HOURS and sku.evidence["hitRatePercent"] == 70.0
    assert "6 GB, from 3 GB" in sku.summary
    assert result.validation.passed, result.validation
    patched = apply_and_plan(result, "prod", stacks, tmp_path)
    assert "    sku: Balanced_B5\n    highAvailability: true" in patched
    managed = {c["namespace"] for c in result.calls}
    assert "Microsoft.Cache/redisEnterprise" in managed


def test_a_healthy_stack_gets_no_change(fake: FakeAzure, tmp_path: Path) -> None:
    stacks = stacks_copy(tmp_path, "staging")
    outputs = outputs_for("staging", "Balanced_B1")
    healthy_app(fake, outputs, "backend")
    healthy_app(fake, outputs, "web")
    serve_cache(fake, outputs.cache.resource_id, 50, 0, 900, 100)

    result = run_tune("staging", outputs, fake, stacks)

    assert result.changes == [] and result.patch == ""
    assert {f.kind for f in result.findings} == {"no-change"}
    assert all(f.summary and f.rule for f in result.findings)
    apply_and_plan(result, "staging", stacks, tmp_path)
    assert "No change" in markdown(result)


def test_a_no_data_target_gets_no_recommendation(fake: FakeAzure, tmp_path: Path) -> None:
    stacks = stacks_copy(tmp_path, "staging")
    outputs = outputs_for("staging", "Balanced_B1")
    # The web app is over-provisioned on paper, but emitted nothing: no data, no change.
    backend = outputs.services["backend"].resource_ids[0]
    serve_app(fake, backend, hourly(15, 20, 8), hourly(25, 30, 8), [2.0] * HOURS)

    result = run_tune("staging", outputs, fake, stacks)

    web = findings(result)[("service web", "all")]
    assert web.kind == "no-data" and "no CpuPercentage/MemoryPercentage series" in web.summary
    cache = findings(result)[("cache", "sku")]
    assert cache.kind == "no-data" and not cache.changes
    assert not any(path.startswith("services.web") or path == "redis.sku" for path in changes(result))
    assert changes(result)  # the backend, which has data, is still tuned
    assert result.validation.passed
    apply_and_plan(result, "staging", stacks, tmp_path)
    document = json.loads(as_json(result))
    assert {f["kind"] for f in document["findings"] if f["subject"] == "service web"} == {"no-data"}


def test_a_failed_metrics_call_is_no_data_not_a_change(fake: FakeAzure, tmp_path: Path) -> None:
    from tests.fixtures.checks.fake_azure import Fault

    stacks = stacks_copy(tmp_path, "staging")
    outputs = outputs_for("staging", "Balanced_B1")
    fake.fault("metrics", Fault(status=500), always=True)

    result = run_tune("staging", outputs, fake, stacks)

    assert result.changes == []
    measured = [f for f in result.findings if f.subject != "autoscale"]  # the threshold is judged from settings
    assert {f.kind for f in measured} == {"no-data"}
    assert all("HTTP 500" in f.summary for f in measured)


def test_container_groups_get_a_valid_request_and_limit(fake: FakeAzure, tmp_path: Path) -> None:
    stacks = stacks_copy(tmp_path, "dev")
    outputs = parse_outputs(json.loads((FIXTURES / "outputs-dev.json").read_text()))
    group = outputs.services["backend"].resource_ids[0]
    # backend uses ~0.4 vCPU (peak 0.6) and ~1 GB (peak 1.2) of its 1.5/3 request and 2/4 limit.
    fake.metric(
        group,
        "CpuUsage",
        "Count",
        Series({"containerName": "backend"}, hourly(350, 400, 6)),
        Series({"containerName": "web"}, hourly(300, 340, 6)),
    )
    fake.metric(
        group,
        "MemoryUsage",
        "Bytes",
        Series({"containerName": "backend"}, hourly(0.9e9, 1.0e9, 6)),
        Series({"containerName": "web"}, hourly(0.7e9, 0.75e9, 6)),
    )
    serve_cache(fake, outputs.cache.resource_id, 40, 0, 900, 100)

    result = run_tune("dev", outputs, fake, stacks)

    proposed = changes(result)
    # backend: limit = 0.4 / 70 % -> 0.75 vCPU, 1.0 GB / 80 % -> 1.5 GB; request = p95 on the grid.
    assert proposed["services.backend.resources.limits.cpu"] == 0.75
    assert proposed["services.backend.resources.limits.memoryGb"] == 1.5
    assert proposed["services.backend.resources.requests.cpu"] == 0.5
    assert proposed["services.backend.resources.requests.memoryGb"] == 1.0
    assert result.validation.passed, result.validation
    apply_and_plan(result, "dev", stacks, tmp_path)


def test_tune_cli_prints_markdown_and_applies_the_patch(fake: FakeAzure, tmp_path: Path) -> None:
    stacks = stacks_copy(tmp_path, "staging")
    outputs = outputs_for("staging", "Balanced_B1")
    outputs_file = tmp_path / "outputs.json"
    outputs_file.write_text(outputs.model_dump_json(by_alias=True))
    backend = outputs.services["backend"].resource_ids[0]
    serve_app(fake, backend, hourly(15, 20, 8), hourly(25, 30, 8), [2.0] * HOURS)
    healthy_app(fake, outputs, "web")
    serve_cache(fake, outputs.cache.resource_id, 50, 0, 900, 100)
    az = tmp_path / "az"
    az.write_text(
        "#!/bin/sh\n"
        'echo \'{"accessToken": "cli-token", "expiresOn": "2099-01-01 00:00:00.000000", '
        '"expires_on": 4070908800, "tokenType": "Bearer"}\'\n',
        encoding="utf-8",
    )
    az.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{tmp_path}:{os.environ['PATH']}",
        "AZURE_TOKEN_CREDENTIALS": "AzureCliCredential",
        "REQUESTS_CA_BUNDLE": str(fake.cert),
    }
    before = (stacks / "Pulumi.staging.yaml").read_text()
    command = [sys.executable, "-c", "from infra.cli import main; main()",
               "tune", "staging", "--outputs", str(outputs_file), "--stacks-dir", str(stacks),
               "--metrics-endpoint", fake.url, "--end", "2026-11-23T00:00:00Z", "--retries", "0"]  # fmt: skip
    shown = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert shown.returncode == 0, shown.stderr
    assert "### Tune staging: 1 change to `stacks/Pulumi.staging.yaml`" in shown.stdout
    assert "+          cpu: 0.75" in shown.stdout
    assert (stacks / "Pulumi.staging.yaml").read_text() == before  # shown, not written
    applied = subprocess.run([*command, "--apply", "--format", "json"], env=env, capture_output=True, text=True,
                             timeout=120, check=False)  # fmt: skip
    assert applied.returncode == 0, applied.stderr
    after = (stacks / "Pulumi.staging.yaml").read_text()
    assert after != before and comment_lines(after) == comment_lines(before)
    assert json.loads(applied.stdout)["validation"]["passed"] is True
    assert {r.authorization for r in fake.requests} == {"Bearer cli-token"}
    assert {r.method for r in fake.requests} == {"POST"}  # metric reads only: nothing is written to Azure


def test_the_tune_modules_do_not_import_the_pulumi_program() -> None:
    code = (
        "import sys, checks.tune.cli, checks.tune.run, checks.tune.apps, checks.tune.cache, checks.tune.groups;"
        "print(sorted(m for m in sys.modules if m.startswith(('pulumi', 'infra.program', 'infra.plan.engine.runner'))))"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert found.stdout.strip() == "[]"


def test_outputs_of_another_stack_are_refused(tmp_path: Path) -> None:
    from checks.tune.run import TuneError

    outputs = outputs_for("prod", "Balanced_B3")
    with pytest.raises(TuneError, match="outputs are of stack 'prod'"):
        tune("staging", outputs, None, TuneOptions(stacks_dir=stacks_copy(tmp_path, "staging")))  # type: ignore[arg-type]


def worked_example(fake: FakeAzure, tmp_path: Path) -> TuneResult:
    """docs/tune.md's worked example: staging, an over-provisioned backend, an evicting cache."""
    stacks = stacks_copy(tmp_path, "staging")
    outputs = outputs_for("staging", "Balanced_B1")
    backend = outputs.services["backend"].resource_ids[0]
    serve_app(fake, backend, hourly(15, 20, 8), hourly(25, 30, 8), [2.0] * HOURS)
    healthy_app(fake, outputs, "web")
    serve_cache(fake, outputs.cache.resource_id, 99, 120, 800, 200)
    return run_tune("staging", outputs, fake, stacks)


def docs_block(name: str) -> str:
    text = (Path(__file__).parent.parent / "docs" / "tune.md").read_text(encoding="utf-8")
    start, end = f"<!-- tune-example:{name} -->\n", f"<!-- /tune-example:{name} -->"
    return text.split(start, 1)[1].split(end, 1)[0]


def test_the_docs_worked_example_is_what_tune_produces(fake: FakeAzure, tmp_path: Path) -> None:
    result = worked_example(fake, tmp_path)
    assert result.validation.passed
    assert docs_block("markdown") == "````markdown\n" + markdown(result) + "````\n"
    assert docs_block("patch") == "```diff\n" + result.patch + "```\n"


if __name__ == "__main__":  # regenerate the worked example: python -m tests.test_tune
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        server = FakeAzure(Path(scratch)).start()
        try:
            example = worked_example(server, Path(scratch))
        finally:
            server.stop()
    block = "<!-- tune-example:{0} -->\n{1}\n{2}{3}\n<!-- /tune-example:{0} -->"
    print(block.format("markdown", "````markdown", markdown(example), "````"))
    print(block.format("patch", "```diff", example.patch, "```"))


def test_scale_out_that_lagged_demand_raises_the_min(fake: FakeAzure, tmp_path: Path) -> None:
    stacks = stacks_copy(tmp_path, "staging")
    outputs = outputs_for("staging", "Balanced_B1")
    backend = outputs.services["backend"].resource_ids[0]
    healthy_app(fake, outputs, "web")
    serve_cache(fake, outputs.cache.resource_id, 50, 0, 900, 100)
    # Every morning (one hour a day) the app starts at its min of 2 and scales out to 6 within
    # the hour, and the hour's latency is 350 ms (target 200): 7 lagging hours in the week.
    morning = [h % 24 == 8 for h in range(HOURS)]
    replicas = Series({}, [6.0 if m else 3.0 for m in morning],
                      by_aggregation={"minimum": [2.0 if m else 3.0 for m in morning]})  # fmt: skip
    serve_app(fake, backend, hourly(60, 65, 8), hourly(70, 72, 8), [3.0] * HOURS)
    fake.metric(backend, "Replicas", "Count", replicas)
    fake.metric(backend, "ResponseTime", "Milliseconds", Series({}, [350.0 if m else 120.0 for m in morning]))

    result = run_tune("staging", outputs, fake, stacks)

    minimum = findings(result)[("service backend", "minReplicas")]
    assert minimum.kind == "change" and minimum.evidence["lagHours"] == 7
    assert changes(result) == {"autoscale.minReplicas": 3}
    assert result.validation.passed, result.validation
    patched = apply_and_plan(result, "staging", stacks, tmp_path)
    assert "fin-agent:autoscale:\n    minReplicas: 3" in patched


def test_a_quiet_managed_cache_steps_down_only_with_headroom(fake: FakeAzure, tmp_path: Path) -> None:
    stacks = stacks_copy(tmp_path, "prod")
    outputs = outputs_for("prod", "Balanced_B3")
    healthy_app(fake, outputs, "backend")
    healthy_app(fake, outputs, "web")
    serve_cache(fake, outputs.cache.resource_id, 15, 0, 950, 50)  # 15 % of 3 GB -> 45 % of 1 GB

    result = run_tune("prod", outputs, fake, stacks)

    sku = findings(result)[("cache", "sku")]
    assert sku.kind == "change" and changes(result) == {"redis.sku": "Balanced_B1"}
    assert sku.evidence["projectedMemoryPercentOnSmaller"] == 45.0
    assert result.validation.passed, result.validation
    apply_and_plan(result, "prod", stacks, tmp_path)
