"""Rules that concern the stack as a whole: region, names, tags, environment variables, receivers.

Plain environment variables are visible to anyone who can read the app's configuration or the
plan, so a name that says "credential" must come from `secrets` instead. Variables the program
sets itself (the backend's URL, the cache's connection, Application Insights, the identity)
cannot be set again from the stack: two values for one variable, one silently winning, is how a
stack points an app at the wrong cache.
"""

from __future__ import annotations

import re

from infra.settings.model import MAX_TAGS_PER_RESOURCE, StackSettings
from infra.settings.problems import Problem
from infra.settings.regions import is_known_region
from infra.tags import STANDARD_TAG_NAMES

# An environment variable whose name says it holds a credential must come from a secret.
SECRET_LOOKING_NAME = re.compile(
    r"(SECRET|PASSWORD|PASSWD|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CONNECTION_?STRING|CREDENTIAL)",
    re.IGNORECASE,
)
# Name parts (split on `_`) that mean a credential: DB_PASS, STRIPE_KEY, SUPABASE_KEY, PG_PWD, ...
CREDENTIAL_WORDS = frozenset(
    {
        "PASS",
        "PASSWD",
        "PASSWORD",
        "PWD",
        "SECRET",
        "SECRETS",
        "TOKEN",
        "APIKEY",
        "DSN",
        "CREDENTIALS",
        "CREDS",
        "COOKIE",
        "SIGNATURE",
        "SAS",
        "CONNSTR",
    }
)
# KEY means a credential (STRIPE_KEY, SUPABASE_KEY, SERVICE_KEY_LIVE) unless a word after it says
# it is about keys, not one (CACHE_KEY_PREFIX, KEY_VAULT_NAME).
NOT_A_KEY_AFTER = frozenset({"PREFIX", "ID", "NAME", "VAULT", "FILE", "PATH", "URI", "URL", "SIZE", "TTL", "HEADER"})
# Data-store URLs carry the password in their user-info: DATABASE_URL, REDIS_URI, MONGODB_URL, ...
DATA_STORE_URL = re.compile(
    r"(^|_)(DATABASE|DB|POSTGRES|POSTGRESQL|PG|MYSQL|MARIADB|MONGO|MONGODB|REDIS|AMQP|RABBITMQ|MSSQL|SQL|SUPABASE_DB)"
    r"_?(URL|URI)$",
    re.IGNORECASE,
)
# Variables the program sets in the containers (infra/components: compute_shared.identity_env,
# container_apps/container_groups BACKEND_URL, cache/component.py, program.py).
PROGRAM_SET_VARIABLES = frozenset(
    {
        "BACKEND_URL",
        "REDIS_HOST",
        "REDIS_PORT",
        "REDIS_TLS",
        "REDIS_AUTH_MODE",
        "REDIS_PASSWORD",
        "AZURE_CLIENT_ID",
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
        "APPLICATIONINSIGHTS_BROWSER_CONNECTION_STRING",
    }
)


def looks_like_credential(name: str) -> bool:
    if SECRET_LOOKING_NAME.search(name) or DATA_STORE_URL.search(name):
        return True
    parts = name.upper().split("_")
    for index, part in enumerate(parts):
        if part in CREDENTIAL_WORDS:
            return True
        if part in ("KEY", "KEYS") and not NOT_A_KEY_AFTER.intersection(parts[index + 1 :]):
            return True
    return False


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
    if len(settings.tags) + len(STANDARD_TAG_NAMES) > MAX_TAGS_PER_RESOURCE:
        problems.append(
            Problem(
                "tags",
                f"has {len(settings.tags)} tags; with the program's {len(STANDARD_TAG_NAMES)} standard tags a "
                f"resource would carry more than Azure's limit of {MAX_TAGS_PER_RESOURCE}",
            )
        )
    problems += _duplicate_receivers(settings)
    for service_name, service in settings.services.items():
        for kind, names in (("env", service.env), ("secrets", service.secrets)):
            for env_name in names:
                if env_name.upper() in PROGRAM_SET_VARIABLES:
                    problems.append(
                        Problem(
                            f"services.{service_name}.{kind}.{env_name}",
                            "is set by the program itself (from the deployed resources); remove it here",
                        )
                    )
        for env_name in service.env:
            if looks_like_credential(env_name):
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


def _duplicate_receivers(settings: StackSettings) -> list[Problem]:
    """Receiver names identify receivers in the action group and its notifications: one name, one receiver."""
    problems: list[Problem] = []
    receivers = settings.monitoring.receivers
    seen: dict[str, str] = {}
    for kind, items in (("emails", receivers.emails), ("webhooks", receivers.webhooks)):
        for index, receiver in enumerate(items):
            path = f"monitoring.receivers.{kind}[{index}].name"
            key = receiver.name.lower()
            if key in seen:
                problems.append(Problem(path, f"repeats the receiver name of {seen[key]}; names must be unique"))
            else:
                seen[key] = path
    return problems


def notices(settings: StackSettings) -> list[str]:
    receivers = settings.monitoring.receivers
    if not receivers.emails and not receivers.webhooks:
        return [
            "monitoring.receivers is empty: the alerts are created but notify nobody "
            "(add monitoring.receivers.emails or .webhooks)"
        ]
    return []
