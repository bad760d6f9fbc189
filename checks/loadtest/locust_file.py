"""The guide's scenario as a Locust file, from the same plan (stack outputs, target table) as Artillery's config.

The file is `checks/loadtest/locust_scenario.py` with its `SCENARIO` placeholder line replaced
by a Python literal built from the plan: a dict of strings, numbers and lists, written with
`pprint.pformat` (i.e. `repr`), and read back with `ast.literal_eval` before it is used, so no
value from the outputs, the endpoints file or the payload path can become code. The values are
the ones Artillery's config carries (`checks.loadtest.config.build_config`): target, phases,
the three requests with their methods and JSON body, headers, HTTP timeout. The CSV of user ids
is copied beside the file under `PAYLOAD_NAME` (Azure Load Testing uploads both the same way).
"""

from __future__ import annotations

import ast
import pprint
import shutil
from pathlib import Path

from checks.loadtest.config import HTTP_TIMEOUT_SECONDS, MARKET_DATA_SYMBOLS, LoadTestPlan, build_config
from checks.loadtest.safety import LoadTestValueError, comment_text

BODY_FILE = Path(__file__).resolve().parent / "locust_scenario.py"
PLACEHOLDER = "SCENARIO: dict[str, Any] = {}  # FIN-INFRA: SCENARIO LITERAL"
LOCUSTFILE_NAME = "locustfile.py"
PAYLOAD_NAME = "users.csv"
PORTFOLIO_PREFIX = "/api/portfolio/"
# How long the last virtual users may take after the phases: the three requests, each bounded
# by the HTTP timeout, and a margin.
DRAIN_SECONDS = 3 * HTTP_TIMEOUT_SECONDS + 5


def scenario(plan: LoadTestPlan, generators: int = 1) -> dict[str, object]:
    """The values the Locust file runs with, taken from Artillery's config so both engines agree."""
    if generators < 1:
        raise LoadTestValueError(f"the Locust file needs at least one arrival user, got {generators}")
    config = build_config(plan)["config"]
    headers = dict(config["http"]["defaults"]["headers"])  # type: ignore[index]
    names = plan.requests
    return {
        "target": plan.target_url,
        "phases": [
            {"name": p.name, "duration": p.duration_seconds, "arrivalRate": p.arrival_rate} for p in plan.phases
        ],
        "durationSeconds": plan.duration_seconds,
        "drainSeconds": DRAIN_SECONDS,
        "generators": generators,
        "timeoutSeconds": HTTP_TIMEOUT_SECONDS,
        "headers": headers,
        "payloadFile": PAYLOAD_NAME,
        "requests": [
            {"name": names[0], "method": "GET", "path": plan.health_path},
            {"name": names[1], "method": "GET", "path": PORTFOLIO_PREFIX, "appendUserId": True},
            {
                "name": names[2],
                "method": "POST",
                "path": "/api/market-data",
                "json": {"symbols": list(MARKET_DATA_SYMBOLS)},
            },
        ],
    }


def render_locustfile(plan: LoadTestPlan, generators: int = 1) -> str:
    """The Locust file's text: a header, the scenario literal, the fixed body."""
    data = scenario(plan, generators)
    literal = pprint.pformat(data, width=100, sort_dicts=False)
    if ast.literal_eval(literal) != data:  # a literal that reads back differently is never written
        raise LoadTestValueError("the Locust scenario does not survive a round trip as a Python literal")
    body = BODY_FILE.read_text(encoding="utf-8")
    if body.count(PLACEHOLDER) != 1:
        raise LoadTestValueError(f"{BODY_FILE} must hold the placeholder line exactly once")
    header = (
        "# Rendered by `fin-infra loadtest --engine locust|azure`: the performance guide's scenario\n"
        f"# for stack {comment_text(plan.stack)}, target {comment_text(plan.target_url)}\n"
        f"# phases: {comment_text(plan.phases_text())}. Do not edit: render it again.\n"
    )
    return header + body.replace(PLACEHOLDER, "SCENARIO: dict[str, Any] = " + literal)


def write_locust_files(plan: LoadTestPlan, directory: Path, generators: int = 1) -> tuple[Path, Path]:
    """The Locust file and its CSV, side by side in `directory`; returns both paths."""
    locustfile = directory / LOCUSTFILE_NAME
    locustfile.write_text(render_locustfile(plan, generators), encoding="utf-8")
    payload = directory / PAYLOAD_NAME
    shutil.copyfile(plan.payload.path, payload)
    return locustfile, payload
