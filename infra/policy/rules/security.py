"""Security: TLS-only private caches with Entra ID, HTTPS-only apps with managed identities,
secrets never as plain environment values, Application Insights without local auth.

Anchors: PSRule for Azure (Azure.Redis.MinTLS/NonSslPort/PublicNetworkAccess/EntraID/LocalAuth,
Azure.RedisEnterprise.MinTLS, Azure.ContainerApp.Insecure/ManagedIdentity,
Azure.AppInsights.LocalAuth), Checkov CKV_AZURE_89/91/148/235, CKV2_AZURE_28. Managed Redis
database settings (`clientProtocol`, `accessKeysAuthentication`) have no rule in those tools.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from infra.components.monitoring import BROWSER_TELEMETRY, TELEMETRY_PURPOSE_TAG
from infra.policy.model import (
    NotApplicable,
    Rule,
    Severity,
    StackContext,
    Subject,
    Undecidable,
    Unknown,
    entries,
    field_of,
    lookup,
    shown,
)
from infra.policy.rules.types import (
    APP_INSIGHTS,
    CLASSIC_REDIS,
    CONTAINER_APP,
    CONTAINER_GROUP,
    KEY_VAULT_SECRET,
    MANAGED_REDIS,
    MANAGED_REDIS_DATABASE,
)
from infra.settings.rules.general import looks_like_credential

ACCEPTED_TLS = ("1.2", "1.3")
MANAGED_IDENTITY_TYPES = {
    "SystemAssigned",
    "UserAssigned",
    "SystemAssigned,UserAssigned",
    "SystemAssigned, UserAssigned",
}
# A plain value this long that equals a secret's value is that secret, leaked.
MIN_COMPARED_SECRET_LENGTH = 8


def _cache_min_tls(resource: Subject, context: StackContext) -> Iterator[str]:
    version = lookup(resource.props, "minimumTlsVersion")
    if version not in ACCEPTED_TLS:
        yield f"minimumTlsVersion is {shown(version)}; it must be stated as 1.2 (or later)"


def _cache_tls_only(resource: Subject, context: StackContext) -> Iterator[str]:
    if resource.kind == CLASSIC_REDIS:
        if lookup(resource.props, "enableNonSslPort") is True:
            yield "enableNonSslPort is true: the cache also listens without TLS on port 6379"
    elif lookup(resource.props, "clientProtocol") == "Plaintext":
        yield "clientProtocol is 'Plaintext': the database accepts connections without TLS"


def _cache_private(resource: Subject, context: StackContext) -> Iterator[str]:
    access = lookup(resource.props, "publicNetworkAccess")
    if access != "Disabled":
        default = " (Azure's default is Enabled)" if access is None else ""
        yield f"publicNetworkAccess is {shown(access)}{default}; it must be 'Disabled'"


def _truthy(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _cache_entra(resource: Subject, context: StackContext) -> Iterator[str]:
    if resource.kind == MANAGED_REDIS_DATABASE:
        keys = lookup(resource.props, "accessKeysAuthentication")
        if keys != "Disabled":
            yield f"accessKeysAuthentication is {shown(keys)}; it must be stated as 'Disabled'"
        return
    if not _truthy(lookup(resource.props, "redisConfiguration.aadEnabled")):
        shown_value = shown(lookup(resource.props, "redisConfiguration.aadEnabled"))
        yield f"redisConfiguration.aadEnabled is {shown_value}; Entra ID authentication must be on"
    if lookup(resource.props, "disableAccessKeyAuthentication") is not True:
        shown_value = shown(lookup(resource.props, "disableAccessKeyAuthentication"))
        yield f"disableAccessKeyAuthentication is {shown_value}; access keys must be off"


def _https_only(resource: Subject, context: StackContext) -> Iterator[str]:
    ingress = lookup(resource.props, "configuration.ingress")
    if not ingress:
        raise NotApplicable("the app has no ingress")
    if lookup(resource.props, "configuration.ingress.allowInsecure") is True:
        yield "configuration.ingress.allowInsecure is true: HTTP requests are served without redirect to HTTPS"


def _managed_identity(resource: Subject, context: StackContext) -> Iterator[str]:
    identity_type = lookup(resource.props, "identity.type")
    if identity_type not in MANAGED_IDENTITY_TYPES:
        yield f"identity.type is {shown(identity_type)}; a system- or user-assigned managed identity is required"


# Placeholders an offline plan holds for secrets it cannot decrypt: not values.
_PLACEHOLDERS = frozenset({"[secret]", "[secret not set]"})


def _secret_values_of(resource: Subject) -> set[str]:
    """The secret values one resource declares: Key Vault secrets, app secrets, secure env values."""
    values: list[object] = []
    try:
        if resource.kind == KEY_VAULT_SECRET:
            values.append(lookup(resource.props, "properties.value"))
        elif resource.kind == CONTAINER_APP:
            values += [field_of(s, "value", "secrets[]") for s in entries(resource.props, "configuration.secrets")]
        elif resource.kind == CONTAINER_GROUP:
            for container in entries(resource.props, "containers"):
                for variable in field_of(container, "environmentVariables", "containers[]", []):
                    values.append(variable.get("secureValue") if isinstance(variable, dict) else None)
    except Undecidable:
        return set()
    return {v for v in values if isinstance(v, str) and len(v) >= MIN_COMPARED_SECRET_LENGTH and v not in _PLACEHOLDERS}


def stack_secret_values(resources: Iterable[Subject]) -> frozenset[str]:
    """Every secret value the stack declares, for `StackContext.secret_values`."""
    return frozenset(value for resource in resources for value in _secret_values_of(resource))


def _plain_secrets(resource: Subject, context: StackContext) -> Iterator[str]:
    if resource.kind == CONTAINER_APP:
        secret_values = set(context.secret_values) | {
            value
            for secret in entries(resource.props, "configuration.secrets")
            if isinstance(value := field_of(secret, "value", "configuration.secrets[]"), str)
            and len(value) >= MIN_COMPARED_SECRET_LENGTH
        }
        containers = [
            *entries(resource.props, "template.initContainers"),
            *entries(resource.props, "template.containers"),
        ]
        yield from _env_findings(containers, "env", "secretRef", secret_values)
    else:
        containers = entries(resource.props, "containers")
        secure_values = set(context.secret_values) | {
            value
            for index, container in enumerate(containers)
            for variable in field_of(container, "environmentVariables", f"containers[{index}]", [])
            if isinstance(variable, dict)
            and isinstance(value := variable.get("secureValue"), str)
            and len(value) >= MIN_COMPARED_SECRET_LENGTH
        }
        yield from _env_findings(containers, "environmentVariables", "secureValue", secure_values)


def _env_findings(containers: list, env_key: str, secret_form: str, secret_values: set[str]) -> Iterator[str]:
    for index, container in enumerate(containers):
        container_name = field_of(container, "name", f"containers[{index}]") or f"#{index}"
        for variable in field_of(container, env_key, f"containers[{index}]", []):
            if not isinstance(variable, dict) or "value" not in variable or variable.get("value") is None:
                continue
            name, value = variable.get("name", "?"), variable["value"]
            if looks_like_credential(str(name)):
                yield (
                    f"container '{container_name}': {name} looks like a credential but is a plain value; "
                    f"pass it as {secret_form}"
                )
            elif not isinstance(value, Unknown) and value in secret_values:
                yield (
                    f"container '{container_name}': {name} holds the value of a secret as plain text; "
                    f"pass it as {secret_form}"
                )


def _app_insights_local_auth(resource: Subject, context: StackContext) -> Iterator[str]:
    tags = lookup(resource.props, "tags")
    if isinstance(tags, dict) and tags.get(TELEMETRY_PURPOSE_TAG) == BROWSER_TELEMETRY:
        raise NotApplicable(
            "browser telemetry component: the Application Insights JavaScript SDK cannot use Entra ID, and "
            "its connection string is public by nature; server telemetry goes to the Entra-only component"
        )
    if lookup(resource.props, "disableLocalAuth") is not True:
        yield (
            f"disableLocalAuth is {shown(lookup(resource.props, 'disableLocalAuth'))}; instrumentation keys "
            "alone must not be enough to send telemetry"
        )


RULES: tuple[Rule, ...] = (
    Rule(
        id="cache-min-tls",
        pillar="security",
        severity=Severity.CRITICAL,
        title="Caches require TLS 1.2 or later",
        remediation='Keep redis.minimumTlsVersion at "1.2"; the program states it on the cache.',
        check=_cache_min_tls,
        types=frozenset({MANAGED_REDIS, CLASSIC_REDIS}),
        scope="Managed Redis cluster and Azure Cache for Redis: `minimumTlsVersion` is stated and ≥ 1.2",
    ),
    Rule(
        id="cache-tls-only",
        pillar="security",
        severity=Severity.CRITICAL,
        title="Caches accept TLS connections only",
        remediation=(
            "Keep the non-TLS port off (`enableNonSslPort: false`) and the Managed Redis database's "
            "`clientProtocol` Encrypted; clients connect with TLS (port 10000, or 6380 on Azure Cache for Redis)."
        ),
        check=_cache_tls_only,
        types=frozenset({CLASSIC_REDIS, MANAGED_REDIS_DATABASE}),
        scope=(
            "Azure Cache for Redis `enableNonSslPort` not true; Managed Redis database `clientProtocol` not Plaintext"
        ),
    ),
    Rule(
        id="cache-private-network",
        pillar="security",
        severity=Severity.HIGH,
        title="Caches are not reachable from the public internet",
        remediation=(
            "Set redis.publicNetworkAccess: false and let the apps reach the cache through a private endpoint "
            "in their virtual network."
        ),
        check=_cache_private,
        types=frozenset({MANAGED_REDIS, CLASSIC_REDIS}),
        scope="`publicNetworkAccess` is Disabled",
    ),
    Rule(
        id="cache-entra-auth",
        pillar="security",
        severity=Severity.HIGH,
        title="Caches authenticate with Entra ID, not access keys",
        remediation=(
            "Keep redis.accessKeysAuthentication: false; the apps authenticate with their managed identity "
            "(Entra ID data access policy on the cache)."
        ),
        check=_cache_entra,
        types=frozenset({MANAGED_REDIS_DATABASE, CLASSIC_REDIS}),
        scope=(
            "Managed Redis database `accessKeysAuthentication` Disabled; Azure Cache for Redis "
            "`redisConfiguration.aadEnabled` true and `disableAccessKeyAuthentication` true"
        ),
    ),
    Rule(
        id="app-https-only",
        pillar="security",
        severity=Severity.HIGH,
        title="Container apps serve HTTPS only",
        remediation="Keep `configuration.ingress.allowInsecure` false (the program always sends false).",
        check=_https_only,
        types=frozenset({CONTAINER_APP}),
        scope="Container app with ingress: `configuration.ingress.allowInsecure` not true",
    ),
    Rule(
        id="managed-identity",
        pillar="security",
        severity=Severity.HIGH,
        title="Compute runs as a managed identity",
        remediation=(
            "Give the app or container group a user-assigned (or system-assigned) identity; the program "
            "creates one identity per service."
        ),
        check=_managed_identity,
        types=frozenset({CONTAINER_APP, CONTAINER_GROUP}),
        scope="Container app and container group: `identity.type` SystemAssigned and/or UserAssigned",
    ),
    Rule(
        id="no-plain-secrets",
        pillar="security",
        severity=Severity.CRITICAL,
        title="Secrets never reach a container as a plain environment value",
        remediation=(
            "List credentials under services.<name>.secrets (stored with `pulumi config set --secret`); the "
            "program passes them as Container Apps secrets (`secretRef`) or container-group `secureValue`s."
        ),
        check=_plain_secrets,
        types=frozenset({CONTAINER_APP, CONTAINER_GROUP}),
        scope=(
            "Environment variables with a plain `value`: the name must not look like a credential and the "
            "value must not equal a secret of the same resource"
        ),
    ),
    Rule(
        id="appinsights-local-auth-off",
        pillar="security",
        severity=Severity.HIGH,
        title="Application Insights accepts only Entra ID-authenticated telemetry",
        remediation=(
            "Keep `disableLocalAuth: true`; the apps send telemetry with their managed identity "
            "(Monitoring Metrics Publisher role)."
        ),
        check=_app_insights_local_auth,
        types=frozenset({APP_INSIGHTS}),
        scope=(
            "Application Insights component: `disableLocalAuth` true (the browser-telemetry component, tagged "
            "`fin-agent-telemetry: browser`, is not applicable: the JavaScript SDK cannot use Entra ID)"
        ),
    ),
)
