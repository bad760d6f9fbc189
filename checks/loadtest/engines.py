"""The Locust and Azure Load Testing engines of `fin-infra loadtest`, from the plan to the report.

Artillery's path stays in `checks.loadtest.cli`. These two write the rendered Locust file and
its CSV (into `--output-dir`, or a temporary directory removed afterwards), run the engine,
and return the same `Report` Artillery's run gives, so every engine has the same report
formats and exit codes. An engine that is missing or fails raises `EngineError` (exit 5).
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from azure.core.credentials import TokenCredential

from checks.loadtest.azure_engine import (
    RESULTS_NAME,
    AzureLoadTestError,
    AzureLoadTesting,
    azure_result,
    definition_body,
    download_results,
    result_url,
)
from checks.loadtest.config import LoadTestPlan
from checks.loadtest.engine_report import engine_report
from checks.loadtest.locust_file import write_locust_files
from checks.loadtest.locust_report import LocustStatsError, locust_result, read_locust_stats
from checks.loadtest.locust_runner import GRACE_SECONDS, LocustError, run_locust
from checks.model import Policy, Report
from checks.outputs import StackOutputs

ENGINES = ("artillery", "locust", "azure")
LOCUST_FILES = ("locustfile.py", "users.csv", "locust-stats.json")
AZURE_FILES = ("locustfile.py", "users.csv", RESULTS_NAME)


class EngineError(RuntimeError):
    """The engine is not installed, refused the test, or did not run to the end."""


def run_locust_engine(
    plan: LoadTestPlan,
    outputs: StackOutputs,
    policy: Policy,
    *,
    workers: int,
    output_dir: Path | None,
    say: Callable[[str], None],
) -> Report:
    with tempfile.TemporaryDirectory(prefix="fin-loadtest-locust-") as scratch:
        work = output_dir or Path(scratch)
        locustfile, _ = write_locust_files(plan, work, generators=max(1, workers))
        try:
            run = run_locust(
                locustfile.resolve(),
                workers=workers,
                timeout_seconds=plan.duration_seconds + GRACE_SECONDS + 45,
                progress=lambda line: say(f"  locust | {line}"),
            )
            result = locust_result(plan, run, read_locust_stats(run.stats_path))
        except (LocustError, LocustStatsError) as error:
            raise EngineError(str(error)) from None
    return engine_report(plan, outputs, result, policy)


def azure_test_id(stack: str) -> str:
    """The service's test id: lower-case letters, digits, '_' or '-', 2-50 characters (spec: testId)."""
    cleaned = "".join(c if c.isalnum() or c in "-_" else "-" for c in f"fin-infra-{stack}".lower())
    return cleaned[:50]


def run_azure_engine(
    plan: LoadTestPlan,
    outputs: StackOutputs,
    policy: Policy,
    *,
    endpoint: str,
    credential: TokenCredential,
    engines: int,
    subnet_id: str | None,
    output_dir: Path | None,
    say: Callable[[str], None],
    client_kwargs: dict[str, Any] | None = None,
    download_verify: Any = True,
    poll_seconds: float = 5.0,
    timeout_seconds: float | None = None,
) -> Report:
    service = AzureLoadTesting(endpoint, credential, dict(client_kwargs or {}), poll_seconds)
    test_id = azure_test_id(plan.stack)
    with tempfile.TemporaryDirectory(prefix="fin-loadtest-azure-") as scratch:
        work = output_dir or Path(scratch)
        locustfile, payload = write_locust_files(plan, work, generators=engines)
        admin, runs = service.clients()
        try:
            with admin, runs:
                say(f"  azure | test {test_id} on {endpoint}: {engines} engine instance(s)")
                service.prepare(
                    admin,
                    test_id,
                    definition_body(plan, engines, subnet_id),
                    [(locustfile, "TEST_SCRIPT"), (payload, "ADDITIONAL_ARTIFACTS")],
                )
                run = service.run(
                    runs,
                    test_id,
                    f"{test_id}-{uuid.uuid4().hex[:12]}",
                    timeout_seconds=timeout_seconds or plan.duration_seconds + 1800,
                    progress=lambda line: say(f"  azure | {line}"),
                )
            url = result_url(run.body)
            if url:  # kept with --output-dir; checked either way
                run.results_path = download_results(url, work / RESULTS_NAME, verify=download_verify)
        except AzureLoadTestError as error:
            raise EngineError(str(error)) from None
    return engine_report(plan, outputs, azure_result(plan, run, engines), policy)
