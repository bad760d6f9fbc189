"""Run the Pulumi program under the mock engine and record every resource it declares."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from checks.targets import TargetTable, load_targets
from infra.plan.engine.mocks import AzureMocks
from infra.plan.engine.stackfile import read_stack_file
from infra.settings import LoadedSettings, RawConfig, load_settings
from infra.tags import PROJECT


@dataclass
class PlannedResource:
    urn: str
    type: str
    name: str
    parent_urn: str
    custom: bool
    protect: bool
    inputs: dict[str, Any]
    resource_id: str | None = None
    state: dict[str, Any] = field(default_factory=dict)
    depends_on: list[str] = field(default_factory=list)
    # input name -> URNs its value depends on (what the engine records and a stack policy sees)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)

    @property
    def parent_name(self) -> str | None:
        return self.parent_urn.rsplit("::", 1)[-1] if self.parent_urn else None


@dataclass
class PlanResult:
    stack: str
    loaded: LoadedSettings
    targets: TargetTable
    resources: list[PlannedResource]
    outputs: dict[str, Any]
    secret_outputs: set[str]

    def of_type(self, type_token: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str, name: str | None = None) -> PlannedResource:
        found = [r for r in self.of_type(type_token) if name is None or r.name == name]
        if len(found) != 1:
            names = [r.name for r in self.of_type(type_token)]
            raise LookupError(f"expected one {type_token} named {name!r}, found {names}")
        return found[0]


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The mock monitor, also keeping what the engine would record: parent, protect, deps."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.planned: dict[str, PlannedResource] = {}

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            registered = self.resources.get(response.urn)
            self.planned[response.urn] = PlannedResource(
                urn=response.urn,
                type=request.type,
                name=request.name,
                parent_urn=request.parent,
                custom=bool(request.custom),
                protect=bool(request.protect),
                inputs=rpc.deserialize_properties(request.object),
                resource_id=registered.id if registered else None,
                state=dict(registered.state) if registered else {},
                depends_on=list(request.dependencies),
                property_dependencies={
                    key: list(value.urns) for key, value in request.propertyDependencies.items() if value.urns
                },
            )
        return response


def _resolve_outputs(outputs: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    resolved: dict[str, Any] = {}
    secret: set[str] = set()

    async def collect() -> None:
        for key, value in outputs.items():
            output = pulumi.Output.from_input(value)
            resolved[key] = await output.future()
            if await output.is_secret():
                secret.add(key)

    _sync_await(collect())
    return resolved, secret


def run_program(loaded: LoadedSettings, targets: TargetTable) -> PlanResult:
    """Declare the stack for `loaded` under the mock engine; return what was registered."""
    from infra.program import build

    monitor = RecordingMonitor(AzureMocks())
    pulumi.runtime.set_mocks(AzureMocks(), project=PROJECT, stack=loaded.stack, preview=False, monitor=monitor)
    captured: dict[str, Any] = {}

    def program() -> Any:
        outputs = build(loaded, targets)
        captured["outputs"] = outputs
        return pulumi.Output.from_input({})

    _sync_await(run_pulumi_func(lambda: _sync_await(program().future())))
    outputs, secret = _resolve_outputs(captured["outputs"])
    resources = sorted(monitor.planned.values(), key=lambda r: r.urn)
    return PlanResult(loaded.stack, loaded, targets, resources, outputs, secret)


def plan_stack(
    stack: str,
    *,
    stacks_dir: Path | None = None,
    targets_file: Path | None = None,
    raw: RawConfig | None = None,
) -> PlanResult:
    """Validate the stack's settings (raising SettingsError) and plan it offline."""
    raw_config = raw if raw is not None else read_stack_file(stack, stacks_dir)
    loaded = load_settings(raw_config, stack, allow_missing_secrets=True)
    return run_program(loaded, load_targets(targets_file))


def run_entrypoint(raw: RawConfig, stack: str) -> RecordingMonitor:
    """Run `infra.program.main` exactly as `pulumi up` would, but against the mock engine.

    The config reaches the program through Pulumi's runtime config (as the engine passes it),
    so this exercises the real entry path, errors included. Returns the monitor, whose
    `planned` map shows what was registered (empty when settings are refused).
    """
    from infra.program import main

    monitor = RecordingMonitor(AzureMocks())
    pulumi.runtime.set_mocks(AzureMocks(), project=PROJECT, stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(dict(raw.values), sorted(raw.secret_keys))
    try:
        _sync_await(run_pulumi_func(main))
    finally:
        pulumi.runtime.set_all_config({}, [])
    return monitor
