# One command each: `make plan` sets up and runs the main job; `make test` runs the tests.
VENV ?= .venv
PYTHON ?= python3
STACK ?= dev

.PHONY: setup plan test test-deps lint bench

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

plan: setup
	$(VENV)/bin/fin-infra plan $(STACK)

test-deps:
	sh tests/system-deps.sh

test: setup test-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: setup
	$(VENV)/bin/python tests/benchmarks/plan_speed.py
