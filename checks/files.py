"""Writing reports: an unwritable place is a clear usage error naming the option, never a traceback.

`--output-dir` may name a path under a regular file, a folder in /proc, a read-only file
system or a place without permission; a report's file name may already be a directory.
`OutputError` carries a message naming the option and the path; the commands turn it into
their usage exit code (4).
"""

from __future__ import annotations

import errno
from pathlib import Path


class OutputError(ValueError):
    """The reports cannot be written where asked."""


def _reason(error: OSError) -> str:
    if error.errno == errno.EROFS:
        return "read-only file system"
    if error.errno in (errno.ENOTDIR, errno.EEXIST) and not isinstance(error, IsADirectoryError):
        return "a part of the path is a file, not a directory"
    if isinstance(error, IsADirectoryError):
        return "it is a directory"
    return error.strerror or str(error)


def prepare_output_dir(directory: Path, option: str = "--output-dir") -> Path:
    """Create `directory` (and its parents) and prove it writable; OutputError otherwise."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / ".fin-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise OutputError(f"{option} {directory}: cannot write there ({_reason(error)})") from None
    return directory


def write_text(path: Path, text: str, option: str = "--output-dir") -> None:
    """Write one report file; OutputError naming the option and file when it cannot be written."""
    if path.is_dir():
        raise OutputError(f"{option}: {path} is a directory, not a file the report can be written to")
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise OutputError(f"{option}: cannot write {path} ({_reason(error)})") from None
