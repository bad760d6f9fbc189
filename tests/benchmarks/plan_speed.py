"""How long `fin-infra plan` takes, end to end, as a user runs it (goal: one stack < 3 s).

Runs the installed command in a fresh process each time (imports included), several times:
once with one stack, once with the three stacks in one process (`plan dev staging prod`), and
prints the fastest, median and slowest wall-clock time of each with the per-stack cost, so the
saving of paying the imports once shows. Usage:

    .venv/bin/python tests/benchmarks/plan_speed.py [STACK] [RUNS]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

GOAL_SECONDS = 3.0
ALL = ("dev", "staging", "prod")


def timed(stacks: tuple[str, ...], runs: int) -> list[float]:
    command = [str(Path(sys.executable).with_name("fin-infra")), "plan", *stacks, "--format", "json"]
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        timings.append(time.perf_counter() - started)
    return timings


def line(label: str, timings: list[float], stacks: int) -> str:
    median = statistics.median(timings)
    return (
        f"fin-infra plan {label}: {len(timings)} runs, fastest {min(timings):.2f} s, median {median:.2f} s, "
        f"slowest {max(timings):.2f} s; per stack {median / stacks:.2f} s"
    )


def main() -> int:
    stack = sys.argv[1] if len(sys.argv) > 1 else "prod"
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    one = timed((stack,), runs)
    three = timed(ALL, runs)
    print(line(stack, one, 1) + f" (goal < {GOAL_SECONDS:.0f} s)")
    print(line(" ".join(ALL), three, len(ALL)))
    saved = 1 - statistics.median(three) / (len(ALL) * statistics.median(one))
    print(f"three stacks in one process vs three processes of one: {saved:.0%} less time")
    return 0 if statistics.median(one) < GOAL_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
