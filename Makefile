# Every target bootstraps its own virtual environment (.venv) from the package registries.
SHELL := /bin/bash
# The newest and the oldest Python that pyproject.toml's classifiers name, as found on this
# machine (pyenv's versions included); python3 where none is.
NEWEST_PYTHON := $(or $(shell python3 scripts/pythons.py --newest 2>/dev/null),python3)
OLDEST_PYTHON := $(or $(shell python3 scripts/pythons.py --oldest 2>/dev/null),python3)
PYTHON ?= $(NEWEST_PYTHON)
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
# The generator's ruff post-hooks need the venv's tools on PATH.
export PATH := $(CURDIR)/$(BIN):$(CURDIR)/node_modules/.bin:$(PATH)

GENERATOR := $(BIN)/openapi-python-client generate --path openapi.yaml \
	--config openapi-generator.yaml --meta none --overwrite --fail-on-warning

.PHONY: help venv generate check-generated lint typecheck test pytest pytest-oldest test-matrix demo \
	reliability bench inbox-screenshot

help:
	@echo "make demo             - run the documented flow against the embedded local stack"
	@echo "make test             - lint, typecheck, check-generated and the full test suite,"
	@echo "                         on the newest Python with the newest nats-py and httpx, and on the oldest with the oldest"
	@echo "make test-matrix      - the suite on every supported Python x oldest/newest nats-py and httpx"
	@echo "make reliability      - the fault suite at full size; writes RELIABILITY.md"
	@echo "make bench            - measure against the raw floor; writes BENCHMARKS.md + benchmarks.png"
	@echo "make inbox-screenshot - the README's picture of the dev inbox (inbox.png) from a real run"
	@echo "make generate         - regenerate generated/ from openapi.yaml"
	@echo "make check-generated  - fail if generated/ differs from a fresh generation"
	@echo "make lint / typecheck - ruff check + format check / mypy strict on session_client/"

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# The suite runs again on the oldest supported Python with the oldest nats-py and httpx that
# pyproject.toml allows, so its lower bounds stay true (the NATS seam in
# session_client/_wait/_nats.py depends on nats-py). `make test-matrix` runs all combinations.
OLDEST := .venv-oldest
OLDEST_STAMP := $(OLDEST)/.installed
OLDEST_DEPS := tests/oldest-deps.txt
$(OLDEST_STAMP): pyproject.toml $(OLDEST_DEPS)
	test -x $(OLDEST)/bin/python || $(OLDEST_PYTHON) -m venv $(OLDEST)
	$(OLDEST)/bin/python -m pip install --quiet --upgrade pip
	$(OLDEST)/bin/python -m pip install --quiet -e '.[dev]' -c $(OLDEST_DEPS)
	touch $@

# Prism (contract tests) comes from the npm registry, pinned by package-lock.json.
NODE_STAMP := node_modules/.installed
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The browser tests drive Debian's chromium through Playwright (the browser extra); Playwright's
# own browser download is never used. Installed once: the target is the binary itself.
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
$(CHROMIUM):
	$(SUDO) apt-get update
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium

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

VERSIONS := import sys, importlib.metadata as m; print("Python", sys.version.split()[0], \
	*(p + " " + m.version(p) for p in ("nats-py", "httpx")))

pytest: $(STAMP) $(NODE_STAMP) $(CHROMIUM)
	@$(PY) -c '$(VERSIONS)'
	$(PY) -m pytest -q $(PYTEST_ARGS)

pytest-oldest: $(OLDEST_STAMP) $(NODE_STAMP) $(CHROMIUM)
	@$(OLDEST)/bin/python -c '$(VERSIONS)'
	$(OLDEST)/bin/python -m pytest -q $(PYTEST_ARGS)

test: lint typecheck check-generated pytest pytest-oldest

# Every supported Python (pyproject's classifiers) x the oldest and the newest dependencies.
test-matrix: $(STAMP) $(NODE_STAMP) $(CHROMIUM)
	$(BIN)/nox --sessions tests $(if $(PYTEST_ARGS),-- $(PYTEST_ARGS))


# The demo runs on what a user installs - the library and its testing extra - in its own venv,
# not on the dev toolchain.
DEMO := .venv-demo
DEMO_STAMP := $(DEMO)/.installed
$(DEMO_STAMP): pyproject.toml
	test -x $(DEMO)/bin/python || $(PYTHON) -m venv $(DEMO)
	$(DEMO)/bin/python -m pip install --quiet -e '.[testing]'
	touch $@

demo: $(DEMO_STAMP)
	$(DEMO)/bin/python scripts/demo.py

reliability: $(STAMP)
	$(PY) scripts/reliability.py

bench: $(STAMP)
	$(PY) scripts/bench.py $(BENCH_ARGS)

inbox-screenshot: $(STAMP) $(CHROMIUM)
	$(PY) -m scripts.inbox_screenshot
