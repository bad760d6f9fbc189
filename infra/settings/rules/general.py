"""Rules that concern the stack as a whole: region, names, tags, environment variables."""

from __future__ import annotations

import re

from infra.settings.model import StackSettings
from infra.settings.problems import Problem
from infra.settings.regions import is_known_region
from infra.tags import STANDARD_TAG_NAMES

# An environment variable whose name says it holds a credential must come from a secret.
SECRET_LOOKING_NAME = re.compile(
    r"(SECRET|PASSWORD|PASSWD|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CONNECTION_?STRING|CREDENTIAL)",
    re.IGNORECASE,
)


# The settings sections (field names) these rules read.
SECTIONS = frozenset({"location", "allow_unlisted_location", "tags", "services", "monitoring"})


def check(settings: StackSettings) -> list[Problem]:
    problems: list[Problem] = []
    if not settings.allow_unlisted_location and not is_known_region(settings.location):
        problems.append(
            Problem(
                "location",
                "not an Azure region's programmatic name (e.g. westeurope, eastus2); "
                "set allowUnlistedLocation: true only for a region opened after this release",
                settings.location,
            )
        )
    for tag in settings.tags:
        if tag.lower() in STANDARD_TAG_NAMES:
            problems.append(
                Problem(f"tags.{tag}", "is a standard tag set by the program; set it through its own setting")
            )
    problems += _role_name_problems(settings)
    for service_name, service in settings.services.items():
        for env_name in service.env:
            if SECRET_LOOKING_NAME.search(env_name):
                problems.append(
                    Problem(
                        f"services.{service_name}.env.{env_name}",
                        "looks like a credential and must not be a plain value; move it to "
                        f"services.{service_name}.secrets and store it with "
                        "`pulumi config set --secret <name> <value>`",
                    )
                )
            if env_name in service.secrets:
                problems.append(
                    Problem(
                        f"services.{service_name}.env.{env_name}",
                        "is also listed under secrets; a variable comes from one place only",
                    )
                )
    return problems


def _role_name_problems(settings: StackSettings) -> list[Problem]:
    """Role names tell the services' telemetry apart: distinct, and set only by `roleName`."""
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for service_name, service in settings.services.items():
        other = seen.setdefault(service.role_name, service_name)
        if other != service_name:
            problems.append(
                Problem(
                    f"services.{service_name}.roleName",
                    f"is also {other}'s role name; the alerts and checks could not tell their telemetry apart",
                    service.role_name,
                )
            )
        # Metric alert templates use "*" for "every value" of a dimension (Learn's metric
        # alert samples; not confirmed in the REST spec here): never a role name.
        if service.role_name == "*":
            problems.append(
                Problem(
                    f"services.{service_name}.roleName",
                    "'*' is the metric alerts' wildcard (every role): the api-latency alert would average all apps",
                    service.role_name,
                )
            )
        if "OTEL_SERVICE_NAME" in service.env or "OTEL_SERVICE_NAME" in service.secrets:
            problems.append(
                Problem(
                    f"services.{service_name}.env.OTEL_SERVICE_NAME",
                    f"is set by the program from services.{service_name}.roleName; set the role name there",
                )
            )
        attributes = service.env.get("OTEL_RESOURCE_ATTRIBUTES", "")
        for key in ("service.name", "service.namespace"):
            if any(part.split("=", 1)[0].strip() == key for part in attributes.split(",")):
                problems.append(
                    Problem(
                        f"services.{service_name}.env.OTEL_RESOURCE_ATTRIBUTES",
                        f"sets {key}, which would change the role name the alerts and checks filter on "
                        f"(the exporter reports '<service.namespace>.<service.name>'); use "
                        f"services.{service_name}.roleName",
                        attributes,
                    )
                )
    return problems


def notices(settings: StackSettings) -> list[str]:
    receivers = settings.monitoring.receivers
    if not receivers.emails and not receivers.webhooks:
        return [
            "monitoring.receivers is empty: the alerts are created but notify nobody "
            "(add monitoring.receivers.emails or .webhooks)"
        ]
    return []
