"""The Pulumi program for the Fin Agent platform on Azure, its offline plan and its CLI.

Pulumi runs `infra/` (see Pulumi.yaml); `infra/__main__.py` only hands over to
`infra.program`. The project is installed (editable) into `.venv`, so `infra` and `checks`
import as packages even though Pulumi puts only this folder on `sys.path`.
"""
