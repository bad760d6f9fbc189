# One command each: `make plan` sets up and runs the main job; `make test` runs the tests.
#
# Python dependencies come from uv.lock only (`uv sync --locked`: a stale lock is an error, never
# silently re-resolved), into .venv, the virtualenv Pulumi.yaml names (toolchain uv). Each job
# installs what it uses (docs/ci.md):
#   setup         plan, policy, deploy: the project and its base dependencies
#   setup-checks  fin-infra check/loadtest: + the `checks` extra (Playwright) and Artillery (npm)
#   setup-dev     tests and lint: every extra, and Artillery
# uv is taken from PATH, or installed once from PyPI (pinned) into .cache/uv-tool.
PYTHON ?= python3
STACK ?= dev
NPM ?= npm
UV_VERSION := 0.13.8
UV_TOOL := .cache/uv-tool
UV ?= $(shell command -v uv 2>/dev/null || echo $(UV_TOOL)/bin/uv)
VENV := .venv
SYNC = UV_PROJECT_ENVIRONMENT=$(CURDIR)/$(VENV) $(UV) sync --locked

.PHONY: uv setup setup-checks setup-dev plan test test-deps lint lock lock-check bench

uv:
	@command -v $(UV) >/dev/null 2>&1 || { \
		echo "uv not found: installing uv==$(UV_VERSION) from PyPI into $(UV_TOOL)" >&2; \
		$(PYTHON) -m venv $(UV_TOOL) && $(UV_TOOL)/bin/pip install --quiet uv==$(UV_VERSION); }

# --inexact: a later `make plan` leaves the tools `make test` installed in place.
setup: uv
	$(SYNC) --inexact

setup-checks: uv node_modules/.installed
	$(SYNC) --inexact --extra checks

setup-dev: uv node_modules/.installed
	$(SYNC) --all-extras

# Artillery for `fin-infra loadtest`, pinned in package.json/package-lock.json (needs Node.js
# and npm; without them the load test says how to install it). Playwright's browser download
# is skipped: the load test uses Artillery's HTTP engine only.
node_modules/.installed: package.json package-lock.json
	@if command -v node >/dev/null 2>&1 && command -v $(NPM) >/dev/null 2>&1; then \
		PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(NPM) ci --no-audit --no-fund && touch $@; \
	else \
		echo "node/npm not found: Artillery not installed (fin-infra loadtest needs it)" >&2; \
	fi

plan: setup
	$(VENV)/bin/fin-infra plan $(STACK)

test-deps:
	sh tests/system-deps.sh

test: test-deps setup-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest

lint: setup-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# After editing dependencies in pyproject.toml: re-resolve uv.lock (and commit both).
lock: uv
	$(UV) lock

# Fails when uv.lock no longer matches pyproject.toml (tests/test_toolchain.py runs it too).
lock-check: uv
	$(UV) lock --check

bench: setup-dev
	$(VENV)/bin/python tests/benchmarks/plan_speed.py prod
	$(VENV)/bin/python tests/benchmarks/check_speed.py
