"""Which Azure credential the checks (and anything else long-running) sign in with.

On a GitHub Actions runner whose job may request an OpenID Connect token (`permissions:
id-token: write`), with `AZURE_CLIENT_ID` and `AZURE_TENANT_ID` set, the credential is
azure-identity's `ClientAssertionCredential` whose assertion callback asks the runner for a
fresh GitHub ID token (audience `api://AzureADTokenExchange`) every time Entra ID must issue a
new access token. Elsewhere it is `DefaultAzureCredential`.

Why: `azure/login` signs the Azure CLI in once with a short-lived GitHub ID token, and the CLI
cannot refresh a federated assertion (Azure/azure-cli#28708). The checks ask for their metrics,
logs and Resource Manager tokens only after `pulumi up` and the bake, by which time that
assertion has expired. A callback that fetches a new ID token per request has no such limit.

The runner's endpoint (actions/toolkit `packages/core/src/oidc-utils.ts`): `GET
$ACTIONS_ID_TOKEN_REQUEST_URL&audience=<audience>` with `Authorization: Bearer
$ACTIONS_ID_TOKEN_REQUEST_TOKEN`, answering `{"value": "<JWT>"}`. The audience Entra ID expects
for a federated identity credential is `api://AzureADTokenExchange` (Microsoft Learn,
"Configure an app to trust an external identity provider"). Neither token is ever printed:
errors name the endpoint's host and the HTTP status only.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import httpx
from azure.core.credentials import TokenCredential

ID_TOKEN_AUDIENCE = "api://AzureADTokenExchange"
GITHUB_VARIABLES = ("ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN")
AZURE_VARIABLES = ("AZURE_CLIENT_ID", "AZURE_TENANT_ID")


class IdTokenError(RuntimeError):
    """The runner's ID-token endpoint gave no usable token: nothing can sign in to Azure."""


@dataclass(frozen=True)
class GitHubIdToken:
    """The assertion callback: a fresh GitHub ID token from the runner's endpoint on each call."""

    request_url: str
    request_token: str
    audience: str = ID_TOKEN_AUDIENCE
    timeout_seconds: float = 15.0

    def __repr__(self) -> str:  # the dataclass default would show the request token
        return f"GitHubIdToken(host={self.host!r}, audience={self.audience!r})"

    @property
    def host(self) -> str:
        return urlsplit(self.request_url).netloc or "(no host)"

    def __call__(self) -> str:
        separator = "&" if "?" in self.request_url else "?"
        try:
            response = httpx.get(
                self.request_url + separator + urlencode({"audience": self.audience}),
                headers={"Authorization": f"Bearer {self.request_token}", "Accept": "application/json"},
                timeout=self.timeout_seconds,
            )
        except httpx.HTTPError as error:
            raise IdTokenError(
                f"the GitHub Actions ID-token endpoint ({self.host}) did not answer: {type(error).__name__}"
            ) from None
        if response.status_code != 200:
            raise IdTokenError(
                f"the GitHub Actions ID-token endpoint ({self.host}) answered HTTP {response.status_code}; "
                "does the job have `permissions: id-token: write`?"
            )
        try:
            value = response.json().get("value")
        except (ValueError, AttributeError):
            value = None
        if not isinstance(value, str) or not value:
            raise IdTokenError(f"the GitHub Actions ID-token endpoint ({self.host}) answered without a token")
        return value


@dataclass(frozen=True)
class SelectedCredential:
    """A credential with the name of its kind (for logs) and a preflight for CI."""

    kind: str  # "github-oidc" or "default"
    build: Callable[[], TokenCredential]
    assertion: GitHubIdToken | None = None

    def preflight(self) -> None:
        """On GitHub Actions, ask the runner for one ID token now, so a job without `id-token:
        write` stops before the bake rather than after it. Raises `IdTokenError`."""
        if self.assertion is not None:
            self.assertion()


def on_github_actions(environ: Mapping[str, str]) -> bool:
    return all(environ.get(name) for name in (*GITHUB_VARIABLES, *AZURE_VARIABLES))


def select_credential(
    authority_host: str, environ: Mapping[str, str] | None = None, **kwargs: object
) -> SelectedCredential:
    """GitHub's OIDC assertion on Actions (see the module docstring), DefaultAzureCredential elsewhere.

    `kwargs` go to the credential (e.g. `connection_verify` for a test server's certificate).
    """
    environ = os.environ if environ is None else environ
    if on_github_actions(environ):
        assertion = GitHubIdToken(environ["ACTIONS_ID_TOKEN_REQUEST_URL"], environ["ACTIONS_ID_TOKEN_REQUEST_TOKEN"])
        tenant_id, client_id = environ["AZURE_TENANT_ID"], environ["AZURE_CLIENT_ID"]

        def build_assertion_credential() -> TokenCredential:
            from azure.identity import ClientAssertionCredential

            return ClientAssertionCredential(tenant_id, client_id, assertion, authority=authority_host, **kwargs)

        return SelectedCredential("github-oidc", build_assertion_credential, assertion)

    def build_default() -> TokenCredential:
        from azure.identity import DefaultAzureCredential

        return DefaultAzureCredential(authority=authority_host, **kwargs)

    return SelectedCredential("default", build_default)
