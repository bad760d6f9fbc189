"""Image pull rules: every image comes from the declared registry, which has exactly one pull path.

A first `pulumi up` fails when an app cannot pull its image: Container Apps and container
groups pull at creation, with the identity named in the registry credentials, which must
already hold AcrPull on the registry (Learn, "Azure Container Apps image pull with managed
identity": identity, then AcrPull, then app). So the settings say explicitly how the apps pull:
- `compute.registry.resourceId`: the program grants the apps' identities AcrPull on it, and
  the apps depend on the grant;
- `compute.registry.identity`: an existing user-assigned identity that already holds AcrPull;
- `compute.registry.anonymous: true`: the registry allows anonymous pull.
Anything else is refused, naming the keys.

Container groups in a subnet: Learn lists "Managed Identity with Virtual Network in Azure
Government Regions" among the unsupported networking scenarios
(learn.microsoft.com/azure/container-instances/container-instances-virtual-network-concepts,
ms.date 2024-08-29). Older versions of "Deploy to Azure Container Instances from Azure
Container Registry using a managed identity" (2021) said that no virtual-network-injected
group supports managed-identity image pulls; the current page says a managed identity lets a
group in a virtual network pull through the registry's private endpoint. So a managed-identity
pull from a subnet is refused in Azure Government regions only, naming the alternatives.

`exampleValues` lists setting paths whose values are examples a user must replace; each must
name a setting the stack holds, and each becomes a notice.
"""

from __future__ import annotations

from typing import Any

from infra.settings.model import StackSettings
from infra.settings.problems import Problem

# The settings sections (field names) these rules read.
SECTIONS = frozenset({"compute", "services", "location", "example_values"})

PULL_PATHS = (
    "compute.registry.resourceId (the program grants AcrPull on it), "
    "compute.registry.identity (an existing user-assigned identity that already holds AcrPull), "
    "or compute.registry.anonymous: true (the registry allows anonymous pull)"
)
DOCKER_HUB = "docker.io"
GOVERNMENT_REGION_PREFIXES = ("usgov", "usdod")


def image_registry(image: str) -> str:
    """The registry host of an image reference (Docker Hub when the reference names none)."""
    first, slash, _ = image.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return first
    return DOCKER_HUB


def check(settings: StackSettings) -> list[Problem]:
    problems = _check_registry(settings)
    problems += _check_example_paths(settings)
    return problems


def _check_registry(settings: StackSettings) -> list[Problem]:
    registry = settings.compute.registry
    hosts = {name: image_registry(service.image) for name, service in settings.services.items()}
    if registry is None:
        return [
            Problem(
                f"services.{name}.image",
                f"pulls from {host}, but compute.registry does not say how the apps pull: set "
                f"compute.registry.server: {host} and one of {PULL_PATHS}",
                getattr(settings.services, name).image,
            )
            for name, host in hosts.items()
        ]
    problems = [
        Problem(
            f"services.{name}.image",
            f"pulls from {host}, but compute.registry.server is {registry.server}: every image must come "
            "from the declared registry",
            getattr(settings.services, name).image,
        )
        for name, host in hosts.items()
        if host != registry.server
    ]
    chosen = [
        key
        for key, given in (
            ("resourceId", registry.resource_id is not None),
            ("identity", registry.identity is not None),
            ("anonymous", registry.anonymous),
        )
        if given
    ]
    if not chosen:
        problems.append(Problem("compute.registry", f"has no pull path for {registry.server}: set one of {PULL_PATHS}"))
    elif len(chosen) > 1:
        problems.append(
            Problem(
                "compute.registry",
                f"sets {' and '.join(f'compute.registry.{key}' for key in chosen)}; choose exactly one pull path",
            )
        )
    problems += _check_registry_name(registry.server, registry.resource_id)
    problems += _check_subnet_pull(settings)
    return problems


def _check_registry_name(server: str, resource_id: str | None) -> list[Problem]:
    """An Azure Container Registry's login server is `<name>.azurecr.io`, or `<name>-<hash>.azurecr.io`
    with a domain name label scope (Learn, ACR quickstart output): the id must name that registry."""
    if resource_id is None or not server.endswith(".azurecr.io"):
        return []
    name = resource_id.rsplit("/", 1)[-1].lower()
    label = server.split(".", 1)[0]
    if label == name or label.startswith(f"{name}-"):
        return []
    return [
        Problem(
            "compute.registry.resourceId",
            f"names registry '{name}', but compute.registry.server {server} is another registry",
            resource_id,
        )
    ]


def _check_subnet_pull(settings: StackSettings) -> list[Problem]:
    registry = settings.compute.registry
    groups = settings.compute.container_instances
    in_subnet = not settings.uses_container_apps and groups is not None and groups.network == "subnet"
    if registry is None or registry.anonymous or not in_subnet:
        return []
    if not settings.location.startswith(GOVERNMENT_REGION_PREFIXES):
        return []
    key = "compute.registry.resourceId" if registry.resource_id is not None else "compute.registry.identity"
    return [
        Problem(
            key,
            f"container groups in a subnet cannot pull with a managed identity in {settings.location} "
            "(Azure Government: learn.microsoft.com/azure/container-instances/"
            "container-instances-virtual-network-concepts). Use compute.registry.anonymous: true with a "
            "registry that allows anonymous pull, compute.containerInstances.network: public, or "
            "compute.platform: containerapps",
        )
    ]


def _resolve(document: Any, path: str) -> tuple[bool, Any]:
    current = document
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return False, None
    return current is not None, current


def _check_example_paths(settings: StackSettings) -> list[Problem]:
    document = settings.model_dump(by_alias=True, mode="json")
    return [
        Problem(f"exampleValues[{index}]", "names no setting this stack holds", path)
        for index, path in enumerate(settings.example_values)
        if not _resolve(document, path)[0]
    ]


def example_notices(settings: StackSettings) -> list[str]:
    document = settings.model_dump(by_alias=True, mode="json")
    notices = []
    for path in settings.example_values:
        found, value = _resolve(document, path)
        if found:
            notices.append(
                f"example value: {path} = {value!r} is an example (listed in exampleValues); replace it with "
                "your own before a real `pulumi up`, then remove it from exampleValues"
            )
    return notices


def notices(settings: StackSettings) -> list[str]:
    return example_notices(settings)
