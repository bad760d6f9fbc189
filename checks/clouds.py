"""Azure clouds: where the checks send each request and which token audience it needs.

The public cloud, Azure Government and Azure China (21Vianet) differ in every host name and in
the audiences tokens are requested for; a wrong audience fails with 401 even when the host is
right. Each value can be overridden from the command line (e.g. a private endpoint, or a test
server on 127.0.0.1). The metrics endpoint is a template: `{region}` becomes the resource's
region (`westeurope`), since the batch metrics API is regional.

Sources: the Azure SDKs' audience constants (azure-sdk-for-js `KnownMonitorAudience`,
`KnownMonitorLogsQueryAudience`; azure-sdk-for-net `MetricsClientAudience`), azure-identity's
`AzureAuthorityHosts`. The Redis Entra scope outside the public cloud is not documented where
we could read it (`redis.azure.us` is used by third-party tools; `redis.azure.cn` is by
analogy): override it in the endpoints file (`redis.entraScope`) if your cloud differs.
Portals: the `portal` endpoints of the Azure CLI's cloud definitions
(Azure/azure-cli `src/azure-cli-core/azure/cli/core/cloud.py`). A region names its
cloud (`usgov*`, `china*`): `cloud_for_location`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class CloudProfile(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    authority_host: str
    arm_endpoint: str
    arm_audience: str
    metrics_endpoint: str  # template with {region}
    metrics_audience: str
    logs_endpoint: str
    logs_audience: str
    redis_scope: str
    portal: str  # the Azure portal, for links to resources (the workbook)

    def metrics_endpoint_for(self, region: str) -> str:
        return self.metrics_endpoint.replace("{region}", region.lower().replace(" ", ""))

    def with_overrides(self, **overrides: str | None) -> CloudProfile:
        given = {key: value for key, value in overrides.items() if value}
        unknown = set(given) - set(type(self).model_fields)
        if unknown:
            raise ValueError(f"unknown cloud setting(s): {sorted(unknown)}")
        return self.model_copy(update=given)


CLOUDS: dict[str, CloudProfile] = {
    "public": CloudProfile(
        name="public",
        authority_host="login.microsoftonline.com",
        arm_endpoint="https://management.azure.com",
        arm_audience="https://management.azure.com",
        metrics_endpoint="https://{region}.metrics.monitor.azure.com",
        metrics_audience="https://metrics.monitor.azure.com",
        logs_endpoint="https://api.loganalytics.io",
        logs_audience="https://api.loganalytics.io",
        redis_scope="https://redis.azure.com/.default",
        portal="https://portal.azure.com",
    ),
    "usgov": CloudProfile(
        name="usgov",
        authority_host="login.microsoftonline.us",
        arm_endpoint="https://management.usgovcloudapi.net",
        arm_audience="https://management.usgovcloudapi.net",
        metrics_endpoint="https://{region}.metrics.monitor.azure.us",
        metrics_audience="https://metrics.monitor.azure.us",
        logs_endpoint="https://api.loganalytics.us",
        logs_audience="https://api.loganalytics.us",
        redis_scope="https://redis.azure.us/.default",
        portal="https://portal.azure.us",
    ),
    "china": CloudProfile(
        name="china",
        authority_host="login.chinacloudapi.cn",
        arm_endpoint="https://management.chinacloudapi.cn",
        arm_audience="https://management.chinacloudapi.cn",
        metrics_endpoint="https://{region}.metrics.monitor.azure.cn",
        metrics_audience="https://metrics.monitor.azure.cn",
        logs_endpoint="https://api.loganalytics.azure.cn",
        logs_audience="https://api.loganalytics.azure.cn",
        redis_scope="https://redis.azure.cn/.default",
        portal="https://portal.azure.cn",
    ),
}


def cloud_profile(name: str, **overrides: str | None) -> CloudProfile:
    if name not in CLOUDS:
        raise ValueError(f"unknown cloud {name!r}; known: {sorted(CLOUDS)}")
    return CLOUDS[name].with_overrides(**overrides)


def cloud_for_location(location: str) -> CloudProfile:
    """The cloud an Azure region belongs to: `usgov*` Azure Government, `china*` Azure China."""
    name = location.lower().replace(" ", "")
    if name.startswith("usgov") or name.startswith("usdod"):
        return CLOUDS["usgov"]
    if name.startswith("china"):
        return CLOUDS["china"]
    return CLOUDS["public"]
