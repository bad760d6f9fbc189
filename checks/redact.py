"""Strip credentials from URLs, DSNs and any text that may quote them, before a message is made.

Everything a person or a report sees (errors, progress lines, report fields) passes through
here when it may hold a URL or a connection string: the endpoints file's URLs, a PostgreSQL DSN
from the environment, a driver's error text. Parsing is deliberately lenient, because the inputs
that leak are the malformed ones: a password with an unencoded `@` (`postgresql://u:p@ss@host`),
a malformed percent escape (`p%zz`), or a `/` inside the password. Everything between `://` and
the last `@` of the token is treated as credentials, so a malformed URL loses too much rather
than too little.

- `redact_url(url)`: the URL with its user and password replaced by `***`, and credential-looking
  query parameters (`password=`, `token=`, `sig=`, ...) emptied.
- `redact_text(text, secrets)`: the same for every URL and `key=value` password in free text,
  plus every known secret string (and its percent-encoded and decoded forms) replaced.
- `credential_problem(url)`: why a URL's credentials are malformed (unencoded `@`, bad `%`), without
  quoting them, so callers can refuse it before a driver quotes it back.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

MASK = "***"
# scheme://rest-of-token (a token ends at whitespace or a quote)
_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<rest>[^\s\"'<>`]*)")
_SECRET_PARAM = re.compile(
    r"(?i)(?P<name>[?&;]?(?:[a-z0-9_-]{0,40}(?:password|passwd|pwd|secret|token|apikey|api_key|access_key|sig|signature|"
    r"credential|auth|code|key))=)(?P<value>[^&#\s\"']*)"
)
# key=value connection strings: password=..., Password='...', sslpassword=...
_KV_PASSWORD = re.compile(
    r"(?i)(?P<name>\b[a-z0-9_]{0,40}(?:password|passwd|pwd|secret|token|accountkey|sharedaccesskey)\s*=\s*)"
    r"(?P<value>'(?:[^'\\]|\\.)*'|\"[^\"]*\"|[^\s;&]+)"
)
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _split(rest: str) -> tuple[str | None, str]:
    """(credentials, remainder) of the part after `scheme://`; the last `@` ends the credentials."""
    at = rest.rfind("@")
    if at < 0:
        return None, rest
    return rest[:at], rest[at + 1 :]


def redact_url(url: str) -> str:
    """`url` with credentials removed; text that is not a URL is returned with passwords masked."""
    return redact_text(url)


def _redact_match(match: re.Match[str]) -> str:
    credentials, remainder = _split(match.group("rest"))
    prefix = match.group("scheme") + (f"{MASK}@" if credentials is not None else "")
    return prefix + _SECRET_PARAM.sub(lambda m: m.group("name") + MASK, remainder)


def _forms(secret: str) -> set[str]:
    forms = {secret, unquote(secret), quote(secret, safe=""), quote(secret, safe="@:/")}
    return {form for form in forms if len(form) >= 4}


def redact_text(text: str, secrets: tuple[str, ...] | list[str] = ()) -> str:
    """`text` with URL credentials, `password=` values and every known secret masked."""
    for secret in sorted({form for s in secrets if s for form in _forms(s)}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _URL.sub(_redact_match, text)
    return _KV_PASSWORD.sub(lambda m: m.group("name") + MASK, text)


def url_secrets(url: str) -> list[str]:
    """Strings in `url` that are credentials (user:password, password, and their raw/decoded forms)."""
    found: list[str] = []
    for match in _URL.finditer(url):
        credentials, _ = _split(match.group("rest"))
        if credentials:
            found.append(credentials)
            _user, _, password = credentials.partition(":")
            if password:
                found += [password, unquote(password)]
    for match in _KV_PASSWORD.finditer(url):
        found.append(match.group("value").strip("'\""))
    return found


def credential_problem(url: str) -> str | None:
    """Why the credentials in `url` are malformed, naming the fault but never quoting them."""
    match = _URL.search(url)
    if match is None:
        return None
    credentials, remainder = _split(match.group("rest"))
    if credentials is None:
        return None
    if "@" in credentials:
        return "its user or password holds an unencoded '@': percent-encode it as %40"
    if _BAD_ESCAPE.search(credentials):
        return "its user or password holds a '%' that is not a valid percent escape: write it as %25"
    host = remainder.split("/", 1)[0]
    if "/" in credentials or "?" in credentials or "#" in credentials or not host:
        return "its user or password holds an unencoded '/', '?' or '#': percent-encode it"
    return None
