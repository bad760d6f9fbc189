"""CI formats and GitHub Actions (issue 18, items 3 and 4).

- JUnit parsed by junitparser (the library CI reporters build on), with suite and case times and
  WARN visible as a property and in the case output.
- SARIF 2.1.0 from `fin-infra policy --format sarif`, validated against the OASIS schema
  vendored in tests/fixtures/sarif (source in SOURCE.md).
- Annotations and the step summary under a fake GitHub Actions environment.
"""

from __future__ import annotations

import copy
import json
import re
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from junitparser import JUnitXml

from checks.github import Annotation, escape_data, escape_property, publish_report, report_annotations
from checks.loadtest.config import plan_load_test
from checks.loadtest.report import loadtest_report
from checks.model import Policy
from checks.outputs import parse_outputs
from checks.render import render_junit
from checks.targets import load_targets
from infra.cli import main
from infra.policy.sarif import sarif_document
from tests.test_checks_render import sample_report
from tests.test_loadtest import UNREACHABLE, _run, outputs_document

SARIF_SCHEMA = Path(__file__).parent / "fixtures" / "sarif" / "sarif-schema-2.1.0.json"


def timed_report():
    report = sample_report()
    targets = [t.model_copy(update={"seconds": 1.25 * (i + 1)}) for i, t in enumerate(report.targets)]
    conformance = [c.model_copy(update={"seconds": 0.5}) for c in report.conformance]
    return report.model_copy(update={"targets": targets, "conformance": conformance, "elapsed_seconds": 9.5})


def test_junit_has_suite_and_case_times_read_by_junitparser() -> None:
    xml = JUnitXml.fromstring(render_junit(timed_report()))
    suites = {suite.name: suite for suite in xml}
    targets, conformance = suites["check.targets"], suites["check.conformance"]
    assert targets.time == 9.5 and conformance.time == 1.0
    assert [case.time for case in targets] == [1.25, 2.5, 3.75]
    assert [case.time for case in conformance] == [0.5, 0.5]
    assert all(case.time is not None for suite in xml for case in suite)


def test_junit_shows_a_passing_warn() -> None:
    """Without --fail-on warn a WARN passes, so the report must say WARN some other way."""
    text = render_junit(timed_report())
    latency = next(case for suite in JUnitXml.fromstring(text) for case in suite if case.name.startswith("api-latency"))
    assert latency.is_passed and latency.system_out.startswith("WARN: ")
    root = ET.fromstring(text)
    case = next(c for c in root.iter("testcase") if c.get("name", "").startswith("api-latency"))
    assert {p.get("name"): p.get("value") for p in case.iter("property")} == {"verdict": "WARN"}
    suite = next(s for s in root.iter("testsuite") if s.get("name") == "check.targets")
    assert {p.get("name"): p.get("value") for p in suite.find("properties")}["warnings"] == "1"


def test_loadtest_junit_times_come_from_the_run() -> None:
    outputs = parse_outputs(outputs_document())
    load = plan_load_test(outputs, load_targets(), scale=0.02)
    run = _run(1, [], load)
    run.ended = run.started + timedelta(seconds=12)
    report = loadtest_report(load, outputs, run, copy.deepcopy(UNREACHABLE), Policy())
    suite = next(iter(JUnitXml.fromstring(render_junit(report))))
    assert suite.time == 12.0 and [case.time for case in suite] == [6.0, 6.0]


# -- SARIF ---------------------------------------------------------------------------------------


def validate_sarif(document: dict) -> None:
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator.check_schema(schema)
    jsonschema.Draft4Validator(schema).validate(document)


def test_policy_sarif_validates_against_the_schema() -> None:
    result = CliRunner().invoke(main, ["policy", "dev", "--format", "sarif"], env={"GITHUB_ACTIONS": None})
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    validate_sarif(document)
    run = document["runs"][0]
    assert run["results"], "dev has advisory findings"
    assert {r["level"] for r in run["results"]} == {"warning"}
    location = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": "stacks/Pulumi.dev.yaml", "uriBaseId": "%SRCROOT%"}
    ids = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert all(ids[r["ruleIndex"]] == r["ruleId"] for r in run["results"])


def test_mandatory_findings_and_unmet_preconditions_are_sarif_errors() -> None:
    entry = {"type": "azure-native:cache:Redis", "resource": "c", "message": "m", "remediation": "r"}
    document = {
        "stack": "prod",
        "policy": {
            "rules": [{"id": "p1", "title": "P", "pillar": "security", "severity": "high"}],
            "violations": [{**entry, "rule": "p1", "enforcement": "mandatory"}],
        },
        "preconditions": {
            "rules": [{"id": "q1", "title": "Q", "level": "mandatory", "severity": "high"}],
            "violations": [{**entry, "precondition": "q1", "level": "mandatory"}],
        },
    }
    sarif = sarif_document(document, "stacks/Pulumi.prod.yaml")
    validate_sarif(sarif)
    assert [(r["ruleId"], r["level"]) for r in sarif["runs"][0]["results"]] == [("p1", "error"), ("q1", "error")]


def test_the_schema_refuses_a_broken_log() -> None:
    with pytest.raises(jsonschema.ValidationError):
        validate_sarif({"version": "2.1.0", "runs": [{"results": []}]})  # a run without its tool


# -- GitHub Actions --------------------------------------------------------------------------------


def unescape(text: str) -> str:
    """The runner's decoding (actions/runner ActionCommand.cs UnescapeValue)."""
    for escaped, raw in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(escaped, raw)
    return text


COMMAND = re.compile(r"^::(?P<level>\w+) (?P<props>[^:]*)::(?P<message>.*)$")


def parse_command(line: str) -> tuple[str, dict[str, str], str]:
    match = COMMAND.match(line)
    assert match, line
    props = dict(item.split("=", 1) for item in match["props"].split(","))
    return match["level"], {k: unescape(v) for k, v in props.items()}, unescape(match["message"])


@pytest.mark.parametrize(
    ("raw", "data", "prop"),
    [
        ("50% done", "50%25 done", "50%25 done"),
        ("a\nb\r\nc", "a%0Ab%0D%0Ac", "a%0Ab%0D%0Ac"),
        ("api: p95, p99", "api: p95, p99", "api%3A p95%2C p99"),
        ("%0A literal", "%250A literal", "%250A literal"),
    ],
)
def test_escaping_follows_the_workflow_command_rules(raw: str, data: str, prop: str) -> None:
    assert escape_data(raw) == data and escape_property(raw) == prop
    assert unescape(data) == raw and unescape(prop) == raw


def test_an_annotation_survives_hostile_text() -> None:
    line = Annotation("error", "t: a, b::c", "first\nsecond %0A ::error::x", "stacks/Pulumi.prod.yaml").line()
    assert "\n" not in line
    level, props, message = parse_command(line)
    assert level == "error" and props == {"file": "stacks/Pulumi.prod.yaml", "title": "t: a, b::c"}
    assert message == "first\nsecond %0A ::error::x"


def test_fail_and_warn_rows_become_errors_and_warnings() -> None:
    found = [(a.level, a.title) for a in report_annotations(sample_report(), "check")]
    assert found == [
        ("warning", "fin-infra check dev: api-latency WARN"),
        ("warning", "fin-infra check dev: db-query-time NO_DATA"),
        ("error", "fin-infra check dev: conformance cache eviction policy FAIL"),
    ]


def test_check_report_annotates_and_appends_the_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("# earlier step\n")
    environ = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    publish_report(sample_report(), "check", environ)
    lines = capsys.readouterr().err.splitlines()
    assert [parse_command(line)[0] for line in lines] == ["warning", "warning", "error"]
    text = summary.read_text()
    assert text.startswith("# earlier step\n") and "api-latency" in text and len(text) > 200


def test_outside_actions_nothing_is_annotated_or_summarised(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    publish_report(sample_report(), "check", {})
    assert capsys.readouterr().err == ""


def test_policy_command_in_actions(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    result = CliRunner().invoke(main, ["policy", "dev", "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    json.loads(result.stdout)  # stdout stays a clean JSON document
    commands = [parse_command(line) for line in result.stderr.splitlines() if line.startswith("::")]
    assert commands and {level for level, _, _ in commands} == {"warning"}
    assert all(props["file"] == "stacks/Pulumi.dev.yaml" for _, props, _ in commands)
    assert "Remediation:" in commands[0][2]
    assert "cache-private-network" in summary.read_text()
    plain = CliRunner().invoke(main, ["policy", "dev"], env={"GITHUB_ACTIONS": None, "GITHUB_STEP_SUMMARY": None})
    assert "::warning" not in plain.output
