"""Values that reach Artillery's config: refused when Artillery would run them as a template.

Artillery evaluates `{{ ... }}` in every string of its config and scenarios, with the
variables `$processEnvironment` and `$env` (the process environment) among them (artillery
2.0.34, dist/lib/commons/engine_util.js `template`/`renderVariables`; no escape syntax exists).
A health path or URL holding `{{ $processEnvironment.X }}` would send `X` to the target. So
every value that comes from outside (stack outputs, the endpoints file, paths, the stack name)
is checked here before the config is written, and a final walk over the built config refuses
any template but the ones the load test writes itself.

The URL and path checks also refuse what Artillery would read differently from the user: a
health path given as an absolute URL (it would aim requests at another host), whitespace or
control characters (a newline would split a request line), and characters RFC 3986 does not
allow in a path or query.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048
# RFC 3986 `path-abempty` and `query` characters: unreserved, pct-encoded, sub-delims, ":", "@", "/", "?".
PATH_CHARACTERS = re.compile(r"^/[A-Za-z0-9\-._~%!$&'()*+,;=:@/?]*$")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
TEMPLATE_MARKS = ("{{", "}}")


class LoadTestValueError(ValueError):
    """The load test cannot be configured as asked; the message names the key, file or value."""


def _has_control(value: str) -> bool:
    return any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in value)


def refuse_templates(value: str, where: str) -> str:
    """`value` unchanged, or an error naming `where` when it holds `{{` or `}}`."""
    for mark in TEMPLATE_MARKS:
        if mark in value:
            raise LoadTestValueError(
                f"{where} holds {mark!r} at character {value.index(mark) + 1}: Artillery evaluates "
                "'{{ ... }}' as a template (it can read the environment), so the load test refuses it"
            )
    return value


def check_target_url(url: str, where: str) -> str:
    """An http(s) URL with a host, no user name or password, whitespace, control characters or braces."""
    if len(url) > MAX_URL_LENGTH:
        raise LoadTestValueError(f"{where} is {len(url)} characters long, more than {MAX_URL_LENGTH}")
    refuse_templates(url, where)
    if _has_control(url) or any(c.isspace() for c in url):
        raise LoadTestValueError(f"{where} holds whitespace or a control character (e.g. a newline): not a URL")
    if "{" in url or "}" in url:
        raise LoadTestValueError(f"{where} holds '{{' or '}}', which a URL cannot hold unencoded")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a port out of range
    except ValueError as error:
        raise LoadTestValueError(f"{where} is not a valid URL: {error}") from None
    if parts.scheme not in ("http", "https") or not host:
        raise LoadTestValueError(f"{where} is not an http(s) URL with a host (e.g. https://api.example.com)")
    if parts.username is not None or parts.password is not None:
        # The URL is written to the Artillery config, the Locust file (uploaded to Azure Load
        # Testing) and every report: a user name or password in it would travel with them.
        raise LoadTestValueError(f"{where} holds a user name or password (user:password@host): give the URL without it")
    return url


def check_health_path(path: str, where: str) -> str:
    """A path on the target, such as /health: not an absolute URL, one line, RFC 3986 characters."""
    if len(path) > MAX_URL_LENGTH:
        raise LoadTestValueError(f"{where} is {len(path)} characters long, more than {MAX_URL_LENGTH}")
    refuse_templates(path, where)
    if _has_control(path) or any(c.isspace() for c in path):
        raise LoadTestValueError(f"{where} holds whitespace or a control character (e.g. a newline): not a path")
    if SCHEME.match(path) or path.startswith("//"):
        raise LoadTestValueError(
            f"{where} is an absolute URL, not a path on the API: give a path such as /health "
            "(the host comes from services.backend.url)"
        )
    if not PATH_CHARACTERS.match(path):
        raise LoadTestValueError(
            f"{where} must be a path starting with '/' made of URL path characters (RFC 3986), such as /health"
        )
    return path


def refuse_templates_in_config(data: Any, allowed: set[str], where: str = "config") -> None:
    """Walk the built config: any key or string holding template syntax, other than `allowed`, is refused."""
    if isinstance(data, dict):
        for key, value in data.items():
            refuse_templates(str(key), f"the Artillery config key at {where}")
            refuse_templates_in_config(value, allowed, f"{where}.{key}")
    elif isinstance(data, list):
        for index, value in enumerate(data):
            refuse_templates_in_config(value, allowed, f"{where}[{index}]")
    elif isinstance(data, str) and data not in allowed:
        refuse_templates(data, f"the Artillery config value at {where}")


def comment_text(value: Any, limit: int = 200) -> str:
    """`value` as one line of text for a YAML comment: control characters escaped, cut at `limit`."""
    text = "" if value is None else str(value)
    cleaned = "".join(
        c if unicodedata.category(c) not in ("Cc", "Cf", "Zl", "Zp") else c.encode("unicode_escape").decode("ascii")
        for c in text
    )
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"
