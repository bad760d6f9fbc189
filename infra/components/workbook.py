"""The stack's Azure Monitor workbook (`Microsoft.Insights/workbooks`), generated from the target table.

One shared workbook per stack, linked to the Application Insights component (it appears under
the component's Workbooks; `sourceId`), named by a GUID stable per stack. Its content
(`serializedData`) is built by `infra.workbook` from the target table and the stack outputs
once their resource ids are known (`Output.apply`), so it charts exactly what the checks query.
The component exposes `stack_output()`: the workbook's id, display name and portal link.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_azure_native import applicationinsights

from checks.clouds import cloud_for_location
from checks.targets import TargetTable
from infra.workbook import display_name, portal_url, serialized_data, workbook_name
from infra.workbook.items import NOTEBOOK_VERSION
from infra.workbook.link import CATEGORY


@dataclass(frozen=True)
class WorkbookArgs:
    project: str
    stack: str
    table: TargetTable
    # The stack outputs (the checks' contract), with Outputs inside; resolved before use.
    outputs: dict[str, Any]
    source_id: pulumi.Input[str]  # the Application Insights component
    resource_group_name: pulumi.Input[str]
    location: str
    tags: dict[str, str]
    report_url: str | None = None


class Workbook(pulumi.ComponentResource):
    def __init__(self, name: str, args: WorkbookArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("fin-agent:monitoring:Workbook", name, None, opts)
        self.display_name = display_name(args.project, args.stack)
        table, report_url = args.table, args.report_url
        content = pulumi.Output.from_input(args.outputs).apply(
            lambda resolved: serialized_data(table, resolved, report_url)
        )
        self.workbook = applicationinsights.Workbook(
            f"{name}-workbook",
            resource_name_=workbook_name(args.project, args.stack),
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="shared",
            category=CATEGORY,
            display_name=self.display_name,
            description="Performance targets of checks/targets.yaml against this stack's metrics and logs.",
            serialized_data=content,
            source_id=args.source_id,
            version=NOTEBOOK_VERSION,
            tags=args.tags,
            # The name is fixed per stack: a replacement must delete the old workbook first.
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )
        portal = cloud_for_location(args.location).portal
        shown = self.display_name
        self.url = pulumi.Output.all(args.source_id, self.workbook.id).apply(
            lambda ids: portal_url(portal, ids[0], ids[1], shown)
        )
        self.register_outputs({"id": self.workbook.id, "url": self.url})

    def stack_output(self) -> dict[str, Any]:
        return {"id": self.workbook.id, "name": self.display_name, "url": self.url}
