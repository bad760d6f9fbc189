"""How long `fin-infra plan STACK` takes, end to end, as a user runs it (goal: prod < 3 s).

Runs the installed command in a fresh process each time (imports included), several times,
and prints the fastest, median and slowest wall-clock time. Usage:

    .venv/bin/python tests/benchmarks/plan_speed.py [STACK] [RUNS]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

GOAL_SECONDS = 3.0


def main() -> int:
    stack = sys.argv[1] if len(sys.argv) > 1 else "prod"
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    command = [str(Path(sys.executable).with_name("fin-infra")), "plan", stack, "--format", "json"]
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        timings.append(time.perf_counter() - started)
    median = statistics.median(timings)
    print(
        f"fin-infra plan {stack}: {runs} runs, fastest {min(timings):.2f} s, "
        f"median {median:.2f} s, slowest {max(timings):.2f} s (goal < {GOAL_SECONDS:.0f} s)"
    )
    return 0 if median < GOAL_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
