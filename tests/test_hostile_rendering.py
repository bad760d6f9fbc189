"""Every value is text in every format: no markup, HTML, table break or invalid XML from a value.

Values in reports and tables come from outside (stack files, outputs, servers' error text).
The terminal tables (Rich) used to read `[...]` as markup: `[containerName=backend]` vanished
from the plan and a `[/x]` crashed the run. The Markdown reports passed `<script>` through and
a `|` split a table row; JUnit XML was invalid with a control character. The HTML report
escaped correctly: a test keeps it so.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner

from checks.model import Report, decide, no_data
from checks.render import render_html, render_junit, render_markdown, render_table
from infra.cli import main as cli
from infra.deploy.report import render_markdown as deploy_markdown
from infra.plan.command.render import render_markdown as plan_markdown
from infra.plan.command.render import render_table as plan_table
from infra.policy.render import render_policy_markdown, render_policy_table
from tests.test_checks_render import LATENCY, WINDOW, sample_report

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "a | b | c",
    "[/x]",
    "[bold]loud[/bold]",
    "[containerName=backend]",
    "](javascript:alert(1))",
    "`code` and ``more``",
    "line one\nline two\r\n# heading",
    "nul\x00 bell\x07 escape\x1b[31m vt\x0b ff\x0c",
    "&amp; &#60; &lt;",
    ":smile: *emphasis* _under_ ~~strike~~",
]


def raw_html(markdown: str) -> bool:
    """Unescaped HTML outside code spans (inside a code span, `<` is literal text)."""
    prose = re.sub(r"`[^`\n]*`", "", markdown)
    return bool(re.search(r"(?<!\\)<(script|img)", prose))


def assert_tables_intact(markdown: str) -> None:
    """Every row of each Markdown table has as many cells as its header: no value split a row."""
    table: list[int] = []
    for line in [*markdown.splitlines(), ""]:
        if line.startswith("|"):
            table.append(len(re.split(r"(?<!\\)\|", line)))
        else:
            assert len(set(table)) <= 1, f"a value split a table row: cell counts {table}"
            table = []


def hostile_report(value: str) -> Report:
    base = sample_report()
    row = no_data(
        source="probe:http",
        resource=f"http://127.0.0.1/{value}",
        label=f"label {value}",
        query={"url": f"http://127.0.0.1/{value}", "kql": value},
        window=WINDOW,
        thresholds=LATENCY,
        reason=f"reason {value}",
    )
    target = decide(f"id-{value}", f"component {value}", "average latency", LATENCY, [("probe", [row])])
    return base.model_copy(update={"targets": [*base.targets, target], "notes": [f"note {value}"]})


@pytest.mark.parametrize("value", HOSTILE)
def test_the_table_shows_every_value_as_text(value: str) -> None:
    text = render_table(hostile_report(value), width=400)
    for fragment in ("[/x]", "[bold]loud[/bold]", "[containerName=backend]", ":smile:"):
        if fragment in value:
            assert fragment in text, f"{fragment!r} was read as markup"


@pytest.mark.parametrize("value", HOSTILE)
def test_markdown_escapes_html_pipes_and_markup(value: str) -> None:
    text = render_markdown(hostile_report(value))
    assert not raw_html(text), "raw HTML from a value"
    prose = re.sub(r"`[^`\n]*`", "", text)
    assert not re.search(r"(?<!\\)\]\(javascript", prose), "a value made a link"
    assert_tables_intact(text)
    assert "\x00" not in text and "\x1b" not in text
    assert not re.search(r"^#+ heading", text, re.MULTILINE), "a value started a heading"


@pytest.mark.parametrize("value", HOSTILE)
def test_junit_stays_valid_xml_with_the_value_as_text(value: str) -> None:
    text = render_junit(hostile_report(value))
    root = ET.fromstring(text)
    names = [case.get("name") or "" for case in root.iter("testcase")]
    assert any(name.startswith("id-") for name in names)
    assert "<script" not in text


@pytest.mark.parametrize("value", HOSTILE)
def test_html_report_escapes_every_value(value: str) -> None:
    text = render_html(hostile_report(value))
    assert "<script>alert" not in text and "<img src=x" not in text
    if "<script>" in value:
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "\x00" not in text


def test_default_plan_table_keeps_the_per_container_dimension() -> None:
    result = CliRunner().invoke(cli, ["plan", "dev"], catch_exceptions=False)
    assert result.exit_code == 0
    assert "[containerName=" in result.output, "Rich dropped [containerName=...] as markup"


@pytest.fixture(scope="module")
def plan_document() -> dict:
    result = CliRunner().invoke(cli, ["plan", "dev", "--format", "json"], catch_exceptions=False)
    return json.loads(result.output)


@pytest.mark.parametrize("value", HOSTILE)
def test_plan_table_and_markdown_show_a_hostile_summary_as_text(plan_document: dict, value: str) -> None:
    document = json.loads(json.dumps(plan_document))
    document["resources"][0]["summary"] = value
    document["stack"] = f"dev {value}"
    table = plan_table(document, width=400)
    if "[/x]" in value:
        assert "[/x]" in table
    markdown = plan_markdown(document)
    assert not raw_html(markdown) and "\x00" not in markdown
    assert_tables_intact(markdown)


def test_policy_and_deploy_renderings_escape_values() -> None:
    value = "<script>x</script> | [/x]"
    section = {
        "verdict": f"failed {value}",
        "rules": [
            {"id": f"rule {value}", "pillar": "p", "severity": "high", "evaluated": 1, "violations": 1,
             "notApplicable": 0, "undecided": 0, "enforcement": "mandatory", "description": value}
        ],
        "violations": [
            {"enforcement": "mandatory", "rule": f"r`{value}", "resource": value, "message": value,
             "remediation": value}
        ],
    }  # fmt: skip
    try:
        table = render_policy_table({"policy": section}, width=400)
    except KeyError as missing:
        pytest.fail(f"the policy section shape changed: {missing}")
    assert "[/x]" in table
    markdown = render_policy_markdown({"policy": section})
    assert not raw_html(markdown)
    deploy = deploy_markdown(
        {"stack": "dev", "dryRun": False, "exitCode": 2, "outcome": value, "environment": value,
         "stages": [{"name": "check", "status": "failed", "seconds": 1, "detail": value}],
         "policyViolations": [{"stage": "s", "level": "mandatory", "rule": value, "resource": value, "message": value}]}
    )  # fmt: skip
    assert not raw_html(deploy)
    assert_tables_intact(deploy)
    assert_tables_intact(markdown)


def test_the_rollout_summary_renders_every_value_as_text() -> None:
    from infra.deploy.rollout_report import render_markdown as render_rollout

    hostile = "<script>alert(1)</script> | [x](javascript:y) `tick`"
    document = {
        "stack": "prod`<b>",  # in a code span: literal, but the backtick must not close it
        "outcome": "rolled back",
        "exitCode": 20,
        "summary": hostile,
        "steps": [
            {"name": "10 %", "weight": 10, "verdict": "FAIL", "seconds": 1.0, "detail": hostile, "comparisons": []}
        ],
        "finalTraffic": {
            "backend": {
                "revisionMode": "Single",
                "stableRevision": "app--r1`x|y",
                "canaryRevision": None,
                "canaryWeight": 0,
            }
        },
    }
    text = render_rollout(document)
    assert text.startswith("# Rollout of `prod'<b>`:")
    assert not re.search(r"(?<!\\)<script>", text)  # outside code spans no raw HTML: "<" before a tag is escaped
    assert "\\<script>" in text and "\\|" in text and "\\[x\\]" in text
    assert "`app--r1'x\\|y`" in text  # a code span cannot be closed early, a pipe cannot end the cell
    assert "| backend | Single |" in text and "none" in text
