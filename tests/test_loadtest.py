"""`fin-infra loadtest`: the Artillery config rendered from stack outputs and the target table,
refusals with the offending key named, and Artillery's report read into the checks' verdicts.

The runs of the real Artillery against a local server are in `test_loadtest_artillery.py`.
"""

from __future__ import annotations

import copy
import json
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from checks.loadtest import artillery as artillery_module
from checks.loadtest.artillery import ArtilleryRun, artillery_environment, parse_ensure
from checks.loadtest.cli import EXIT_ARTILLERY, loadtest
from checks.loadtest.config import GUIDE_PHASES, SAMPLE_PAYLOAD, ensure_strictness, plan_load_test
from checks.loadtest.report import loadtest_report
from checks.model import EXIT_FAIL, EXIT_USAGE, Policy
from checks.outputs import parse_outputs
from checks.targets import TARGETS_FILE, TargetsError, load_targets, parse_targets

API_URL = "https://ca-backend-dev.example.azurecontainerapps.io"


def outputs_document(url: str | None = API_URL, *, stack: str = "dev", ingress: str = "external") -> dict[str, Any]:
    """Stack outputs of a Container Apps stack, as `pulumi stack output --json` prints them."""
    group = f"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-finagent-{stack}"
    return {
        "contractVersion": 1,
        "project": "fin-agent",
        "stack": stack,
        "environment": stack,
        "location": "westeurope",
        "platform": "containerapps",
        "resourceGroup": {"name": f"rg-finagent-{stack}", "id": group},
        "services": {
            "backend": {
                "kind": "containerapp",
                "resourceIds": [f"{group}/providers/Microsoft.App/containerApps/ca-backend"],
                "containerName": "backend",
                "fqdn": url.split("//", 1)[1].split(":")[0] if url else "ca-backend.internal",
                "url": url,
                "healthPath": "/health",
                "port": 3001,
                "ingress": ingress,
                "requests": {"cpu": 1.5, "memoryGb": 3},
                "limits": {"cpu": 2, "memoryGb": 4},
            }
        },
        "cache": {
            "tier": "managed",
            "resourceId": f"{group}/providers/Microsoft.Cache/redisEnterprise/redis",
            "hostName": "redis.westeurope.redis.azure.net",
            "port": 10000,
            "tls": True,
            "evictionPolicy": "allkeys-lru",
            "sku": "Balanced_B1",
            "auth": "entra",
        },
        "monitoring": {
            "logAnalyticsWorkspaceId": f"{group}/providers/Microsoft.OperationalInsights/workspaces/log",
            "logAnalyticsCustomerId": "11111111-1111-1111-1111-111111111111",
            "appInsightsId": f"{group}/providers/Microsoft.Insights/components/appi",
            "appInsightsAppId": "22222222-2222-2222-2222-222222222222",
        },
    }


def write_outputs(directory: Path, url: str | None = API_URL, **kwargs: Any) -> Path:
    path = directory / "outputs.json"
    path.write_text(json.dumps(outputs_document(url, **kwargs)), encoding="utf-8")
    return path


def run_cli(*args: str) -> Any:
    return CliRunner().invoke(loadtest, list(args), catch_exceptions=False)


def render(tmp_path: Path, *extra: str, url: str | None = API_URL) -> dict[str, Any]:
    result = run_cli("dev", "--outputs", str(write_outputs(tmp_path, url)), "--render-only", *extra)
    assert result.exit_code == 0, result.output
    return yaml.safe_load(result.stdout)


def table_copy(tmp_path: Path, edit: Any) -> Path:
    document = yaml.safe_load(TARGETS_FILE.read_text(encoding="utf-8"))
    edit(document)
    path = tmp_path / "targets.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


# -- the rendered config ----------------------------------------------------------------------


def test_render_only_reproduces_the_guides_test_aimed_at_the_stack(tmp_path: Path) -> None:
    config = render(tmp_path)
    assert config["config"]["target"] == API_URL
    assert [(p["duration"], p["arrivalRate"]) for p in config["config"]["phases"]] == [(60, 10), (120, 50), (60, 10)]
    assert config["config"]["http"]["defaults"]["headers"]["Content-Type"] == "application/json"
    payload = config["config"]["payload"]
    assert payload["path"] == str(SAMPLE_PAYLOAD) and payload["fields"] == ["userId"] and payload["skipHeader"]
    assert Path(config["config"]["processor"]).is_file()
    assert "ensure" in config["config"]["plugins"], "Artillery 2.0.34 runs ensure only when the plugin is enabled"
    (scenario,) = config["scenarios"]
    steps = [(method, step["url"]) for item in scenario["flow"] for method, step in item.items()]
    assert steps == [("get", "/health"), ("get", "/api/portfolio/{{ userId }}"), ("post", "/api/market-data")]
    assert scenario["flow"][2]["post"]["json"]["symbols"] == ["AAPL", "GOOGL", "MSFT"]
    assert scenario["afterResponse"] == "failOnServerError"


def test_ensure_thresholds_are_the_tables_numbers(tmp_path: Path) -> None:
    ensure = render(tmp_path)["config"]["ensure"]
    table = load_targets()
    latency = table.get("api-latency")
    errors = table.load_test.error_rate
    assert ensure["thresholds"] == [{"http.total.mean": latency.critical}]
    rate = "(vusers.created - vusers.completed) / vusers.created * 100"
    assert ensure["conditions"] == [
        {"expression": f"http.total.mean < {latency.target:g}", "strict": False},
        {"expression": f"{rate} < {errors.critical:g}", "strict": True},
        {"expression": f"{rate} < {errors.target:g}", "strict": False},
    ]
    assert (latency.target, latency.critical, errors.target, errors.critical) == (200, 500, 1, 5)


def test_a_changed_table_changes_the_rendered_thresholds(tmp_path: Path) -> None:
    def edit(document: dict[str, Any]) -> None:
        latency = next(t for t in document["targets"] if t["id"] == "api-latency")
        latency["target"], latency["critical"] = 150, 350
        document["loadTest"]["errorRate"].update(target=2, critical=10)

    changed = table_copy(tmp_path, edit)
    ensure = render(tmp_path, "--targets", str(changed))["config"]["ensure"]
    assert ensure["thresholds"] == [{"http.total.mean": 350}]
    expressions = [c["expression"] for c in ensure["conditions"]]
    assert expressions[0] == "http.total.mean < 150"
    assert expressions[1].endswith("< 10") and expressions[2].endswith("< 2")


def test_scale_shortens_and_thins_the_phases(tmp_path: Path) -> None:
    config = render(tmp_path, "--scale", "0.5")
    assert [(p["duration"], p["arrivalRate"]) for p in config["config"]["phases"]] == [(30, 5), (60, 25), (30, 5)]
    smoke = render(tmp_path, "--scale", "0.02")
    assert [(p["duration"], p["arrivalRate"]) for p in smoke["config"]["phases"]] == [(1, 1), (2, 1), (1, 1)]
    assert [p.name for p in GUIDE_PHASES] == [p["name"] for p in smoke["config"]["phases"]]


@pytest.mark.parametrize("scale", ["0", "1.5", "-1"])
def test_scale_outside_zero_to_one_is_refused(tmp_path: Path, scale: str) -> None:
    result = run_cli("dev", "--outputs", str(write_outputs(tmp_path)), "--render-only", "--scale", scale)
    assert result.exit_code == EXIT_USAGE
    assert "--scale" in result.output


def test_payload_path_and_render_to_output_dir(tmp_path: Path) -> None:
    payload = tmp_path / "ids.csv"
    payload.write_text("userId\nalice\nbob-2\n", encoding="utf-8")
    out = tmp_path / "out"
    result = run_cli(
        "dev", "--outputs", str(write_outputs(tmp_path)), "--payload", str(payload), "--render-only",
        "--output-dir", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    config = yaml.safe_load((out / "artillery.yml").read_text(encoding="utf-8"))
    assert config["config"]["payload"]["path"] == str(payload.resolve())


def test_outputs_without_the_api_endpoint_are_refused(tmp_path: Path) -> None:
    outputs = write_outputs(tmp_path, None, ingress="internal")
    result = run_cli("dev", "--outputs", str(outputs), "--render-only")
    assert result.exit_code == EXIT_USAGE
    assert result.stdout == ""
    assert "services.backend.url" in result.stderr
    assert "no API endpoint" in result.stderr and "internal" in result.stderr


def test_outputs_without_a_backend_are_refused(tmp_path: Path) -> None:
    document = outputs_document()
    del document["services"]["backend"]
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    result = run_cli("dev", "--outputs", str(path), "--render-only")
    assert result.exit_code == EXIT_USAGE
    assert "services.backend" in result.stderr


def test_endpoints_file_url_overrides_a_missing_endpoint(tmp_path: Path) -> None:
    endpoints = tmp_path / "endpoints.yaml"
    endpoints.write_text("services:\n  backend:\n    url: http://10.0.0.4:3001/\n", encoding="utf-8")
    config = render(tmp_path, "--endpoints", str(endpoints), url=None)
    assert config["config"]["target"] == "http://10.0.0.4:3001"


def test_outputs_of_another_stack_are_refused(tmp_path: Path) -> None:
    result = run_cli("prod", "--outputs", str(write_outputs(tmp_path)), "--render-only")
    assert result.exit_code == EXIT_USAGE
    assert "'dev', not 'prod'" in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("user\nalice\n", "header 'userId'"),
        ("userId\n", "holds no user id"),
        ("userId\nalice\nbob/../admin\n", "line 3"),
        ("userId\nalice,bob\n", "line 2"),
    ],
)
def test_bad_payload_is_refused_with_file_and_line(tmp_path: Path, content: str, message: str) -> None:
    payload = tmp_path / "ids.csv"
    payload.write_text(content, encoding="utf-8")
    result = run_cli("dev", "--outputs", str(write_outputs(tmp_path)), "--payload", str(payload), "--render-only")
    assert result.exit_code == EXIT_USAGE
    assert str(payload) in result.stderr and message in result.stderr


def test_missing_payload_is_refused(tmp_path: Path) -> None:
    result = run_cli("dev", "--outputs", str(write_outputs(tmp_path)), "--payload", str(tmp_path / "no.csv"))
    assert result.exit_code == EXIT_USAGE
    assert "does not exist" in result.stderr


def test_sample_payload_is_valid() -> None:
    plan = plan_load_test(parse_outputs(outputs_document()), load_targets())
    assert plan.payload.user_ids >= 5


# -- the target table's loadTest section ------------------------------------------------------


def test_repository_table_has_load_test_limits() -> None:
    section = load_targets().load_test
    assert section is not None
    assert section.latency_target == "api-latency"
    assert (section.error_rate.unit, section.error_rate.better) == ("percent", "lower")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["loadTest"].update(latencyTarget="api-latencey"), "loadTest.latencyTarget: no target"),
        (lambda d: d["loadTest"].update(latencyTarget="cache-hit-rate"), "is not a latency"),
        (lambda d: d["loadTest"]["errorRate"].update(target=5, critical=5), "must be below critical"),
        (lambda d: d["loadTest"]["errorRate"].update(critical=150), "loadTest.errorRate.critical"),
        (lambda d: d["loadTest"]["errorRate"].update(better="higher"), "loadTest.errorRate.better"),
        (lambda d: d["loadTest"].update(maxErrors=3), "loadTest.maxErrors"),
    ],
)
def test_bad_load_test_section_is_refused(edit: Any, message: str) -> None:
    document = yaml.safe_load(TARGETS_FILE.read_text(encoding="utf-8"))
    edit(document)
    with pytest.raises(TargetsError) as caught:
        parse_targets(yaml.safe_dump(document))
    assert message in str(caught.value)


def test_table_without_load_test_section_still_serves_the_checks_but_not_the_load_test(tmp_path: Path) -> None:
    path = table_copy(tmp_path, lambda d: d.pop("loadTest"))
    assert [t.id for t in load_targets(path).targets] == [t.id for t in load_targets().targets]
    result = run_cli("dev", "--outputs", str(write_outputs(tmp_path)), "--targets", str(path), "--render-only")
    assert result.exit_code == EXIT_USAGE
    assert "no loadTest section" in result.stderr


# -- Artillery missing or failing -------------------------------------------------------------


def test_missing_artillery_exits_5_and_says_how_to_install(tmp_path: Path) -> None:
    outputs = write_outputs(tmp_path)
    result = run_cli("dev", "--outputs", str(outputs), "--artillery", str(tmp_path / "no-artillery"))
    assert result.exit_code == EXIT_ARTILLERY
    assert "no executable there" in result.stderr


def test_artillery_not_installed_exits_5_and_names_make_setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(artillery_module, "DEFAULT_ARTILLERY", tmp_path / "node_modules" / ".bin" / "artillery")
    result = run_cli("dev", "--outputs", str(write_outputs(tmp_path)), "--scale", "0.02")
    assert result.exit_code == EXIT_ARTILLERY
    assert "Artillery is not installed" in result.stderr and "make setup-checks" in result.stderr
    assert result.stdout == ""


def test_artillery_stopping_without_report_exits_5_with_its_last_lines(tmp_path: Path) -> None:
    broken = tmp_path / "artillery"
    broken.write_text("#!/bin/sh\necho 'Error: engine exploded' >&2\nexit 7\n", encoding="utf-8")
    broken.chmod(broken.stat().st_mode | stat.S_IXUSR)
    result = run_cli("dev", "--outputs", str(write_outputs(tmp_path)), "--scale", "0.02", "--artillery", str(broken))
    assert result.exit_code == EXIT_ARTILLERY
    assert "exit code 7" in result.stderr and "engine exploded" in result.stderr
    assert result.stdout == ""


# -- Artillery's report, judged ---------------------------------------------------------------


def _run(exit_code: int, ensure_lines: list[str], plan: Any) -> ArtilleryRun:
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    return ArtilleryRun(
        command=["artillery", "run"],
        exit_code=exit_code,
        started=now,
        ended=now,
        report_path=Path("report.json"),
        version="2.0.34",
        ensure=parse_ensure(["Checks:", *ensure_lines], ensure_strictness(plan)),
    )


UNREACHABLE = {
    "aggregate": {
        "counters": {"vusers.created": 8, "vusers.failed": 8, "http.requests": 8, "errors.ECONNREFUSED": 8},
        "rates": {"http.request_rate": 4},
        "firstMetricAt": 1795643971061,
        "lastMetricAt": 1795643972928,
        "summaries": {},
    },
    "intermediate": [],
}


def test_unreachable_target_is_no_data_for_latency_and_a_failed_error_rate() -> None:
    outputs = parse_outputs(outputs_document())
    plan = plan_load_test(outputs, load_targets(), scale=0.02)
    run = _run(1, ["fail: (vusers.created - vusers.completed) / vusers.created * 100 < 5"], plan)
    report = loadtest_report(plan, outputs, run, copy.deepcopy(UNREACHABLE), Policy())
    latency, errors = report.targets
    assert latency.verdict == "NO_DATA"
    assert "no HTTP response" in latency.summary and "ECONNREFUSED 8" in latency.summary
    assert errors.verdict == "FAIL" and errors.evidence[0].value == 100
    assert report.exit_code == EXIT_FAIL
    assert report.kind == "loadtest" and report.sources == ["artillery"]


def test_ensure_lines_keep_strictness_from_the_config() -> None:
    plan = plan_load_test(parse_outputs(outputs_document()), load_targets())
    checks = parse_ensure(
        [
            "noise: before",
            "Checks:",
            "ok: http.total.mean < 500",
            "ok: (vusers.created - vusers.completed) / vusers.created * 100 < 5",
            "fail: http.total.mean < 200 (optional)",
            "ok: (vusers.created - vusers.completed) / vusers.created * 100 < 1",
        ],
        ensure_strictness(plan),
    )
    assert [(c.ok, c.strict) for c in checks] == [(True, True), (True, True), (False, False), (True, False)]


def test_reporting_periods_become_the_series() -> None:
    """Artillery writes `intermediate[].period` as a string of epoch milliseconds."""
    outputs = parse_outputs(outputs_document())
    plan = plan_load_test(outputs, load_targets(), scale=0.1)
    periods = [
        ("1795644440000", 1795644449984, 61.5, 0, 1),
        ("1795644450000", 1795644459993, 240.0, 6, 24),
        ("1795644460000", 1795644469994, 61.1, 0, 29),
    ]
    data = {
        "aggregate": {
            "counters": {"vusers.created": 60, "vusers.completed": 54, "vusers.failed": 6, "errors.HTTP_503": 6},
            "firstMetricAt": 1795644448919,
            "lastMetricAt": 1795644469994,
            "summaries": {"http.total": {"count": 170, "mean": 121.3, "p95": 250.2, "max": 260}},
        },
        "intermediate": [
            {
                "period": period,
                "lastMetricAt": last,
                "counters": {"vusers.failed": failed, "vusers.completed": completed},
                "summaries": {"http.total": {"mean": mean}},
            }
            for period, last, mean, failed, completed in periods
        ],
    }
    report = loadtest_report(plan, outputs, _run(0, [], plan), data, Policy())
    latency, errors = report.targets
    assert [p.value for p in latency.evidence[0].series] == [61.5, 240.0, 61.1]
    assert latency.evidence[0].series[0].time == datetime.fromtimestamp(1795644449.984, UTC)
    assert all(report.window.start <= p.time <= report.window.end for p in latency.evidence[0].series)
    assert latency.verdict == "PASS" and latency.evidence[0].stats["p95"] == 250.2
    assert [p.value for p in errors.evidence[0].series] == [0.0, 20.0, 0.0]
    assert errors.verdict == "FAIL" and errors.evidence[0].value == 10.0
    assert errors.evidence[0].raw["errors"] == {"HTTP_503": 6}
    assert any("disagree" in note for note in report.notes), "ensure said nothing failed, the verdict FAILs"


def test_artillery_runs_without_telemetry_and_with_ensure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARTILLERY_DISABLE_ENSURE", "1")
    monkeypatch.delenv("ARTILLERY_DISABLE_TELEMETRY", raising=False)
    environment = artillery_environment()
    assert environment["ARTILLERY_DISABLE_TELEMETRY"] == "1"
    assert "ARTILLERY_DISABLE_ENSURE" not in environment
