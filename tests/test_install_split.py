"""Install only what a job uses: plan, policy and deploy run without Playwright (or Artillery).

The `checks` extra holds Playwright; the plan/policy/deploy code must not import it at import
time, and the page-load probe says which extra to install when it is missing. (The slow test in
`tests/test_toolchain.py` runs `fin-infra plan` in a virtualenv without the extra; the workflow
tests check that only the checks job installs it.)
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from checks.probes.pageload import PageLoadError, load_pages

ENTRY_MODULES = [
    "infra.cli",
    "infra.program",
    "infra.plan.command.cli",
    "infra.policy.cli",
    "infra.policy.crossguard",
    "infra.deploy.cli",
    "checks.cli",
    "checks.loadtest.cli",
]


def test_no_entry_point_imports_playwright_at_import_time() -> None:
    probe = (
        "import importlib, sys\n"
        f"for name in {ENTRY_MODULES!r}: importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'playwright'))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_page_load_probe_names_the_extra_when_playwright_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "playwright", None)  # import playwright... raises ImportError
    monkeypatch.setitem(sys.modules, "playwright.sync_api", None)
    with pytest.raises(PageLoadError, match=r"`checks` extra: `make setup-checks`"):
        load_pages("http://127.0.0.1:9/", loads=1, timeout_seconds=1)
