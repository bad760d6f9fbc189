"""The load test's Artillery config: the guide's test, aimed at a stack, judged by the target table.

The performance guide verifies the API with an Artillery test of three phases (60 s at 10 new
virtual users a second, 120 s at 50, 60 s at 10), each virtual user requesting `GET /health`,
`GET /api/portfolio/{userId}` and `POST /api/market-data` with a list of symbols, as JSON. This
module fills `templates/artillery.yml.j2` with what differs per run:

- the target: the API endpoint from the stack outputs (`services.backend.url`), or the
  endpoints file's `services.backend.url` (the same override the checks' probes take); the
  health path is the backend's configured `healthPath`;
- the user ids: a CSV payload (header `userId`, one id a line), checked before Artillery runs;
- the `ensure` checks: the table's numbers (`loadTest` in `checks/targets.yaml`), so Artillery
  and the verdict judge alike. Artillery has pass/fail only; each limit becomes a strict check
  at `critical` (a failure makes Artillery exit 1) and an optional one at `target` (printed as
  "fail (optional)", exit code unchanged): the verdict's WARN tier;
- the scale factor: durations and arrival rates multiplied by `scale` (0 < scale <= 1, each
  at least 1), for smoke runs of a few seconds.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from checks.endpoints import Endpoints
from checks.loadtest.safety import (
    LoadTestValueError,
    check_health_path,
    check_target_url,
    comment_text,
    refuse_templates,
    refuse_templates_in_config,
)
from checks.model import Thresholds
from checks.outputs import StackOutputs
from checks.targets import TargetTable

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PACKAGE_DIR.parent.parent / "templates"
TEMPLATE_NAME = "artillery.yml.j2"
SAMPLE_PAYLOAD = PACKAGE_DIR / "sample-users.csv"
PROCESSOR_FILE = PACKAGE_DIR / "processor.cjs"

# Artillery's names for the statistics the limits judge, as its `ensure` plugin reads them.
# `http.response_time` is time to first byte; `http.total` is the whole response (headers and
# body), recorded only with `config.http.extendedMetrics: true` (artillery 2.0.34,
# dist/lib/core/engine_http.js: `ee.emit('histogram', 'http.total', res.timings.phases.total)`
# on the response's `end` event). The load test judges the whole response.
LATENCY_SUMMARY = "http.total"
LATENCY_METRIC = f"{LATENCY_SUMMARY}.mean"
ERROR_RATE_EXPRESSION = "(vusers.created - vusers.completed) / vusers.created * 100"
MARKET_DATA_SYMBOLS = ("AAPL", "GOOGL", "MSFT")
HTTP_TIMEOUT_SECONDS = 10
PAYLOAD_FIELD = "userId"
# Characters a user id may hold: it is placed in a URL path as is (RFC 3986 unreserved).
USER_ID = re.compile(r"^[A-Za-z0-9._~-]+$")


LoadTestError = LoadTestValueError  # the load test cannot be configured as asked; names key, file or value


@dataclass(frozen=True)
class Phase:
    name: str
    duration_seconds: int
    arrival_rate: int

    def text(self) -> str:
        return f"{self.duration_seconds} s at {self.arrival_rate}/s"


GUIDE_PHASES = (
    Phase("warm up", 60, 10),
    Phase("sustained load", 120, 50),
    Phase("cool down", 60, 10),
)


def scale_phases(phases: tuple[Phase, ...], factor: float) -> list[Phase]:
    """Durations and arrival rates times `factor` (0 < factor <= 1), rounded, never below 1."""
    if not 0 < factor <= 1:
        raise LoadTestError(f"--scale must be above 0 and at most 1, got {factor:g}")
    return [
        Phase(p.name, max(1, round(p.duration_seconds * factor)), max(1, round(p.arrival_rate * factor)))
        for p in phases
    ]


@dataclass(frozen=True)
class Payload:
    path: Path
    user_ids: int


def read_payload(path: Path) -> Payload:
    """A CSV with a `userId` header and at least one id a URL path can hold."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LoadTestError(f"payload file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise LoadTestError(f"payload file {path} is unreadable: {error}") from None
    rows = [row for row in csv.reader(text.splitlines()) if row and any(cell.strip() for cell in row)]
    if not rows or [cell.strip() for cell in rows[0]] != [PAYLOAD_FIELD]:
        found = rows[0] if rows else "nothing"
        raise LoadTestError(f"payload file {path}: the first line must be the header {PAYLOAD_FIELD!r}, found {found}")
    ids = rows[1:]
    if not ids:
        raise LoadTestError(f"payload file {path} holds no user id below its {PAYLOAD_FIELD!r} header")
    for number, row in enumerate(ids, start=2):
        if len(row) != 1 or not USER_ID.match(row[0]):
            raise LoadTestError(
                f"payload file {path}, line {number}: {','.join(row)!r} is not one user id "
                "(letters, digits, '.', '_', '~', '-')"
            )
    resolved = Path(path).resolve()
    refuse_templates(str(resolved), "--payload (the payload file's path)")
    return Payload(path=resolved, user_ids=len(ids))


@dataclass(frozen=True)
class Limit:
    """A limit as the verdict and Artillery's `ensure` both apply it."""

    id: str
    component: str
    statistic: str
    thresholds: Thresholds


@dataclass(frozen=True)
class LoadTestPlan:
    stack: str
    target_url: str
    target_from: str
    health_path: str
    phases: list[Phase]
    scale: float
    payload: Payload
    latency: Limit
    error_rate: Limit

    @property
    def duration_seconds(self) -> int:
        return sum(p.duration_seconds for p in self.phases)

    @property
    def requests(self) -> list[str]:
        return [f"GET {self.health_path}", "GET /api/portfolio/{userId}", "POST /api/market-data"]

    def phases_text(self) -> str:
        return ", ".join(p.text() for p in self.phases)


def api_endpoint(outputs: StackOutputs, endpoints: Endpoints) -> tuple[str, str]:
    """The API's base URL and where it came from; refuses a stack whose outputs have none."""
    override = endpoints.service("backend").url
    if override:
        where = "endpoints file services.backend.url"
        return check_target_url(override, where).rstrip("/"), where
    backend = outputs.services.get("backend")
    if backend is None:
        raise LoadTestError(
            f"the stack outputs of {outputs.stack} have no services.backend: the load test needs the API endpoint"
        )
    if not backend.url:
        raise LoadTestError(
            f"the stack outputs of {outputs.stack} have no API endpoint: services.backend.url is null "
            f"(the backend's ingress is {backend.ingress}); the load test needs a URL the load "
            "generator can reach: run it from inside the network with an endpoints file that sets "
            "services.backend.url"
        )
    where = "stack output services.backend.url"
    return check_target_url(backend.url, where).rstrip("/"), where


def limits(table: TargetTable) -> tuple[Limit, Limit]:
    """The latency and error-rate limits of the table's `loadTest` section."""
    section = table.load_test
    if section is None:
        raise LoadTestError("the target table has no loadTest section (latencyTarget, errorRate): nothing to judge by")
    target = table.get(section.latency_target)
    latency = Limit(
        id=target.id,
        component=f"{target.component} (client side, under load)",
        statistic=target.statistic,
        thresholds=Thresholds(unit=target.unit, better=target.better, target=target.target, critical=target.critical),
    )
    rate = section.error_rate
    error_rate = Limit(
        id="error-rate",
        component="API under load",
        statistic=rate.statistic,
        thresholds=Thresholds(unit=rate.unit, better=rate.better, target=rate.target, critical=rate.critical),
    )
    return latency, error_rate


def plan_load_test(
    outputs: StackOutputs,
    table: TargetTable,
    *,
    payload_path: Path = SAMPLE_PAYLOAD,
    scale: float = 1.0,
    endpoints: Endpoints | None = None,
) -> LoadTestPlan:
    target_url, target_from = api_endpoint(outputs, endpoints or Endpoints())
    latency, error_rate = limits(table)
    backend = outputs.services.get("backend")
    return LoadTestPlan(
        stack=refuse_templates(outputs.stack, "the stack name"),
        target_url=target_url,
        target_from=target_from,
        health_path=check_health_path(backend.health_path, "stack output services.backend.healthPath")
        if backend
        else "/health",
        phases=scale_phases(GUIDE_PHASES, scale),
        scale=scale,
        payload=read_payload(payload_path),
        latency=latency,
        error_rate=error_rate,
    )


def ensure_checks(plan: LoadTestPlan) -> dict[str, list[dict[str, object]]]:
    """Artillery's `ensure` section: strict at each critical, optional at each target.

    A threshold `m: v` is the check `m < v`, failing at `v` or more, as `judge` fails at
    critical or more; the error rate is written as a condition with `<` for the same boundary
    (`maxErrorRate` would pass at exactly the limit).
    """
    latency = plan.latency.thresholds
    errors = plan.error_rate.thresholds
    return {
        "thresholds": [{LATENCY_METRIC: latency.critical}],
        "conditions": [
            {"expression": f"{LATENCY_METRIC} < {latency.target:g}", "strict": False},
            {"expression": f"{ERROR_RATE_EXPRESSION} < {errors.critical:g}", "strict": True},
            {"expression": f"{ERROR_RATE_EXPRESSION} < {errors.target:g}", "strict": False},
        ],
    }


def ensure_strictness(plan: LoadTestPlan) -> dict[str, bool]:
    """Each `ensure` check as Artillery prints it ("ok: <check>"), and whether it is strict."""
    checks = ensure_checks(plan)
    strictness = {
        f"{metric} < {limit:g}": True for threshold in checks["thresholds"] for metric, limit in threshold.items()
    }
    strictness.update({str(c["expression"]): bool(c["strict"]) for c in checks["conditions"]})
    return strictness


# The one Artillery template the config holds on purpose: the payload's user id in the URL.
PORTFOLIO_URL = "/api/portfolio/{{ " + PAYLOAD_FIELD + " }}"


def build_config(plan: LoadTestPlan) -> dict[str, object]:
    """The Artillery config as data; `render_config` serialises it with a YAML serializer."""
    return {
        "config": {
            "target": plan.target_url,
            "phases": [
                {"name": p.name, "duration": p.duration_seconds, "arrivalRate": p.arrival_rate} for p in plan.phases
            ],
            "payload": {
                "path": str(plan.payload.path),
                "fields": [PAYLOAD_FIELD],
                "skipHeader": True,
                "order": "random",
            },
            "processor": str(PROCESSOR_FILE),
            "http": {
                "timeout": HTTP_TIMEOUT_SECONDS,
                "extendedMetrics": True,
                "defaults": {
                    "headers": {
                        "Content-Type": "application/json",
                        "Accept": "application/json",
                        "User-Agent": "fin-infra-loadtest",
                    }
                },
            },
            "plugins": {"ensure": {}, "metrics-by-endpoint": {"useOnlyRequestNames": True, "suppressOutput": True}},
            "ensure": ensure_checks(plan),
        },
        "scenarios": [
            {
                "name": "guide",
                "afterResponse": "failOnServerError",
                "flow": [
                    {"get": {"name": plan.requests[0], "url": plan.health_path}},
                    {"get": {"name": plan.requests[1], "url": PORTFOLIO_URL}},
                    {
                        "post": {
                            "name": plan.requests[2],
                            "url": "/api/market-data",
                            "json": {"symbols": list(MARKET_DATA_SYMBOLS)},
                        }
                    },
                ],
            }
        ],
    }


def render_config(plan: LoadTestPlan) -> str:
    """A comment header (from the template) and the config, dumped by `yaml.safe_dump`.

    No value is ever substituted into YAML text: the data is serialised, so a newline or a
    quote in a value cannot add a key. Artillery evaluates `{{ }}` in every string of its
    config (with `$processEnvironment` and `$env` among the variables), so every string but
    the payload's user id is checked free of template syntax before the file is written.
    """
    config = build_config(plan)
    refuse_templates_in_config(config, allowed={PORTFOLIO_URL})
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        finalize=comment_text,  # every value in the header is one line of plain text
    )
    header = environment.get_template(TEMPLATE_NAME).render(plan=plan, guide_phases=GUIDE_PHASES)
    body = yaml.safe_dump(config, sort_keys=False, default_flow_style=False, allow_unicode=False, width=1000)
    return header + body
