"""Where the repository's data lives (the project is installed editable, so paths are stable)."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = REPO_ROOT / "templates"
STACKS_DIR = REPO_ROOT / "stacks"
