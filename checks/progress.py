"""Progress on long waits: a live line on a terminal, a heartbeat line elsewhere.

The bake, the probes' live window, the Azure reads and the load test's phases take minutes.
On a terminal (stderr is a TTY) a single line is redrawn every second with what is being waited
for and the time left; in a CI log (not a TTY) one line is printed every `heartbeat` seconds
(`FIN_INFRA_HEARTBEAT_SECONDS`, default 30), so a job never looks hung and the log stays short.
The line is drawn by a daemon thread while the caller waits, so the caller's own sleep (which
tests replace) and its interrupt handling stay exactly as they were.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO

from checks.terminal import width_for

DEFAULT_HEARTBEAT = 30.0
TICK = 1.0


def heartbeat_seconds() -> float:
    text = os.environ.get("FIN_INFRA_HEARTBEAT_SECONDS", "")
    try:
        value = float(text)
    except ValueError:
        return DEFAULT_HEARTBEAT
    return value if 0.05 <= value <= 3600 else DEFAULT_HEARTBEAT


def clock_text(seconds: float) -> str:
    """`42 s`, `4 min 05 s`, `1 h 02 min`."""
    whole = int(max(0.0, seconds) + 0.5)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def status_line(what: str, elapsed: float, total: float | None) -> str:
    if total:
        return f"{what}: {clock_text(total - elapsed)} left of {clock_text(total)}"
    return f"{what}: {clock_text(elapsed)} so far"


@contextmanager
def progress(
    what: str,
    total_seconds: float | None = None,
    *,
    stream: IO[str] | None = None,
    heartbeat: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[None]:
    """Show `what` and the time left of `total_seconds` (or the time so far) while the body runs."""
    out = stream or sys.stderr
    try:
        live = out.isatty()
    except (AttributeError, ValueError):
        live = False
    interval = TICK if live else (heartbeat or heartbeat_seconds())
    width = width_for(out) if live else 0
    started = clock()
    stop = threading.Event()

    def draw() -> None:
        text = status_line(what, clock() - started, total_seconds)
        try:
            if live:
                out.write("\r\x1b[2K" + text[: max(1, width - 1)])
            else:
                out.write(text + "\n")
            out.flush()
        except (OSError, ValueError):  # the stream went away (a closed pipe): stop drawing, keep waiting
            stop.set()

    def run() -> None:
        while not stop.wait(interval):
            draw()

    if live:
        draw()
    ticker = threading.Thread(target=run, name="fin-infra-progress", daemon=True)
    ticker.start()
    try:
        yield
    finally:
        stop.set()
        ticker.join(timeout=2)
        if live:
            try:
                out.write("\r\x1b[2K")
                out.flush()
            except (OSError, ValueError):
                pass
