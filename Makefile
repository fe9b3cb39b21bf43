# Every target bootstraps its own virtual environment (.venv) from the package registries.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
# The generator's ruff post-hooks need the venv's tools on PATH.
export PATH := $(CURDIR)/$(BIN):$(CURDIR)/node_modules/.bin:$(PATH)

GENERATOR := $(BIN)/openapi-python-client generate --path openapi.yaml \
	--config openapi-generator.yaml --meta none --overwrite --fail-on-warning

.PHONY: help venv generate check-generated lint typecheck test pytest demo reliability bench

help:
	@echo "make demo             - run the documented flow against the embedded local stack"
	@echo "make test             - lint, typecheck, check-generated and the full test suite"
	@echo "make reliability      - the fault suite at full size; writes RELIABILITY.md"
	@echo "make bench            - measure against the raw floor; writes BENCHMARKS.md + benchmarks.png"
	@echo "make generate         - regenerate generated/ from openapi.yaml"
	@echo "make check-generated  - fail if generated/ differs from a fresh generation"
	@echo "make lint / typecheck - ruff check + format check / mypy strict on session_client/"

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# Prism (contract tests) comes from the npm registry, pinned by package-lock.json.
NODE_STAMP := node_modules/.installed
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

venv: $(STAMP) $(NODE_STAMP)

generate: $(STAMP)
	$(GENERATOR) --output-path generated/session_api

check-generated: $(STAMP)
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(GENERATOR) --output-path "$$tmp/session_api" >/dev/null && \
	if diff -r "$$tmp/session_api" generated/session_api; then \
		echo "generated/ is up to date with openapi.yaml"; \
	else \
		echo "generated/ differs from openapi.yaml: run 'make generate' (never edit generated/ by hand)"; exit 1; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) $(NODE_STAMP)
	$(PY) -m pytest -q $(PYTEST_ARGS)

test: lint typecheck check-generated pytest


demo: $(STAMP)
	$(PY) scripts/demo.py

reliability: $(STAMP)
	$(PY) scripts/reliability.py

bench: $(STAMP)
	$(PY) scripts/bench.py $(BENCH_ARGS)
