"""Ctrl-C and SIGTERM: stop promptly, stop the children, clean up, exit 130 / 143.

A gate run by CI is stopped with SIGTERM (a cancelled job) or, by a person, with Ctrl-C
(SIGINT). `interruptible()` turns both into an `Interrupted` exception raised in the main
thread, so `with` blocks unwind (temporary directories are removed, child processes stopped by
whoever started them) and the command can write what it has, marked interrupted. A second
signal while unwinding is ignored, so clean-up is not itself interrupted.

SIGHUP (the terminal closed) is handled the same way. Exit codes follow the shell's
convention, 128 + the signal's number: 130 after SIGINT, 143 after SIGTERM, 129 after SIGHUP.
None collides with a verdict (0-3), a usage error (4), a tool failure (5) or a deploy code (2-13).
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # SIGHUP: the terminal went away
EXIT_INTERRUPTED = 128 + signal.SIGINT  # 130
EXIT_TERMINATED = 128 + signal.SIGTERM  # 143


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived; a BaseException so that `except Exception` does not swallow it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def _raise(signum: int, frame: Any) -> None:
    for handled in HANDLED:
        signal.signal(handled, signal.SIG_IGN)  # the second Ctrl-C must not break the clean-up
    raise Interrupted(signum)


@contextmanager
def interruptible() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM raise `Interrupted`; the previous handlers come back after it."""
    previous: dict[int, Callable[..., Any] | int | None] = {}
    try:
        for signum in HANDLED:
            previous[signum] = signal.signal(signum, _raise)
    except ValueError:  # not the main thread (e.g. a test runner's worker): leave signals alone
        yield
        return
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def exit_interrupted(error: Interrupted, what: str) -> None:
    """Say what was stopped and exit 130 (SIGINT) or 143 (SIGTERM)."""
    print(f"{what}: interrupted by {error.name}; exit {error.exit_code}", file=sys.stderr)
    sys.exit(error.exit_code)


class InterruptiblePool(ThreadPoolExecutor):
    """A thread pool that, when `Interrupted` leaves its `with` block, does not wait for its
    workers (an Azure query may take a minute): queued work is cancelled, running work is
    abandoned, and the command exits without joining them (`checks.cli` exits with `os._exit`)."""

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> bool | None:
        if exc_type is not None and issubclass(exc_type, Interrupted):
            self.shutdown(wait=False, cancel_futures=True)
            return False
        return super().__exit__(exc_type, exc, traceback)
