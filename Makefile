# One command each: `make plan` sets up and runs the main job; `make test` runs the tests.
VENV ?= .venv
PYTHON ?= python3
STACK ?= dev
NPM ?= npm

.PHONY: setup plan test test-deps lint bench

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

# Artillery for `fin-infra loadtest`, pinned in package.json/package-lock.json (needs Node.js
# and npm; without them the load test says how to install it). Playwright's browser download
# is skipped: the load test uses Artillery's HTTP engine only.
node_modules/.installed: package.json package-lock.json
	@if command -v node >/dev/null 2>&1 && command -v $(NPM) >/dev/null 2>&1; then \
		PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(NPM) ci --no-audit --no-fund && touch $@; \
	else \
		echo "node/npm not found: Artillery not installed (fin-infra loadtest needs it)" >&2; \
	fi

setup: $(VENV)/.installed node_modules/.installed

plan: setup
	$(VENV)/bin/fin-infra plan $(STACK)

test-deps:
	sh tests/system-deps.sh

test: test-deps setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: setup
	$(VENV)/bin/python tests/benchmarks/plan_speed.py prod
	$(VENV)/bin/python tests/benchmarks/check_speed.py
