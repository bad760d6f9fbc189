"""Command-line options shared by the commands that plan a stack offline (`plan`, `policy`)."""

from __future__ import annotations

from pathlib import Path

import click

stacks_dir_option = click.option(
    "--stacks-dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Folder of Pulumi.<stack>.yaml files (default: the stacks/ of the project found from the current directory).",
)

output_file_option = click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write here instead of stdout."
)
