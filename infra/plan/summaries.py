"""One line per planned resource with the settings that matter (sizes, scale rules, policies).

Each summarizer reads the resource's inputs as the engine received them (camelCase). A type
without a summarizer shows its Azure name only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from infra.plan.runner import PlannedResource

Summarizer = Callable[[dict[str, Any]], str]
SUMMARIZERS: dict[str, Summarizer] = {}


def summarizes(type_token: str) -> Callable[[Summarizer], Summarizer]:
    def register(function: Summarizer) -> Summarizer:
        SUMMARIZERS[type_token] = function
        return function

    return register


@summarizes("azure-native:resources:ResourceGroup")
def _resource_group(inputs: dict[str, Any]) -> str:
    return f"location {inputs.get('location')}"


def summarize(resource: PlannedResource) -> str:
    function = SUMMARIZERS.get(resource.type)
    return function(resource.inputs) if function else ""
