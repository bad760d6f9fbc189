"""Azure clients for the checks, built one way: the cloud's endpoints and audiences, a lazy
credential, and bounded retries.

Retries use azure-core's `RetryPolicy` knobs (`retry_total`, `retry_backoff_factor`,
`retry_backoff_max`, `timeout` for the whole call including waits) with two changes, both for
the read-only POSTs these checks send (metrics `getBatch`, log `query`):

- POST is retried like GET on 408/429/500/502/503/504 and on connection and read errors (the
  stock policy retries a POST only on 500/503/504 or when a Retry-After header is present);
- a server's Retry-After is honoured but capped at `retry_backoff_max`, so one answer cannot
  stall the gate beyond its bounded total time.

Each attempt has a connect and read timeout; the total time of a call, waits included, is
a deadline of `total_timeout_seconds`. azure-core checks the remaining time only before an
attempt and caps only the connect timeout by it, so an attempt started late could still run
its full read timeout (a 90 s bound was measured at 93-101 s). This policy also caps each
attempt's read timeout and each wait between attempts at the time left, so a call ends by its
deadline (plus the time to fetch a token, which the credential bounds, and a few ms of
bookkeeping).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from azure.core.credentials import TokenCredential
from azure.core.pipeline.policies import RetryPolicy

from checks.clouds import CloudProfile
from checks.credentials import select_credential

RETRYABLE_METHODS = frozenset({"HEAD", "GET", "PUT", "DELETE", "OPTIONS", "TRACE", "POST"})


class ReadRetryPolicy(RetryPolicy):
    """azure-core's retry policy, for read-only POST queries, with a capped Retry-After."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._method_whitelist = RETRYABLE_METHODS

    def get_retry_after(self, response: Any) -> float | None:
        retry_after = super().get_retry_after(response)
        if retry_after is None:
            return None
        return min(retry_after, float(self.backoff_max))

    def configure_retries(self, options: dict[str, Any]) -> dict[str, Any]:
        settings = super().configure_retries(options)
        settings["deadline"] = time.monotonic() + settings["timeout"]
        return settings

    def _configure_timeout(self, request: Any, absolute_timeout: float, is_response_error: bool) -> None:
        super()._configure_timeout(request, absolute_timeout, is_response_error)
        options = request.context.options
        config = getattr(request.context.transport, "connection_config", None)
        read_timeout = options.get("read_timeout", getattr(config, "read_timeout", absolute_timeout))
        try:
            options["read_timeout"] = min(float(read_timeout), absolute_timeout)
        except (TypeError, ValueError):
            options["read_timeout"] = absolute_timeout

    def sleep(self, settings: dict[str, Any], transport: Any, response: Any = None) -> None:
        """The wait before the next attempt (Retry-After, else backoff), never past the deadline."""
        wait = self.get_retry_after(response) if response is not None else None
        if wait is None:
            wait = self.get_backoff_time(settings)
        left = settings.get("deadline", float("inf")) - time.monotonic()
        wait = max(0.0, min(wait, left))
        if wait:
            transport.sleep(wait)


def default_credential_factory(cloud: CloudProfile) -> Callable[[], TokenCredential]:
    """The credential `checks.credentials` selects: GitHub's OIDC assertion on Actions,
    DefaultAzureCredential elsewhere."""
    return select_credential(cloud.authority_host).build


@dataclass
class AzureAccess:
    """Everything a source needs to reach Azure: cloud, credential, time and retry bounds."""

    cloud: CloudProfile
    credential_factory: Callable[[], TokenCredential]
    timeout_seconds: float = 30.0
    retries: int = 3
    backoff_factor: float = 0.5
    backoff_max_seconds: float = 8.0
    total_timeout_seconds: float = 90.0
    client_kwargs: dict[str, Any] = field(default_factory=dict)
    _credential: TokenCredential | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def credential(self) -> TokenCredential:
        """The credential, created on first use (so probe-only runs never build one)."""
        with self._lock:
            if self._credential is None:
                self._credential = self.credential_factory()
            return self._credential

    def retry_policy(self) -> ReadRetryPolicy:
        return ReadRetryPolicy(
            retry_total=self.retries,
            retry_connect=self.retries,
            retry_read=self.retries,
            retry_status=self.retries,
            retry_backoff_factor=self.backoff_factor,
            retry_backoff_max=self.backoff_max_seconds,
            timeout=self.total_timeout_seconds,
        )

    def pipeline_kwargs(self) -> dict[str, Any]:
        return {
            "retry_policy": self.retry_policy(),
            "connection_timeout": min(10.0, self.timeout_seconds),
            "read_timeout": self.timeout_seconds,
            **self.client_kwargs,
        }

    def metrics_client(self, region: str) -> Any:
        from azure.monitor.querymetrics import MetricsClient

        return MetricsClient(
            self.cloud.metrics_endpoint_for(region),
            self.credential,
            audience=self.cloud.metrics_audience,
            **self.pipeline_kwargs(),
        )

    def logs_client(self) -> Any:
        from azure.monitor.query import LogsQueryClient

        return LogsQueryClient(
            self.credential,
            endpoint=self.cloud.logs_endpoint,
            audience=self.cloud.logs_audience,
            **self.pipeline_kwargs(),
        )

    def arm_client(self, subscription_id: str) -> Any:
        from azure.mgmt.resource.resources import ResourceManagementClient

        return ResourceManagementClient(
            self.credential,
            subscription_id,
            base_url=self.cloud.arm_endpoint,
            credential_scopes=[self.cloud.arm_audience.rstrip("/") + "/.default"],
            **self.pipeline_kwargs(),
        )


def describe_error(error: BaseException) -> str:
    """A one-line reason for a failed call, without headers, tokens or bodies that may hold them."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        DecodeError,
        HttpResponseError,
        ServiceRequestError,
        ServiceResponseError,
        ServiceResponseTimeoutError,
    )

    if isinstance(error, ClientAuthenticationError):
        return f"authentication failed: {_first_line(error)}"
    if isinstance(error, ServiceResponseTimeoutError):
        return "timed out (the bounded total time for the call ran out)"
    if isinstance(error, DecodeError):
        return f"malformed response: {_first_line(error)}"
    if isinstance(error, HttpResponseError) and error.status_code is not None:
        reason = error.reason or ""
        code = getattr(getattr(error, "error", None), "code", None)
        detail = f" ({code})" if code else ""
        return f"HTTP {error.status_code} {reason}{detail}".strip()
    if isinstance(error, ServiceResponseError):
        return f"no usable response: {_first_line(error)}"
    if isinstance(error, ServiceRequestError):
        return f"request failed: {_first_line(error)}"
    if isinstance(error, (ValueError, KeyError, TypeError)):
        return f"malformed response: {type(error).__name__}: {_first_line(error)}"
    return f"{type(error).__name__}: {_first_line(error)}"


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    line = text[0] if text else type(error).__name__
    return line[:300]
