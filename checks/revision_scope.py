"""How to scope a Container Apps metric to one revision, from the sourced table `revision_dimensions.yaml`.

Used when the outputs name a service's `revision` (a rollout step judging its canary or its
stable revision writes it into the outputs file it hands `fin-infra check`).

A canary is judged apart from the stable revision. Some platform metrics carry a
`revisionName` dimension (filter on it); `CpuPercentage` and `MemoryPercentage` only `podName`,
whose values begin with the revision name (split by pod, keep that revision's pods);
`ResponseTime` has neither, so a canary's latency comes from the probes through its label.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import yaml

DATA_FILE = Path(__file__).with_name("revision_dimensions.yaml")
By = Literal["revisionName", "podName", "none"]


@dataclass(frozen=True)
class RevisionScope:
    metric: str
    by: By
    filter: str | None  # the metrics API `$filter`
    pod_prefix: str | None  # keep only series whose podName starts with this

    def keeps(self, pod_name: str) -> bool:
        return self.pod_prefix is None or pod_name.startswith(self.pod_prefix)


@cache
def revision_dimensions() -> dict[str, By]:
    document = yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))
    return {name: entry["by"] for name, entry in document["metrics"].items()}


def revision_scope(metric: str, revision: str) -> RevisionScope:
    """The filter (and pod prefix) that isolates `revision` in `metric`; KeyError if unlisted."""
    if "'" in revision:
        raise ValueError(f"{revision!r} is not a revision name")
    by = revision_dimensions()[metric]
    if by == "revisionName":
        return RevisionScope(metric, by, f"revisionName eq '{revision}'", None)
    if by == "podName":
        return RevisionScope(metric, by, "podName eq '*'", f"{revision}-")
    return RevisionScope(metric, by, None, None)
