"""Resource names: Cloud Adoption Framework abbreviation, workload, environment, stable token.

`ca-finagent-backend-prod-3f9a1c`: the abbreviation says what it is, the environment where it
runs, and a six-character token (a hash of project, stack and location, or the stack's
`nameSuffix`) keeps globally unique names (cache host names, Key Vault) from colliding while
staying stable across deployments. Every kind's Azure length and character rules are checked
here so a bad name fails before `pulumi up`, not in the middle of it.

Names never contain `--`: Azure Managed Redis refuses consecutive hyphens in a cluster name, and
Container Apps in an app name (Learn, "Naming rules and restrictions for Azure resources"), so a
qualifier's runs of hyphens are collapsed and its edge hyphens dropped before joining.

Abbreviations: learn.microsoft.com/azure/cloud-adoption-framework/ready/azure-best-practices/
resource-abbreviations.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

WORKLOAD = "finagent"
ENVIRONMENT_CODES = {"dev": "dev", "staging": "stg", "prod": "prod"}


@dataclass(frozen=True)
class NameRule:
    abbreviation: str
    max_length: int
    pattern: str  # what Azure accepts for the whole name


_LOWER_HYPHEN = r"^[a-z][a-z0-9-]*[a-z0-9]$"
NAME_RULES: dict[str, NameRule] = {
    "resource_group": NameRule("rg", 90, r"^[A-Za-z0-9._()-]*[A-Za-z0-9_()-]$"),
    "container_app": NameRule("ca", 32, _LOWER_HYPHEN),
    "container_apps_environment": NameRule("cae", 60, _LOWER_HYPHEN),
    "container_group": NameRule("ci", 63, _LOWER_HYPHEN),
    "managed_identity": NameRule("id", 128, r"^[A-Za-z0-9][A-Za-z0-9_-]*$"),
    "managed_redis": NameRule("amr", 60, _LOWER_HYPHEN),
    "redis": NameRule("redis", 63, _LOWER_HYPHEN),
    "log_analytics": NameRule("log", 63, _LOWER_HYPHEN),
    "app_insights": NameRule("appi", 255, _LOWER_HYPHEN),
    "action_group": NameRule("ag", 260, _LOWER_HYPHEN),
    "metric_alert": NameRule("alert", 260, _LOWER_HYPHEN),
    "log_alert": NameRule("alert", 260, _LOWER_HYPHEN),
    "diagnostic_setting": NameRule("diag", 260, _LOWER_HYPHEN),
    "virtual_network": NameRule("vnet", 64, _LOWER_HYPHEN),
    "subnet": NameRule("snet", 80, _LOWER_HYPHEN),
    "network_security_group": NameRule("nsg", 80, _LOWER_HYPHEN),
    "private_endpoint": NameRule("pep", 64, _LOWER_HYPHEN),
    "key_vault": NameRule("kv", 24, _LOWER_HYPHEN),
    "public_ip": NameRule("pip", 80, _LOWER_HYPHEN),
    # Azure Load Testing: CAF abbreviation `lt`; names of 1-64 letters, digits, '-' and '_'.
    "load_test": NameRule("lt", 64, _LOWER_HYPHEN),
}


def stable_token(project: str, stack: str, location: str) -> str:
    return hashlib.sha256(f"{project}|{stack}|{location}".encode()).hexdigest()[:6]


class InvalidNameError(ValueError):
    pass


@dataclass(frozen=True)
class Naming:
    environment: str
    token: str

    @property
    def environment_code(self) -> str:
        return ENVIRONMENT_CODES[self.environment]

    def name(self, kind: str, qualifier: str | None = None) -> str:
        """`{abbr}-finagent[-{qualifier}]-{env}-{token}`, checked against Azure's rules for `kind`."""
        rule = NAME_RULES[kind]
        parts = [rule.abbreviation, WORKLOAD]
        cleaned = re.sub(r"-{2,}", "-", qualifier or "").strip("-")
        if cleaned:
            parts.append(cleaned)
        parts += [self.environment_code, self.token]
        name = "-".join(parts)
        if "--" in name:
            raise InvalidNameError(f"{kind} name '{name}' has consecutive hyphens, which Azure refuses")
        if len(name) > rule.max_length:
            raise InvalidNameError(f"{kind} name '{name}' is longer than Azure's {rule.max_length} characters")
        if not re.match(rule.pattern, name):
            raise InvalidNameError(f"{kind} name '{name}' has characters Azure does not accept")
        return name
