"""Read the stack's Pulumi config once, at start, into validated `StackSettings`.

The raw config is a flat map of `namespace:key` to string (objects JSON-encoded), plus the set
of keys that were stored as secrets: exactly what the Pulumi engine hands a program, and what
`infra.plan.engine.stackfile` builds from a stack file for an offline plan. Problems of every kind
(unknown keys, wrong types, Azure's rules, secrets given in plain text) are collected and
raised together as one `SettingsError`, before any resource exists.

Each problem names its key and, when the config came from a stack file, the file and line
(`RawConfig.lines`). Keys in a namespace the program never reads (`fin-agnet:`, `aws:`) are
refused with a "did you mean", since the whole value would otherwise be dropped silently;
the provider's (`azure-native:`) and Pulumi's own are left alone. Values that may be secrets
(under `env`, `secrets`, webhooks) are never echoed, and a secret's value copied into a plain
environment variable is refused. See docs/stack-files.md.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel, SecretStr, TypeAdapter, ValidationError

from checks.strict_yaml import excerpt
from infra.naming import NAME_RULES, InvalidNameError, Naming, stable_token
from infra.settings import rules
from infra.settings.defaults import with_defaults
from infra.settings.model import StackSettings, settings_keys
from infra.settings.problems import NAMESPACE, Problem, SettingsError
from infra.settings.rules.compute import autoscale_refused
from infra.tags import PROJECT

# Placeholder used by offline plans for secrets the stack file does not hold.
PLAN_SECRET_PLACEHOLDER = "[secret not set]"


@dataclass(frozen=True)
class RawConfig:
    """Config as the engine passes it: full keys to strings, and which keys are secrets."""

    values: dict[str, str]
    secret_keys: frozenset[str] = frozenset()
    # where the config was read from (a stack file), and the line of each key path in it
    source: str | None = None
    lines: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadedSettings:
    settings: StackSettings
    stack: str
    naming: Naming
    # secret config key (without namespace) -> value; SecretStr never prints its value
    secrets: dict[str, SecretStr] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    # secret keys the stack references but does not hold (offline plans only)
    missing_secrets: list[str] = field(default_factory=list)


# Namespaces whose keys are not this program's settings but are legitimately in a stack file:
# the provider the program uses, and Pulumi's own.
OTHER_NAMESPACES = ("azure-native", "pulumi")
# A secret's config key name (models.SecretKeyName); anything else under `secrets` may be a value.
_SECRET_KEY_NAME = re.compile(r"^[a-z][A-Za-z0-9]{1,62}$")
# Settings whose values may be credentials: never echoed in a message.
_SENSITIVE = re.compile(r"(^|\.)(env|secrets|webhooks)(\.|\[|$)|urlSecret")


def _decode(raw: str, key: str) -> Any:
    """A top-level config string as the program reads it: JSON objects, and exact true/false for flags."""
    text = raw.strip()
    if text.startswith(("{", "[")):
        try:
            return json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            return raw
    field_info = StackSettings.model_fields.get(_field_name(key))
    if field_info is not None and field_info.annotation is bool and raw in ("true", "false"):
        return raw == "true"
    return raw


def _field_name(alias: str) -> str:
    return next((n for n, f in StackSettings.model_fields.items() if (f.alias or n) == alias), alias)


def _loc_to_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            part = excerpt(str(part), 64)
            path += f".{part}" if path else part
    return path


def _known_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Keys a settings object accepts at `loc`, for 'did you mean' hints."""
    current: Any = model
    for part in loc:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        match = next(
            (f for n, f in current.model_fields.items() if (f.alias or n) == part),
            None,
        )
        if match is None:
            return []
        current = _unwrap_model(match.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or n for n, f in current.model_fields.items()]
    return []


def _unwrap_model(annotation: Any) -> Any:
    """The BaseModel inside Optional[...] / list[...] annotations, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _unwrap_model(arg)
        if found is not None:
            return found
    return None


def _pydantic_problems(error: ValidationError) -> list[Problem]:
    problems = []
    for item in error.errors():
        loc = tuple(item["loc"])
        path = _loc_to_path(loc)
        if item["type"] == "extra_forbidden":
            hint = difflib.get_close_matches(str(loc[-1]), _known_keys(StackSettings, loc[:-1]), n=1)
            message = "unknown key" + (f"; did you mean '{hint[0]}'?" if hint else "")
            problems.append(Problem(path, message))
        elif item["type"] == "missing":
            problems.append(Problem(path, "is required"))
        elif _SENSITIVE.search(path):
            problems.append(Problem(path, item["msg"] + " (value not shown: it may be a secret)"))
        else:
            problems.append(Problem(path, item["msg"], item.get("input")))
    return problems


def _strip_namespace(key: str) -> str | None:
    prefix = f"{NAMESPACE}:"
    return key[len(prefix) :] if key.startswith(prefix) else None


def _namespace_problem(full_key: str) -> Problem | None:
    """A key in another namespace: refused, since the program would silently ignore it."""
    namespace, _, name = full_key.partition(":")
    if namespace in OTHER_NAMESPACES:
        return None
    near = difflib.get_close_matches(namespace.lower(), [NAMESPACE, *OTHER_NAMESPACES], n=1, cutoff=0.6)
    if near and near[0] == NAMESPACE:
        hint = f"; did you mean '{NAMESPACE}:{excerpt(name, 40)}'?"
    elif near:
        hint = f"; did you mean '{near[0]}:{excerpt(name, 40)}'?"
    else:
        hint = f"; this project's settings are in '{NAMESPACE}:', provider settings in 'azure-native:'"
    return Problem(
        name,
        f"is in namespace '{excerpt(namespace, 40)}', which this program never reads, so the whole value "
        f"would be ignored{hint}",
        full_key=full_key,
    )


def _locate(problem: Problem, raw: RawConfig) -> Problem:
    """The problem with the stack file and line of its key (or of the nearest enclosing key)."""
    if raw.source is None or problem.where:
        return problem
    path = problem.full_key or problem.path
    while path and path not in raw.lines:
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    line = raw.lines.get(path)
    return replace(problem, where=f"{raw.source}:{line}" if line else raw.source)


def _referenced_secrets(values: dict[str, Any]) -> dict[str, str]:
    """Secret config keys the settings refer to -> the setting that refers to it."""
    refs: dict[str, str] = {}
    services = values.get("services")
    if isinstance(services, dict):
        for service_name, service in services.items():
            secrets = service.get("secrets") if isinstance(service, dict) else None
            if isinstance(secrets, dict):
                for env_name, key in secrets.items():
                    if isinstance(key, str) and _SECRET_KEY_NAME.match(key):
                        refs.setdefault(key, f"services.{service_name}.secrets.{env_name}")
    monitoring = values.get("monitoring")
    receivers = monitoring.get("receivers") if isinstance(monitoring, dict) else None
    webhooks = receivers.get("webhooks") if isinstance(receivers, dict) else None
    if isinstance(webhooks, list):
        for index, hook in enumerate(webhooks):
            url_secret = hook.get("urlSecret") if isinstance(hook, dict) else None
            if isinstance(url_secret, str) and _SECRET_KEY_NAME.match(url_secret):
                refs.setdefault(hook["urlSecret"], f"monitoring.receivers.webhooks[{index}].urlSecret")
    return refs


def load_settings(raw: RawConfig, stack: str, *, allow_missing_secrets: bool = False) -> LoadedSettings:
    """Validate `raw` for `stack`; raise `SettingsError` listing every problem.

    `allow_missing_secrets` is for offline plans: a referenced secret the stack file does not
    hold becomes a placeholder and a notice, where `pulumi up` refuses it.
    """
    problems: list[Problem] = []
    setting_names = set(settings_keys())
    stack_values: dict[str, Any] = {}
    other_keys: dict[str, str] = {}
    for full_key, raw_value in raw.values.items():
        key = _strip_namespace(full_key)
        if key is None:
            foreign = _namespace_problem(full_key)
            problems += [foreign] if foreign else []
            continue
        if key in setting_names:
            if full_key in raw.secret_keys:
                problems.append(Problem(key, "holds settings, not a secret; store it without --secret"))
            stack_values[key] = _decode(raw_value, key)
        else:
            other_keys[key] = raw_value

    if "environment" not in stack_values and stack in ("dev", "staging", "prod"):
        stack_values["environment"] = stack
    compute = stack_values.get("compute")
    if isinstance(compute, dict) and compute.get("platform") == "containerinstances" and "autoscale" in stack_values:
        problems.append(autoscale_refused())
        del stack_values["autoscale"]
    merged = with_defaults(stack_values)
    references = _referenced_secrets(merged)
    for key, used_by in references.items():
        if key in setting_names:
            problems.append(Problem(used_by, f"'{key}' is a settings key and cannot name a secret", key))

    secrets: dict[str, SecretStr] = {}
    missing: list[str] = []
    for key, raw_value in other_keys.items():
        if key not in references:
            hint = difflib.get_close_matches(key, sorted(setting_names | set(references)), n=1)
            problems.append(
                Problem(
                    key,
                    "unknown key: not a setting and not referenced as a secret by any setting"
                    + (f"; did you mean '{hint[0]}'?" if hint else ""),
                )
            )
        elif f"{NAMESPACE}:{key}" not in raw.secret_keys:
            problems.append(
                Problem(
                    key,
                    f"is used as a secret by {references[key]} but is stored in plain text; "
                    f"store it with `pulumi config set --secret {key} <value>`",
                )
            )
        else:
            secrets[key] = SecretStr(raw_value)
    for key, used_by in sorted(references.items()):
        if key in secrets or key in other_keys or key in setting_names:
            continue
        if allow_missing_secrets:
            missing.append(key)
            secrets[key] = SecretStr(PLAN_SECRET_PLACEHOLDER)
        else:
            problems.append(
                Problem(
                    key,
                    f"is used as a secret by {used_by} but is not set; run `pulumi config set --secret {key} <value>`",
                )
            )

    settings: StackSettings | None = None
    try:
        settings = StackSettings.model_validate(merged)
    except ValidationError as error:
        problems += _pydantic_problems(error)
        problems += _rules_on_valid_sections(merged, error)

    naming: Naming | None = None
    if settings is not None:
        problems += rules.check_all(settings)
        problems += _secrets_in_plain_env(settings, secrets)
        naming = Naming(settings.environment, settings.name_suffix or stable_token(PROJECT, stack, settings.location))
        problems += _check_names(naming)

    if problems or settings is None or naming is None:
        raise SettingsError([_locate(problem, raw) for problem in problems], stack, raw.source)

    notices = rules.notices_for(settings)
    notices += [
        f"secret {key} is not set in the stack file; `pulumi up` will refuse to run until "
        f"`pulumi config set --secret {key} <value>`"
        for key in missing
    ]
    return LoadedSettings(settings, stack, naming, secrets, notices, missing)


def _secrets_in_plain_env(settings: StackSettings, secrets: dict[str, SecretStr]) -> list[Problem]:
    """A secret's value copied into a plain environment variable is that secret, leaked."""
    values = {
        secret.get_secret_value(): key
        for key, secret in secrets.items()
        if len(secret.get_secret_value()) >= 8 and secret.get_secret_value() != PLAN_SECRET_PLACEHOLDER
    }
    return [
        Problem(
            f"services.{service_name}.env.{env_name}",
            f"holds the value of secret '{values[value]}' in plain text; list it under "
            f"services.{service_name}.secrets instead (value not shown)",
        )
        for service_name, service in settings.services.items()
        for env_name, value in service.env.items()
        if value in values
    ]


def _rules_on_valid_sections(merged: dict[str, Any], error: ValidationError) -> list[Problem]:
    """Azure's rules for the sections that did validate, while another section did not."""
    failed = {str(item["loc"][0]) for item in error.errors() if item["loc"]}
    valid: dict[str, Any] = {}
    for name, info in StackSettings.model_fields.items():
        alias = info.alias or name
        if alias in failed:
            continue
        if alias in merged:
            valid[name] = TypeAdapter(info.annotation).validate_python(merged[alias])
        elif not info.is_required():
            valid[name] = info.get_default(call_default_factory=True)
    partial = StackSettings.model_construct(**valid)
    return rules.check_all(partial, available=set(valid))


def _check_names(naming: Naming) -> list[Problem]:
    problems = []
    longest_qualifier = {"container_app": "backend", "managed_identity": "backend", "container_group": "01"}
    for kind in NAME_RULES:
        try:
            naming.name(kind, longest_qualifier.get(kind))
        except InvalidNameError as error:
            problems.append(Problem("nameSuffix", str(error), naming.token))
    return problems
