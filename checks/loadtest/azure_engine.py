"""The load test on Azure Load Testing, through its data-plane SDK (`azure-developer-loadtesting`).

Steps, each an operation of the service's data-plane REST API (Azure/azure-rest-api-specs,
specification/loadtestservice/data-plane/Microsoft.LoadTestService/stable/2022-11-01/
loadtestservice.json; the SDK 1.0.1's default api-version is 2022-11-01):

1. create or update the test (`PATCH /tests/{testId}`): the engine instances
   (`loadTestConfiguration.engineInstances`, 1-45 in the spec), the pass/fail criteria from
   the target table (`passFailCriteria.passFailMetrics`), the subnet for virtual-network
   injection (`subnetId`) when given, and `kind: "Locust"`;
2. upload the rendered Locust file and its CSV (`PUT /tests/{testId}/files/{fileName}`),
   waiting for the service's validation (`validationStatus`; `VALIDATION_FAILURE` stops here
   with the service's `validationFailureDetails`);
3. start a run (`PATCH /test-runs/{testRunId}`) and follow it (`GET /test-runs/{testRunId}`)
   until `DONE`, `FAILED` or `CANCELLED`, printing its status; throttling (HTTP 429) is retried
   by azure-core's retry policy, honouring `Retry-After`; Ctrl-C/SIGTERM or the time limit
   stop the run (`POST /test-runs/{testRunId}:stop`) before the exception goes on;
4. download the results file (`testArtifacts.outputArtifacts.resultFileInfo.url`, called
   `resultUrl` in the spec's 2022-11-01 example) and judge `testRunStatistics` (per request
   name: `sampleCount`, `errorCount`, `meanResTime`, `pct1ResTime`/`pct2ResTime`/`pct3ResTime`
   = p90/p95/p99) with the verdict model all engines share (`checks.loadtest.engine_report`).

Locust tests (`kind: "Locust"`, script file type `TEST_SCRIPT`) are not in the 2022-11-01
spec: the service added them in later api-versions. `API_VERSION` is sent explicitly; the
value is taken from Learn's Locust guidance and could not be verified against a stored spec.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError, HttpResponseError

from checks.loadtest.config import LoadTestPlan
from checks.loadtest.engine_report import EngineResult, RequestStats
from checks.model import Window
from checks.redact import redact_text

SOURCE = "azure-load-testing"
API_VERSION = "2024-12-01"
MAX_ENGINES = 45  # loadtestservice.json 2022-11-01, LoadTestConfiguration.engineInstances: "range of 1-45"
TERMINAL = ("DONE", "FAILED", "CANCELLED")  # the SDK's TestRunStatusPoller's termination statuses
RESULTS_NAME = "azure-results.zip"


class AzureLoadTestError(RuntimeError):
    """Azure Load Testing refused a step, failed the run, or did not finish in time."""


def pass_fail_criteria(plan: LoadTestPlan) -> dict[str, Any]:
    """The service's own pass/fail at the table's critical values (it has pass/fail only, no WARN).

    `response_time_ms avg > critical` and `error percentage > critical`. The service counts
    errors per request, the verdict per virtual user (a failed virtual user stops at its
    first failed request): the verdict is computed from the statistics, the service's result
    is recorded beside it.
    """
    latency, errors = plan.latency.thresholds, plan.error_rate.thresholds
    return {
        "passFailMetrics": {
            f"{plan.latency.id}-critical": {
                "clientMetric": "response_time_ms",
                "aggregate": "avg",
                "condition": ">",
                "value": latency.critical,
                "action": "continue",
            },
            f"{plan.error_rate.id}-critical": {
                "clientMetric": "error",
                "aggregate": "percentage",
                "condition": ">",
                "value": errors.critical,
                "action": "continue",
            },
        }
    }


def definition_body(plan: LoadTestPlan, engines: int, subnet_id: str | None) -> dict[str, Any]:
    if not 1 <= engines <= MAX_ENGINES:
        raise AzureLoadTestError(f"--engine-instances must be between 1 and {MAX_ENGINES}, got {engines}")
    body: dict[str, Any] = {
        "displayName": f"fin-infra {plan.stack} guide scenario",
        "description": f"The performance guide's load test ({plan.phases_text()}) against {plan.target_url}",
        "kind": "Locust",
        "loadTestConfiguration": {"engineInstances": engines, "splitAllCSVs": False},
        "passFailCriteria": pass_fail_criteria(plan),
    }
    if subnet_id:
        body["subnetId"] = subnet_id
    return body


@dataclass
class AzureRun:
    test_id: str
    test_run_id: str
    status: str
    test_result: str | None
    started: datetime
    ended: datetime
    body: dict[str, Any]
    results_path: Path | None = None
    statuses: list[str] = field(default_factory=list)


@dataclass
class AzureLoadTesting:
    """The two SDK clients for one resource's data-plane endpoint (host name, no scheme)."""

    endpoint: str
    credential: TokenCredential
    client_kwargs: dict[str, Any] = field(default_factory=dict)
    poll_seconds: float = 5.0

    def clients(self) -> tuple[Any, Any]:
        from azure.developer.loadtesting import LoadTestAdministrationClient, LoadTestRunClient

        options = {"api_version": API_VERSION, **self.client_kwargs}
        return (
            LoadTestAdministrationClient(self.endpoint, self.credential, **options),
            LoadTestRunClient(self.endpoint, self.credential, **options),
        )

    def prepare(self, admin: Any, test_id: str, body: dict[str, Any], files: list[tuple[Path, str]]) -> None:
        """Create or update the test, then upload each (file, fileType) and wait for its validation."""
        try:
            admin.create_or_update_test(test_id, body)
        except HttpResponseError as error:
            raise AzureLoadTestError(f"Azure Load Testing refused the test {test_id!r}: {_reason(error)}") from None
        for path, file_type in files:
            try:
                with path.open("rb") as content:
                    poller = admin.begin_upload_test_file(
                        test_id, path.name, content, file_type=file_type, _polling_interval=self.poll_seconds
                    )
                    info = poller.result()
            except HttpResponseError as error:
                raise AzureLoadTestError(
                    f"uploading {path.name} to test {test_id!r} failed: {_reason(error)}"
                ) from None
            if (info or {}).get("validationStatus") == "VALIDATION_FAILURE":
                details = info.get("validationFailureDetails") or "no details given"
                raise AzureLoadTestError(f"Azure Load Testing rejected {path.name}: {details}")

    def run(
        self,
        runs: Any,
        test_id: str,
        test_run_id: str,
        *,
        timeout_seconds: float,
        progress: Callable[[str], None],
    ) -> AzureRun:
        """Start the run and follow it to a terminal status; stops it on any interruption."""
        started = datetime.now(UTC)
        try:
            poller = runs.begin_test_run(
                test_run_id,
                {"testId": test_id, "displayName": f"{test_id} {started:%Y-%m-%dT%H:%M:%SZ}"},
                _polling_interval=self.poll_seconds,
            )
        except HttpResponseError as error:
            raise AzureLoadTestError(
                f"Azure Load Testing did not start a run of {test_id!r}: {_reason(error)}"
            ) from None
        statuses: list[str] = []
        deadline = time.monotonic() + timeout_seconds
        try:
            while not poller.done():
                if time.monotonic() > deadline:
                    raise AzureLoadTestError(f"the run {test_run_id} did not end within {timeout_seconds:.0f} s")
                poller.wait(timeout=self.poll_seconds)
                body = poller.polling_method().resource() or {}
                status = str(body.get("status"))
                if not statuses or statuses[-1] != status:
                    statuses.append(status)
                    progress(f"run {test_run_id}: {status}" + _users(body))
            body = poller.result()
        except BaseException:
            _stop(runs, test_run_id, progress)
            raise
        status = str(body.get("status"))
        if status != "DONE":
            details = (body.get("errorDetails") or [{}])[0].get("message") if body.get("errorDetails") else None
            raise AzureLoadTestError(
                f"the run {test_run_id} ended {status}" + (f": {details}" if details else " (no error details given)")
            )
        return AzureRun(
            test_id=test_id,
            test_run_id=test_run_id,
            status=status,
            test_result=body.get("testResult"),
            started=started,
            ended=datetime.now(UTC),
            body=body,
            statuses=statuses,
        )


def _users(body: dict[str, Any]) -> str:
    return f", {body['virtualUsers']} virtual users" if isinstance(body.get("virtualUsers"), int) else ""


def _stop(runs: Any, test_run_id: str, progress: Callable[[str], None]) -> None:
    try:
        runs.stop_test_run(test_run_id)
        progress(f"run {test_run_id}: asked the service to stop it")
    except AzureError as error:
        progress(f"run {test_run_id}: could not stop it ({_reason(error)}); stop it in the portal")


def _reason(error: AzureError) -> str:
    status = getattr(error, "status_code", None)
    message = getattr(error, "message", None) or str(error)
    first = message.splitlines()[0] if message else "no message"
    return f"HTTP {status}: {first}" if status else first


def result_url(body: dict[str, Any]) -> str | None:
    outputs = ((body.get("testArtifacts") or {}).get("outputArtifacts")) or {}
    info = outputs.get("resultFileInfo") or outputs.get("resultUrl") or {}
    return info.get("url") if isinstance(info, dict) else None


def download_results(url: str, path: Path, verify: Any = True) -> Path:
    """The results archive from its (SAS) URL; no credential is sent with it."""
    try:
        with httpx.stream("GET", url, timeout=60, verify=verify, follow_redirects=False) as response:
            response.raise_for_status()
            with path.open("wb") as file:
                for chunk in response.iter_bytes():
                    file.write(chunk)
    except httpx.HTTPError as error:
        # httpx quotes the URL, whose query is the SAS token (sig=...): masked before it is shown.
        raise AzureLoadTestError(
            f"downloading the results failed: {type(error).__name__}: {redact_text(str(error))}"
        ) from None
    return path


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def azure_result(plan: LoadTestPlan, run: AzureRun, engines: int) -> EngineResult:
    """`testRunStatistics` in the engine-neutral shape; the "Total" row gives the percentiles."""
    statistics = run.body.get("testRunStatistics") or {}
    requests = []
    for name, row in statistics.items():
        if name == "Total" or not isinstance(row, dict):
            continue
        requests.append(
            RequestStats(
                name=str(row.get("transaction") or name),
                count=int(row.get("sampleCount") or 0),
                failures=int(row.get("errorCount") or 0),
                mean_ms=_number(row.get("meanResTime")),
            )
        )
    total = statistics.get("Total") or {}
    percentiles = {
        key: value
        for key, value in (
            ("p50", _number(total.get("medianResTime"))),
            ("p90", _number(total.get("pct1ResTime"))),
            ("p95", _number(total.get("pct2ResTime"))),
            ("p99", _number(total.get("pct3ResTime"))),
            ("min", _number(total.get("minResTime"))),
            ("max", _number(total.get("maxResTime"))),
        )
        if value is not None
    }
    notes = [f"Azure Load Testing ran the Locust file on {engines} engine instance(s)"]
    if run.test_result:
        notes.append(f"the service's own pass/fail criteria (at critical) gave {run.test_result}")
    return EngineResult(
        source=SOURCE,
        tool=f"Azure Load Testing (api-version {API_VERSION})",
        window=_window(run),
        requests=requests,
        latency_percentiles=percentiles,
        raw={"testResult": run.test_result, "testRunId": run.test_run_id},
        notes=notes,
        calls=[
            {
                "source": SOURCE,
                "testId": run.test_id,
                "testRunId": run.test_run_id,
                "status": run.status,
                "statuses": run.statuses,
                "testResult": run.test_result,
                "engineInstances": engines,
                "results": run.results_path.name if run.results_path else None,
                "seconds": round((run.ended - run.started).total_seconds(), 1),
            }
        ],
    )


def _window(run: AzureRun) -> Window:
    try:
        start = datetime.fromisoformat(str(run.body["startDateTime"]).replace("Z", "+00:00"))
        end = datetime.fromisoformat(str(run.body["endDateTime"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return Window(start=run.started, end=run.ended)
    return Window(start=start, end=end) if end >= start else Window(start=run.started, end=run.ended)
