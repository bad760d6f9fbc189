"""The endpoints file: where the direct probes connect, and how hard they may push.

Stack outputs already name the services' URLs and the cache's host; this file adds what they
cannot hold (the external database, secrets by environment-variable name, a local stand-in for
a service) and the probes' bounds. Every key is optional; credentials are never written here,
only the names of the environment variables that hold them. YAML or JSON, keys camelCase:

```yaml
services:
  backend:
    url: http://127.0.0.1:8080      # overrides the stack output `services.backend.url`
    paths: [/api/v1/ping]           # probed in addition to the table's paths (the health path)
  web:
    url: http://127.0.0.1:3000
    paths: [/]                      # pages to load (default: the table's, `/`)
redis:
  host: 127.0.0.1                   # default: stack output cache.hostName
  port: 6379                        # default: cache.port
  tls: false                        # default: cache.tls
  auth: password                    # none | password | entra (default: from cache.auth)
  username: default                 # optional; Entra: the principal's object id (read from the token)
  passwordEnv: FIN_REDIS_PASSWORD   # the environment variable holding the password or access key
  entraScope: https://redis.azure.com/.default   # default: the cloud's
database:
  dsnEnv: FIN_DATABASE_DSN          # environment variable holding the PostgreSQL/Supabase DSN
probes:
  http: {requests: 20, ratePerSecond: 5, timeoutSeconds: 10}
  pageLoad: {loads: 3, timeoutSeconds: 30}
  counterSampleSeconds: 15          # Redis/PostgreSQL counters are also sampled this often (chart)
```
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from checks.inputfiles import InputFileError, read_json_bytes, read_limited
from checks.redact import redact_url
from checks.strict_yaml import YamlInputError, excerpt, join_path, read_yaml

ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class EndpointsError(ValueError):
    """The endpoints file is unreadable or invalid; the message names the key."""


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True, allow_inf_nan=False, strict=True
    )


class ServiceEndpoint(_Model):
    url: str | None = None
    paths: list[str] = Field(default_factory=list)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"must start with http:// or https://, got {excerpt(redact_url(value))!r}")
        if "@" in value.split("://", 1)[1].split("/", 1)[0] or "@" in value.split("://", 1)[1].split("?", 1)[0]:
            raise ValueError(
                "must not hold a user or password: credentials are never written in the endpoints file "
                "(value not shown)"
            )
        try:
            if not urlsplit(value).hostname:
                raise ValueError("has no host name")
        except ValueError as error:
            raise ValueError(f"is not a valid URL ({error})") from None
        return value.rstrip("/")

    @field_validator("paths")
    @classmethod
    def _absolute_paths(cls, value: list[str]) -> list[str]:
        for path in value:
            if not path.startswith("/"):
                raise ValueError(f"paths must start with '/', got {excerpt(path)!r}")
        return value


class RedisEndpoint(_Model):
    host: str | None = None
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    tls: bool | None = None
    auth: Literal["none", "password", "entra"] | None = None
    username: str | None = None
    password_env: Annotated[str, Field(pattern=ENV_NAME)] | None = None
    entra_scope: str | None = None


class DatabaseEndpoint(_Model):
    dsn_env: Annotated[str, Field(pattern=ENV_NAME)]

    def dsn(self) -> str | None:
        value = os.environ.get(self.dsn_env, "").strip()
        return value or None


class HttpProbeSettings(_Model):
    requests: Annotated[int, Field(ge=1, le=10_000)] = 20
    rate_per_second: Annotated[float, Field(gt=0, le=1000)] = 5.0
    timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 10.0


class PageLoadSettings(_Model):
    loads: Annotated[int, Field(ge=1, le=100)] = 3
    timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 30.0


class ProbeSettings(_Model):
    http: HttpProbeSettings = Field(default_factory=HttpProbeSettings)
    page_load: PageLoadSettings = Field(default_factory=PageLoadSettings)
    counter_sample_seconds: Annotated[float, Field(gt=0, le=3600)] = 15.0


class Endpoints(_Model):
    services: dict[Literal["backend", "web"], ServiceEndpoint] = Field(default_factory=dict)
    redis: RedisEndpoint | None = None
    database: DatabaseEndpoint | None = None
    probes: ProbeSettings = Field(default_factory=ProbeSettings)

    def service(self, name: str) -> ServiceEndpoint:
        return self.services.get(name) or ServiceEndpoint()  # type: ignore[call-overload]


def parse_endpoints(data: object, source: str = "endpoints file", lines_of: dict[str, int] | None = None) -> Endpoints:
    if data is None:
        return Endpoints()
    if not isinstance(data, dict):
        raise EndpointsError(f"{source}: expected a mapping at the top level")
    try:
        return Endpoints.model_validate(data)
    except ValidationError as error:
        lines = [
            f"  - {source}{_line(lines_of, e['loc'])}: {join_path(tuple(e['loc']))}: {excerpt(e['msg'], 200)}"
            for e in error.errors()[:20]
        ]
        raise EndpointsError("the endpoints file is invalid:\n" + "\n".join(lines)) from None


def _line(lines_of: dict[str, int] | None, loc: tuple) -> str:
    path = list(loc)
    while path and lines_of:
        line = lines_of.get(join_path(tuple(path)))
        if line:
            return f":{line}"
        path.pop()
    return ""


def read_endpoints(path: Path) -> Endpoints:
    """Read and validate the endpoints file (YAML, or JSON when it ends in .json), within bounds."""
    try:
        data = read_limited(Path(path), "endpoints file")
        if str(path).endswith(".json"):
            return parse_endpoints(read_json_bytes(data, str(path)), str(path))
        document = read_yaml(data, str(path))
    except (InputFileError, YamlInputError) as error:
        raise EndpointsError(f"endpoints file {error}") from None
    return parse_endpoints(document.value, str(path), document.lines)
