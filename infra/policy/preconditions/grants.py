"""Role grants the apps need before they start, and the apps waiting for them.

- `image-pull-grant`: every image is pulled with an identity that holds AcrPull on its registry
  (granted in this stack, or an identity the settings name as pre-granted), or from a registry
  the settings declare anonymous; an app waits for a grant made in this stack.
  Learn, "Azure Container Apps image pull with managed identity" and "Deploy to Azure Container
  Instances from Azure Container Registry using a managed identity": identity, AcrPull, then app.
- `key-vault-grant`: every Key Vault reference is read by an identity that holds Key Vault
  Secrets User on that vault (RBAC vault), and the app waits for the grant. Learn, "Manage
  secrets in Azure Container Apps" (Key Vault references need the identity's access first).
"""

from __future__ import annotations

from collections.abc import Iterator

from infra.components.identities import ROLE_ACR_PULL, ROLE_KEY_VAULT_SECRETS_USER
from infra.policy.model import Severity, entries, field_of, lookup
from infra.policy.preconditions.model import (
    StackFacts,
    StackResource,
    StackRule,
    StackView,
    Violation,
    known_text,
    one_of,
)
from infra.policy.rules.types import (
    CONTAINER_APP,
    CONTAINER_GROUP,
    KEY_VAULT,
    KEY_VAULT_SECRET,
    ROLE_ASSIGNMENT,
    USER_ASSIGNED_IDENTITY,
)
from infra.settings.rules.registry import image_registry

# Where each platform names the images and the pull credentials.
PULL_PROPERTY = {CONTAINER_APP: "configuration", CONTAINER_GROUP: "imageRegistryCredentials"}


def grants_of(view: StackView, identity: StackResource, role: str) -> list[StackResource]:
    """Role assignments of `role` to `identity` (its principal id flows into the assignment)."""
    return [
        grant
        for grant in view.of_type(ROLE_ASSIGNMENT)
        if str(lookup(grant.props, "roleDefinitionId") or "").lower().endswith(role)
        and identity in view.through(grant, "principalId", USER_ASSIGNED_IDENTITY)
    ]


def _images(app: StackResource) -> list[str]:
    if app.type == CONTAINER_APP:
        containers = entries(app.props, "template.containers") + entries(app.props, "template.initContainers")
    else:
        containers = entries(app.props, "containers")
    return [str(field_of(c, "image", "containers[]")) for c in containers if field_of(c, "image", "containers[]")]


def _credentials(app: StackResource) -> list[dict]:
    path = "configuration.registries" if app.type == CONTAINER_APP else "imageRegistryCredentials"
    return [c for c in entries(app.props, path) if isinstance(c, dict)]


def _image_pull(view: StackView, facts: StackFacts) -> Iterator[Violation]:
    registry = facts.registry
    for app in view.of_type(CONTAINER_APP, CONTAINER_GROUP):
        credentials = {str(c.get("server", "")).lower(): c for c in _credentials(app)}
        for host in sorted({image_registry(image) for image in _images(app)}):
            credential = credentials.get(host)
            declared = registry is not None and registry.server == host
            if credential is None:
                if not (declared and registry.anonymous):
                    yield Violation(
                        app,
                        f"{app.name} pulls from {host} without a credential, and {host} is not declared anonymous "
                        "(compute.registry.anonymous): the first pull is refused",
                    )
                continue
            yield from _identity_pull(view, app, host, credential, facts)


def _identity_pull(
    view: StackView, app: StackResource, host: str, credential: dict, facts: StackFacts
) -> Iterator[Violation]:
    if "identity" not in credential:
        return  # a username/password credential: nothing to grant
    value = credential["identity"]
    candidates = view.through(app, PULL_PROPERTY[app.type], USER_ASSIGNED_IDENTITY)
    identity = one_of(candidates, value, "resourceName", f"{PULL_PROPERTY[app.type]}.identity")
    registry = facts.registry
    if identity is None:
        pre_granted = registry is not None and registry.identity is not None and registry.identity == value
        if not pre_granted:
            yield Violation(
                app,
                f"{app.name} pulls from {host} with identity {value}, which this stack neither declares nor names "
                "as pre-granted (compute.registry.identity): nothing shows it holds AcrPull",
            )
        return
    scope = registry.resource_id.lower() if registry is not None and registry.resource_id else None
    grants = [
        g
        for g in grants_of(view, identity, ROLE_ACR_PULL)
        if scope is None or (known_text(lookup(g.props, "scope"), "scope") or "").lower() == scope
    ]
    if not grants:
        yield Violation(
            app,
            f"{app.name} pulls from {host} with identity {identity.name}, which holds no AcrPull on the registry "
            f"({registry.resource_id if scope else 'no registry resource id declared'}): the first pull is refused",
        )
        return
    waits = view.waits_for(app)
    if not any(g.urn in waits for g in grants):
        yield Violation(
            app,
            f"{app.name} does not depend on the AcrPull grant {grants[0].name} of {identity.name}: Azure may create "
            "the app before the grant and the first pull fails",
        )


def referenced_vaults(view: StackView, app: StackResource) -> list[tuple[StackResource | None, str, object]]:
    """(vault, vault name, identity value) for each Key Vault reference of a container app."""
    found = []
    secrets_in_stack = view.through(app, "configuration", KEY_VAULT_SECRET)
    vaults = view.of_type(KEY_VAULT)
    for index, secret in enumerate(entries(app.props, "configuration.secrets")):
        # Read raw: during a preview of a new stack both are unknown, and the dependencies decide.
        url = secret.get("keyVaultUrl") if isinstance(secret, dict) else None
        if url is None:
            continue
        identity = secret.get("identity")
        if isinstance(url, str):
            name = url.split("//", 1)[-1].split(".", 1)[0].lower()
            vault = next((v for v in vaults if str(v.props.get("vaultName", "")).lower() == name), None)
        else:
            owners = {v.urn: v for s in secrets_in_stack for v in view.through(s, "vaultName", KEY_VAULT)}
            vault = one_of(list(owners.values()), url, "vaultName", f"configuration.secrets[{index}].keyVaultUrl")
            name = str(vault.props.get("vaultName")) if vault else "?"
        found.append((vault, name, identity))
    return found


def _key_vault(view: StackView, facts: StackFacts) -> Iterator[Violation]:
    for app in view.of_type(CONTAINER_APP):
        seen = set()
        for vault, vault_name, identity_value in referenced_vaults(view, app):
            candidates = view.through(app, "configuration", USER_ASSIGNED_IDENTITY)
            identity = one_of(candidates, identity_value, "resourceName", "configuration.secrets[].identity")
            key = (vault_name, identity.urn if identity else str(identity_value))
            if key in seen:
                continue
            seen.add(key)
            if vault is None:
                yield Violation(app, f"{app.name} reads Key Vault {vault_name}, which this stack does not declare")
                continue
            if identity is None:
                yield Violation(
                    app, f"{app.name} reads Key Vault {vault_name} with an identity this stack does not declare"
                )
                continue
            grants = [
                g for g in grants_of(view, identity, ROLE_KEY_VAULT_SECRETS_USER) if vault in view.through(g, "scope")
            ]
            if not grants:
                yield Violation(
                    app,
                    f"{app.name} reads Key Vault references from {vault_name} as {identity.name}, which holds no "
                    "Key Vault Secrets User on that vault: the revision cannot read its secrets",
                )
            elif not any(g.urn in view.waits_for(app) for g in grants):
                yield Violation(
                    app,
                    f"{app.name} does not depend on the Key Vault Secrets User grant {grants[0].name} of "
                    f"{identity.name}: the first revision may start before it and fail to read its secrets",
                )


RULES = (
    StackRule(
        id="image-pull-grant",
        title="Every image pull has a complete path: AcrPull for the pulling identity (or an anonymous or "
        "pre-granted registry), and the app waits for the grant",
        remediation="Set compute.registry.resourceId (the program grants AcrPull and orders the apps after it), "
        "compute.registry.identity (an identity that already holds AcrPull) or compute.registry.anonymous: true.",
        severity=Severity.CRITICAL,
        check=_image_pull,
    ),
    StackRule(
        id="key-vault-grant",
        title="Every Key Vault reference is read by an identity holding Key Vault Secrets User on that vault, "
        "and the app waits for the grant",
        remediation="Keep the program's secrets-user grants (infra/program.py `_grants`) and the apps' "
        "depends_on on them.",
        severity=Severity.CRITICAL,
        check=_key_vault,
    ),
)
