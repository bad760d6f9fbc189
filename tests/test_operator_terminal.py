"""The terminal: every table at exactly 80 columns, colour on a terminal only, NO_COLOR/FORCE_COLOR.

Issue 18, item 1. Each table is rendered by the function the command uses, at width 80: no
line may be wider, and no cell may be cut short with an ellipsis (cells fold instead).
"""

from __future__ import annotations

import copy
import io
from typing import Any

import pytest
from click.testing import CliRunner

from checks.loadtest.config import plan_load_test
from checks.loadtest.report import loadtest_report
from checks.model import Policy
from checks.outputs import parse_outputs
from checks.render import render_table as check_table
from checks.targets import load_targets
from checks.terminal import PIPE_WIDTH, colour_wanted, width_for
from infra.cli import main
from infra.plan.command.render import plan_document
from infra.plan.command.render import render_table as plan_table
from infra.policy.evaluate import evaluate_plan, policy_section
from infra.policy.preconditions.evaluate import evaluate_preconditions, preconditions_section
from infra.policy.render import render_policy_table
from tests.conftest import plan
from tests.test_checks_render import sample_report
from tests.test_loadtest import UNREACHABLE, _run, outputs_document

ESC = "\x1b["
LONG = "a-finding-without-any-space-" * 6


def assert_fits_80(text: str) -> None:
    lines = text.splitlines()
    assert lines, "nothing rendered"
    wide = [(len(line), line) for line in lines if len(line) > 80]
    assert not wide, wide[:3]
    assert "…" not in text, "a cell was cut short instead of folded"
    assert ESC not in text, "colour in a table that did not ask for it"


def _sections(stack: str) -> dict[str, Any]:
    """The policy and preconditions sections of a real plan, plus one long violation of each kind."""
    result = plan(stack)
    policy = policy_section(evaluate_plan(result))
    preconditions = preconditions_section(evaluate_preconditions(result))
    policy["violations"] = [
        *policy["violations"],
        {"enforcement": "mandatory", "rule": "a-rule-" + LONG, "resource": LONG, "message": LONG, "remediation": LONG},
    ]
    preconditions["violations"] = [
        *preconditions["violations"],
        {"level": "mandatory", "precondition": LONG, "resource": LONG, "message": LONG, "remediation": LONG},
    ]
    return {"policy": policy, "preconditions": preconditions}


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_plan_table_fits_80_columns(stack: str) -> None:
    document = plan_document(plan(stack), extra_sections=_sections(stack))
    text = plan_table(document, width=80)
    assert_fits_80(text)
    for title in ("How each target is watched", "Workbook sections", "Policy violations", "Preconditions not met"):
        assert title in text


def test_policy_table_fits_80_columns() -> None:
    text = render_policy_table({"stack": "prod", **_sections("prod")}, width=80)
    assert_fits_80(text)
    assert "Policy violations" in text and "Preconditions not met" in text


def test_check_table_fits_80_columns() -> None:
    text = check_table(sample_report(), width=80)
    assert_fits_80(text)
    assert "Conformance (live vs declared)" in text


def test_loadtest_table_fits_80_columns() -> None:
    outputs = parse_outputs(outputs_document())
    load = plan_load_test(outputs, load_targets(), scale=0.02)
    report = loadtest_report(load, outputs, _run(1, [], load), copy.deepcopy(UNREACHABLE), Policy())
    assert_fits_80(check_table(report, width=80))


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("tty", "env", "colour"),
    [
        (True, {}, True),
        (False, {}, False),
        (True, {"NO_COLOR": "1"}, False),
        (True, {"NO_COLOR": ""}, True),  # no-color.org: present *and not empty*
        (False, {"FORCE_COLOR": "1"}, True),
        (False, {"FORCE_COLOR": ""}, False),
        (True, {"NO_COLOR": "1", "FORCE_COLOR": "1"}, False),  # NO_COLOR wins
    ],
)
def test_colour_follows_the_terminal_and_the_environment(tty: bool, env: dict[str, str], colour: bool) -> None:
    stream = FakeTerminal() if tty else io.StringIO()
    assert colour_wanted(stream, env) is colour


def test_width_is_the_terminals() -> None:
    assert width_for(io.StringIO(), {}) == PIPE_WIDTH
    assert width_for(io.StringIO(), {"COLUMNS": "80"}) == 80
    assert width_for(FakeTerminal(), {"COLUMNS": "100"}) == 100


@pytest.mark.parametrize(
    ("env", "coloured"),
    [({}, False), ({"FORCE_COLOR": "1"}, True), ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, False)],
)
def test_policy_command_colours_only_when_asked(env: dict[str, str], coloured: bool) -> None:
    """CliRunner's stdout is not a terminal: plain unless FORCE_COLOR, and NO_COLOR beats it."""
    base = {"NO_COLOR": None, "FORCE_COLOR": None, "COLUMNS": "80"}
    result = CliRunner().invoke(main, ["policy", "prod"], env={**base, **env})
    assert result.exit_code in (0, 3), result.output
    assert (ESC in result.stdout) is coloured
    if not coloured:
        assert max(len(line) for line in result.stdout.splitlines()) <= 80
