"""One duration parser for every duration option of every command (issue 18, item 5).

Each option is parsed by the real command's own option parsing (`make_context`), so the table
shows what a user typing it gets: the same spellings accepted everywhere, the same mistakes
refused with a message naming the option, before the command does anything.
"""

from __future__ import annotations

from datetime import timedelta

import click
import pytest

from checks.durations import parse_duration
from infra.cli import main

# (command, option, parameter name) for every duration option
OPTIONS = [
    ("check", "--window", "window"),
    ("check", "--bake", "bake"),
    ("deploy", "--bake-time", "bake_seconds"),
    ("deploy", "--window", "window"),
]

ACCEPTED = [
    ("300", timedelta(seconds=300)),
    ("90s", timedelta(seconds=90)),
    ("5m", timedelta(minutes=5)),
    ("1h30m", timedelta(minutes=90)),
    ("2.5s", timedelta(seconds=2.5)),
    ("PT5M", timedelta(minutes=5)),
    ("pt1h", timedelta(hours=1)),
    ("PT1H30M", timedelta(minutes=90)),
    ("P1D", timedelta(days=1)),
]

REFUSED = ["later", "-1", "1e400", "5 minutes", "P", "PT", "", "9" * 400]


def parse(command: str, *argv: str) -> dict[str, object]:
    cmd = main.get_command(click.Context(main), command)
    assert cmd is not None
    with cmd.make_context(command, ["dev", *argv]) as ctx:
        return dict(ctx.params)


def as_timedelta(value: object) -> timedelta:
    return value if isinstance(value, timedelta) else parse_duration(str(value))


@pytest.mark.parametrize(("command", "option", "name"), OPTIONS)
@pytest.mark.parametrize(("text", "expected"), ACCEPTED)
def test_every_duration_option_accepts_the_same_spellings(
    command: str, option: str, name: str, text: str, expected: timedelta
) -> None:
    assert as_timedelta(parse(command, option, text)[name]) == expected


@pytest.mark.parametrize(("command", "option", "name"), OPTIONS)
@pytest.mark.parametrize("text", REFUSED)
def test_every_duration_option_refuses_the_same_mistakes(command: str, option: str, name: str, text: str) -> None:
    with pytest.raises(click.UsageError) as raised:
        parse(command, option, text)
    assert option in raised.value.format_message() or option in str(raised.value.param.opts)


@pytest.mark.parametrize(
    ("command", "option", "text"),
    [
        ("check", "--window", "P31D"),
        ("deploy", "--window", "P31D"),
        ("check", "--bake", "25h"),
        ("deploy", "--bake-time", "PT25H"),
    ],
)
def test_bounds_are_the_same_for_the_same_kind(command: str, option: str, text: str) -> None:
    with pytest.raises(click.BadParameter, match="is outside"):
        parse(command, option, text)


def test_deploy_bake_time_pt5m_reaches_the_pipeline_as_seconds() -> None:
    assert parse("deploy", "--bake-time", "PT5M")["bake_seconds"] == timedelta(minutes=5)
    assert parse("deploy")["bake_seconds"] == timedelta(minutes=5)  # the default, 5m


def test_deploy_refuses_a_bad_window_before_any_stage(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No Pulumi CLI on PATH: had the deploy started, preflight would fail with exit 4, not 2."""
    from click.testing import CliRunner

    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["deploy", "dev", "--window", "PT"])
    assert result.exit_code == 2, result.output
    assert "--window" in result.output
    assert not (tmp_path / "out").exists()
