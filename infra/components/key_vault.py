"""A Key Vault holding the app secrets from Pulumi config, read by the apps through references.

RBAC authorization (no access policies), soft delete with the configured retention, purge
protection in prod (or as configured; Azure never lets it be turned off again). Each secret the
services reference is stored once under its kebab-case name; each service's identity gets
*Key Vault Secrets User* on the vault before the apps start, and the apps' Container Apps
secrets become Key Vault references (versionless URIs, so a rotated secret is picked up by
the next revision without a deploy of this program).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, keyvault
from pydantic import SecretStr

from infra.components.app_env import kebab
from infra.naming import Naming
from infra.settings.model import KeyVaultSettings


@dataclass(frozen=True)
class KeyVaultArgs:
    settings: KeyVaultSettings
    prod: bool
    naming: Naming
    resource_group_name: pulumi.Input[str]
    location: str
    tags: dict[str, str]
    secrets: dict[str, SecretStr]  # config key -> value


class KeyVault(pulumi.ComponentResource):
    def __init__(self, name: str, args: KeyVaultArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("fin-agent:secrets:KeyVault", name, None, opts)
        settings = args.settings
        purge_protection = settings.purge_protection if settings.purge_protection is not None else args.prod
        tenant_id = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self)).tenant_id
        self.vault = keyvault.Vault(
            f"{name}-vault",
            vault_name=args.naming.name("key_vault"),
            resource_group_name=args.resource_group_name,
            location=args.location,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=tenant_id,
                sku=keyvault.SkuArgs(family="A", name="standard"),
                enable_rbac_authorization=True,
                enable_soft_delete=True,
                soft_delete_retention_in_days=settings.soft_delete_retention_days,
                # ARM refuses `false` here; leaving it out is how it stays off.
                enable_purge_protection=True if purge_protection else None,
                public_network_access="Enabled" if settings.public_network_access else "Disabled",
                network_acls=keyvault.NetworkRuleSetArgs(
                    bypass="AzureServices", default_action="Allow" if settings.public_network_access else "Deny"
                ),
            ),
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, protect=args.prod),
        )
        self.secret_urls: dict[str, pulumi.Output[str]] = {}
        for config_key, value in sorted(args.secrets.items()):
            secret = keyvault.Secret(
                f"{name}-secret-{kebab(config_key)}",
                secret_name=kebab(config_key),
                vault_name=self.vault.name,
                resource_group_name=args.resource_group_name,
                properties=keyvault.SecretPropertiesArgs(value=pulumi.Output.secret(value.get_secret_value())),
                tags=args.tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
            # The properties carry the value, so Pulumi marks them secret; the URI is not.
            self.secret_urls[config_key] = pulumi.Output.unsecret(secret.properties.apply(lambda p: p.secret_uri))
        self.register_outputs({"vaultId": self.vault.id})

    @property
    def uri(self) -> pulumi.Output[str]:
        return self.vault.properties.apply(lambda p: p.vault_uri)
