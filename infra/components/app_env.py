"""Environment variables for the service containers, plain or secret, on either platform.

Components that give the apps something to connect to (the cache, Application Insights) hand
the compute components `AppEnvVar`s; compute turns secret ones into Container Apps secrets
with `secretRef`, or container-group `secureValue`s. A secret never becomes a plain value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi
from pydantic import SecretStr

from infra.settings.model import ServiceSettings


@dataclass(frozen=True)
class AppEnvVar:
    name: str
    value: pulumi.Input[str]
    secret: bool = False
    # Container Apps secret name for a secret variable (lowercase, digits, '-').
    secret_name: str | None = None
    # With a Key Vault: the secret's versionless URI; the app reads it with its identity.
    key_vault_url: pulumi.Input[str] | None = None

    def container_apps_secret_name(self) -> str:
        return self.secret_name or kebab(self.name)


def kebab(name: str) -> str:
    """supabaseUrl / SUPABASE_URL -> supabase-url (Container Apps secret names)."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", name)
    return re.sub(r"[^a-z0-9]+", "-", spaced.lower()).strip("-")


ROLE_NAME_VARIABLE = "OTEL_SERVICE_NAME"


def role_env(service: ServiceSettings) -> AppEnvVar:
    """The app's role name in Application Insights, as OpenTelemetry's `service.name`.

    The Azure Monitor OpenTelemetry distro (which applicationinsights 3.x runs on) reads it
    with OpenTelemetry's env detector (Azure/azure-sdk-for-js,
    sdk/monitor/monitor-opentelemetry/src/shared/config.ts, `_setDefaultResource`;
    open-telemetry/opentelemetry-js, packages/opentelemetry-resources/src/detectors/EnvDetector.ts)
    and the exporter writes it to cloud_RoleName (sdk/monitor/monitor-opentelemetry-exporter/
    src/utils/common.ts, `getCloudRole`). The alerts and checks filter on it: docs/telemetry.md.
    """
    return AppEnvVar(ROLE_NAME_VARIABLE, service.role_name)


def service_env(
    service: ServiceSettings,
    secret_values: dict[str, SecretStr],
    key_vault_urls: dict[str, pulumi.Input[str]] | None = None,
) -> list[AppEnvVar]:
    """A service's own variables from settings: its role name, plain `env`, and `secrets`.

    With `key_vault_urls` (config key -> Key Vault secret URI) a secret carries only the
    reference; the value lives in the vault.
    """
    variables = [role_env(service)] + [AppEnvVar(name, value) for name, value in sorted(service.env.items())]
    for env_name, config_key in sorted(service.secrets.items()):
        if key_vault_urls is not None:
            variables.append(
                AppEnvVar(
                    env_name, "", secret=True, secret_name=kebab(config_key), key_vault_url=key_vault_urls[config_key]
                )
            )
            continue
        variables.append(
            AppEnvVar(
                env_name,
                pulumi.Output.secret(secret_values[config_key].get_secret_value()),
                secret=True,
                secret_name=kebab(config_key),
            )
        )
    return variables
