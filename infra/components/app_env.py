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


def service_env(
    service: ServiceSettings,
    secret_values: dict[str, SecretStr],
    key_vault_urls: dict[str, pulumi.Input[str]] | None = None,
) -> list[AppEnvVar]:
    """A service's own variables from settings: plain `env`, and `secrets` from secret config.

    With `key_vault_urls` (config key -> Key Vault secret URI) a secret carries only the
    reference; the value lives in the vault.
    """
    variables = [AppEnvVar(name, value) for name, value in sorted(service.env.items())]
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
