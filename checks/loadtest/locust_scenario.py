"""The body of the rendered Locust file: the guide's scenario as an open model, for Locust 2.x.

Never imported by the project: `checks.loadtest.locust_file` copies this source below a
`SCENARIO` literal it renders (values as Python literals via `repr`, never by substituting
text), and Locust runs the result (locally, with workers, or on Azure Load Testing engines).

Artillery's `arrivalRate` is an open model: every 1/rate seconds a new virtual user starts and
runs the flow once, whether earlier ones have finished or not. Locust's users are a closed
model (a fixed number of users, each looping). So each Locust process runs one *arrival*
user, which starts a greenlet per virtual user at Artillery's schedule (evenly spaced: arrival n
of a phase at (n + 1) / rate s after the phase starts, as artillery 2.0.34 was seen to do in
tests/test_loadtest_locust.py) and never waits for one to end: a slow server gets the same
arrival rate, as with Artillery. With N workers each arrival user takes every Nth arrival. A
`LoadTestShape` keeps one arrival user per process for the phases, then ends the test once
every virtual user has finished (bounded by the HTTP timeout).

Each virtual user opens its own HTTP session (its own connection, as an Artillery virtual
user does), picks a random user id from the CSV beside this file, and requests the three
routes in order; a transport error, a timeout or a 5xx response fails it and ends its flow
(Artillery's `failOnServerError`). Locust times each request until its body is read: the
full response time, as Artillery's `http.total`.
"""

from __future__ import annotations

import csv
import random
import time
from pathlib import Path
from typing import Any

import gevent
from gevent.pool import Group
from locust import LoadTestShape, User, constant, task
from locust.clients import HttpSession
from locust.exception import StopUser

SCENARIO: dict[str, Any] = {}  # FIN-INFRA: SCENARIO LITERAL


def read_user_ids() -> list[str]:
    """The ids of the payload CSV (a `userId` header, one id a line) beside this file."""
    path = Path(__file__).resolve().parent / SCENARIO["payloadFile"]
    with path.open(newline="", encoding="utf-8") as file:
        rows = [row for row in csv.reader(file) if row and row[0].strip()]
    return [row[0].strip() for row in rows[1:]]


USER_IDS = read_user_ids() if SCENARIO else []


def arrival_offsets(generators: int, index: int) -> list[float]:
    """Seconds from the start at which arrival user `index` of `generators` starts a virtual user."""
    offsets: list[float] = []
    start = 0.0
    number = 0
    for phase in SCENARIO["phases"]:
        interval = 1.0 / phase["arrivalRate"]
        for n in range(phase["duration"] * phase["arrivalRate"]):
            if number % generators == index:
                offsets.append(start + (n + 1) * interval)
            number += 1
        start += phase["duration"]
    return offsets


def run_flow(user: User) -> None:
    """One virtual user: the scenario's requests in order, stopping at the first failure."""
    session = HttpSession(base_url=SCENARIO["target"], request_event=user.environment.events.request, user=user)
    session.headers.update(SCENARIO["headers"])
    user_id = random.choice(USER_IDS)
    try:
        for step in SCENARIO["requests"]:
            path = step["path"] + (user_id if step.get("appendUserId") else "")
            with session.request(
                step["method"],
                path,
                name=step["name"],
                json=step.get("json"),
                timeout=SCENARIO["timeoutSeconds"],
                catch_response=True,
            ) as response:
                if response.status_code == 0 or response.status_code >= 500:
                    response.failure(f"HTTP {response.status_code}" if response.status_code else "no response")
                    return
                response.success()
    finally:
        session.close()


class Arrivals(User):
    """Starts virtual users at the phases' arrival rate (its share of it, with workers)."""

    wait_time = constant(0)
    running_here = 0

    @task
    def arrive(self) -> None:
        Arrivals.running_here += 1
        if Arrivals.running_here > 1:  # one arrival user per process; a second would double the rate
            raise StopUser()
        index = getattr(self.environment.runner, "worker_index", 0) % SCENARIO["generators"]
        flows = Group()
        began = time.monotonic()
        for offset in arrival_offsets(SCENARIO["generators"], index):
            gevent.sleep(max(0.0, began + offset - time.monotonic()))
            flows.spawn(run_flow, self)
        flows.join(timeout=SCENARIO["drainSeconds"])
        flows.kill(block=False)
        raise StopUser()


class Phases(LoadTestShape):
    """One arrival user per process during the phases; the end once every virtual user is done."""

    def tick(self) -> tuple[int, float] | None:
        run_time = self.get_run_time()
        generators = SCENARIO["generators"]
        if run_time < SCENARIO["durationSeconds"] + 2:
            return (generators, generators)
        if self.runner.user_count == 0 or run_time > SCENARIO["durationSeconds"] + SCENARIO["drainSeconds"] + 5:
            return None
        return (generators, generators)
