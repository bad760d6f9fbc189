"""The terminal the tables are printed to: colour or not, and how wide.

Colour only when stdout is a terminal, unless the environment says otherwise:
`NO_COLOR` (https://no-color.org: present and not empty, no colour) wins over `FORCE_COLOR`
(https://force-color.org: present and not empty, colour even into a pipe). The width is the
terminal's (`COLUMNS` first, as `shutil.get_terminal_size` reads it); output that is not a
terminal (a file, a CI log) keeps the wide `PIPE_WIDTH`. Every table folds its cells rather than
cropping them, so nothing is cut at 80 columns.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
from collections.abc import Callable, Mapping
from typing import IO, Any

import click
from rich.console import Console
from rich.text import Text

PIPE_WIDTH = 160  # the width of a table written to a file or a pipe (as before terminals were measured)
MIN_WIDTH = 40

VERDICT_STYLES = {
    "PASS": "green",
    "passed": "green",
    "WARN": "yellow",
    "warned": "yellow",
    "advisory": "yellow",
    "FAIL": "bold red",
    "failed": "bold red",
    "mandatory": "bold red",
    "NO_DATA": "magenta",
    "ERROR": "bold magenta",
    "SKIPPED": "dim",
}


def _is_tty(stream: IO[str] | None) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError):
        return False


def colour_wanted(stream: IO[str] | None, environ: Mapping[str, str] | None = None) -> bool:
    """Colour for `stream`: NO_COLOR off, else FORCE_COLOR on, else only on a terminal."""
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR", ""):
        return False
    if env.get("FORCE_COLOR", ""):
        return True
    return _is_tty(stream)


def width_for(stream: IO[str] | None, environ: Mapping[str, str] | None = None) -> int:
    """The terminal's width (COLUMNS first); PIPE_WIDTH when `stream` is not a terminal."""
    env = os.environ if environ is None else environ
    columns = env.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return max(MIN_WIDTH, int(columns))
    if not _is_tty(stream):
        return PIPE_WIDTH
    return max(MIN_WIDTH, shutil.get_terminal_size((PIPE_WIDTH, 24)).columns)


def table_console(buffer: io.StringIO, width: int | None, colour: bool) -> Console:
    """A console rendering into `buffer`: text only (no markup, emoji or highlighting), ANSI colour if asked."""
    return Console(
        file=buffer,
        width=width or PIPE_WIDTH,
        force_terminal=colour,
        color_system="standard" if colour else None,
        no_color=not colour,
        highlight=False,
        markup=False,
        emoji=False,
        soft_wrap=False,
    )


def verdict_text(value: str) -> Text:
    """A verdict or status cell, coloured by what it means (plain when colour is off)."""
    return Text(value, style=VERDICT_STYLES.get(value, ""))


def echo_rendered(render: Callable[..., str], output_format: str, document: Any) -> None:
    """Print a rendered document to stdout: a table fitted to the terminal (and coloured when
    `colour_wanted`), every other format as is."""
    colour = False
    if output_format == "table":
        colour = colour_wanted(sys.stdout)
        text = render(document, width=width_for(sys.stdout), colour=colour)
    else:
        text = render(document)
    click.echo(text, nl=False, color=colour)
