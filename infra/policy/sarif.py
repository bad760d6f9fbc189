"""Policy findings and unmet preconditions as SARIF 2.1.0, for GitHub code scanning.

One run, tool `fin-infra policy`: a reporting descriptor per policy rule and per precondition,
a result per violation, located on the stack file that declared the resource (the only source a
reader can change) with the resource as a logical location. Mandatory violations are `error`,
advisory ones `warning`. Shape from the OASIS standard
(https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html, sections 3.13 run, 3.27
result, 3.49 reportingDescriptor) and GitHub's accepted subset
(https://docs.github.com/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning);
tests validate it against the vendored 2.1.0 schema.
"""

from __future__ import annotations

import hashlib
import json
from importlib.metadata import PackageNotFoundError, version
from typing import Any

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"


def _tool_version() -> str:
    try:
        return version("fin-agent-infra")
    except PackageNotFoundError:
        return "0"


def _level(enforcement: str) -> str:
    return "error" if enforcement == "mandatory" else "warning"


def _rules(document: dict[str, Any]) -> list[dict[str, Any]]:
    rules = []
    for rule in (document.get("policy") or {}).get("rules", []):
        rules.append(
            {
                "id": rule["id"],
                "name": rule["id"],
                "shortDescription": {"text": rule.get("title") or rule["id"]},
                "properties": {"tags": ["policy", rule["pillar"]], "severity": rule["severity"]},
            }
        )
    for rule in (document.get("preconditions") or {}).get("rules", []):
        rules.append(
            {
                "id": rule["id"],
                "name": rule["id"],
                "shortDescription": {"text": rule["title"]},
                "defaultConfiguration": {"level": _level(rule["level"])},
                "properties": {"tags": ["precondition"], "severity": rule["severity"]},
            }
        )
    return rules


def _result(rule_index: dict[str, int], rule: str, level: str, entry: dict[str, Any], stack_file: str) -> dict:
    fingerprint = hashlib.sha256(f"{rule}\0{entry['type']}\0{entry['resource']}\0{entry['message']}".encode())
    return {
        "ruleId": rule,
        "ruleIndex": rule_index[rule],
        "level": level,
        "message": {"text": f"{entry['resource']}: {entry['message']} Remediation: {entry['remediation']}"},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": stack_file, "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": 1},
                },
                "logicalLocations": [
                    {
                        "name": entry["resource"],
                        "fullyQualifiedName": f"{entry['type']}::{entry['resource']}",
                        "kind": "resource",
                    }
                ],
            }
        ],
        "partialFingerprints": {"finInfraFinding/v1": fingerprint.hexdigest()},
    }


def sarif_document(document: dict[str, Any], stack_file: str) -> dict[str, Any]:
    """The policy document (`policy` and `preconditions` sections) as a SARIF log."""
    rules = _rules(document)
    index = {rule["id"]: position for position, rule in enumerate(rules)}
    results = [
        _result(index, v["rule"], _level(v["enforcement"]), v, stack_file)
        for v in (document.get("policy") or {}).get("violations", [])
    ]
    results += [
        _result(index, v["precondition"], _level(v["level"]), v, stack_file)
        for v in (document.get("preconditions") or {}).get("violations", [])
    ]
    driver = {"name": "fin-infra policy", "version": _tool_version(), "rules": rules}
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": driver},
                "automationDetails": {"id": f"fin-infra/policy/{document.get('stack', '')}/"},
                "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "the Pulumi project's root"}}},
                "results": results,
            }
        ],
    }


def render_sarif(document: dict[str, Any], stack_file: str) -> str:
    return json.dumps(sarif_document(document, stack_file), indent=2, sort_keys=True) + "\n"
