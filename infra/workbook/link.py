"""The workbook's Azure name (a GUID, the same on every run of a stack) and its portal link.

ARM requires a workbook's name to be a GUID (`Microsoft.Insights/workbooks`, API 2023-06-01,
`resourceName`: "The value must be an UUID", pulumi-azure-native `applicationinsights.Workbook`).
A random GUID would replace the workbook on every `pulumi up` that lost state; uuid5 of the
project and stack gives one stable name per stack.

Portal link: the form Microsoft's own quickstart emits as its `workbookUrl` output
(Azure/azure-quickstart-templates `quickstarts/microsoft.costmanagement/optimization-workbook/
main.bicep` @ 55bbbc8): `<portal>/#view/AppInsightsExtension/UsageNotebookBlade/ComponentId/
<source id>/ConfigurationId/<workbook id>/Type/<category>/WorkbookTemplateName/<display name>`,
each part URI-encoded as Bicep's `uriComponent` does. The portal host depends on the cloud
(`checks.clouds`).
"""

from __future__ import annotations

import uuid
from urllib.parse import quote

# Fixed namespace for this project's workbook names (uuid5 needs one; any constant will do).
WORKBOOK_NAMESPACE = uuid.UUID("2f1d7a53-0c1e-4b8e-9a0e-5d3c7f64b2a1")
CATEGORY = "workbook"
# Bicep's uriComponent is JavaScript's encodeURIComponent: these stay unescaped.
_URI_COMPONENT_SAFE = "-_.!~*'()"


def workbook_name(project: str, stack: str) -> str:
    return str(uuid.uuid5(WORKBOOK_NAMESPACE, f"{project}/{stack}/targets-workbook"))


def display_name(project: str, stack: str) -> str:
    return f"{project} targets ({stack})"


def _component(value: str) -> str:
    return quote(value, safe=_URI_COMPONENT_SAFE)


def portal_url(portal: str, source_id: str, workbook_id: str, name: str, category: str = CATEGORY) -> str:
    return (
        f"{portal.rstrip('/')}/#view/AppInsightsExtension/UsageNotebookBlade"
        f"/ComponentId/{_component(source_id)}/ConfigurationId/{_component(workbook_id)}"
        f"/Type/{category}/WorkbookTemplateName/{_component(name)}"
    )
