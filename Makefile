# Every target bootstraps its own virtual environment (.venv) from the package registries.
SHELL := /bin/bash
# The newest and the oldest Python that pyproject.toml's classifiers name, as found on this
# machine (pyenv's versions included); python3 where none is.
NEWEST_PYTHON := $(or $(shell python3 scripts/pythons.py --newest),python3)
OLDEST_PYTHON := $(or $(shell python3 scripts/pythons.py --oldest),python3)
PYTHON ?= $(NEWEST_PYTHON)
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
# Named after the Python, so that a venv is checked again when the Python found changes.
STAMP := $(VENV)/.installed-$(notdir $(PYTHON))
# The generator's ruff post-hooks need the venv's tools on PATH.
export PATH := $(CURDIR)/$(BIN):$(CURDIR)/node_modules/.bin:$(PATH)

# The generator runs from its own venv: openapi-python-client pins an httpx older than the one
# users install, which the dev venv tests. Its templates (generator-templates/) make each route
# build a plain request and parse a plain body (README, "Regenerating the client").
GENERATOR_VENV := .venv-generator
GENERATOR_STAMP := $(GENERATOR_VENV)/.installed-0.29.1
GENERATOR := $(GENERATOR_VENV)/bin/openapi-python-client generate --path openapi.yaml \
	--config openapi-generator.yaml --custom-template-path generator-templates --meta none \
	--overwrite --fail-on-warning

.PHONY: help venv generate check-generated lint typecheck test pytest pytest-oldest test-matrix demo \
	reliability bench inbox-screenshot dist docs

help:
	@echo "make demo             - run the documented flow against the embedded local stack"
	@echo "make test             - lint, typecheck, check-generated, docs and the full test suite,"
	@echo "                         on the newest Python with the newest nats-py and httpx, and on the oldest with the oldest"
	@echo "make test-matrix      - the suite on every supported Python x oldest/newest nats-py and httpx"
	@echo "make reliability      - the fault suite at full size; writes RELIABILITY.md"
	@echo "make bench            - measure against hand-written floors; writes BENCHMARKS.md + benchmarks.png"
	@echo "make inbox-screenshot - the README's picture of the dev inbox (inbox.png) from a real run"
	@echo "make dist             - build the sdist and wheel into dist/ and check their metadata"
	@echo "make docs             - build the HTML API reference from the docstrings into site/"
	@echo "make generate         - regenerate generated/ from openapi.yaml"
	@echo "make check-generated  - fail if generated/ differs from a fresh generation"
	@echo "make lint / typecheck - ruff check + format check / mypy strict on session_client/"

# $(call venv,PYTHON,DIR): DIR is a venv of PYTHON (one made by another Python is made again).
define venv
	if [ -x $(2)/bin/python ] && [ "$$($(2)/bin/python -c 'import sys; print(sys.version)')" != \
		"$$($(1) -c 'import sys; print(sys.version)')" ]; then rm -rf $(2); fi
	test -x $(2)/bin/python || $(1) -m venv $(2)
endef

$(STAMP): pyproject.toml
	$(call venv,$(PYTHON),$(VENV))
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --upgrade --upgrade-strategy eager -e '.[dev]'
	touch $@

# The suite runs again on the oldest supported Python with the oldest nats-py, httpx and aiohttp
# (the aiohttp extra, in .[dev]) that pyproject.toml allows, so its lower bounds stay true (the
# NATS seam in session_client/_wait/_nats.py depends on nats-py). `make test-matrix` runs all
# combinations.
OLDEST := .venv-oldest
OLDEST_STAMP := $(OLDEST)/.installed-$(notdir $(OLDEST_PYTHON))
OLDEST_DEPS := tests/oldest-deps.txt
$(OLDEST_STAMP): pyproject.toml $(OLDEST_DEPS)
	$(call venv,$(OLDEST_PYTHON),$(OLDEST))
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

$(GENERATOR_STAMP):
	$(call venv,$(PYTHON),$(GENERATOR_VENV))
	$(GENERATOR_VENV)/bin/python -m pip install --quiet openapi-python-client==0.29.1
	touch $@

generate: $(STAMP) $(GENERATOR_STAMP)
	$(GENERATOR) --output-path generated/session_api

check-generated: $(STAMP) $(GENERATOR_STAMP)
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

pytest: $(STAMP) $(NODE_STAMP) $(CHROMIUM)
	@$(PY) scripts/pythons.py --installed
	$(PY) -m pytest -q $(PYTEST_ARGS)

pytest-oldest: $(OLDEST_STAMP) $(NODE_STAMP) $(CHROMIUM)
	@$(OLDEST)/bin/python scripts/pythons.py --installed
	$(OLDEST)/bin/python -m pytest -q $(PYTEST_ARGS)

test: lint typecheck check-generated docs pytest pytest-oldest

# The API reference (mkdocs-material + mkdocstrings, mkdocs.yml): HTML from the docstrings, with
# warnings as errors (strict), so a broken reference fails `make test`. Open site/index.html.
SITE ?= site
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir $(abspath $(SITE))

# Every supported Python (pyproject's classifiers) x the oldest and the newest dependencies.
test-matrix: $(STAMP) $(NODE_STAMP) $(CHROMIUM)
	$(BIN)/nox --sessions tests $(if $(PYTEST_ARGS),-- $(PYTEST_ARGS))


# The demo runs on what a user installs - the library and its testing extra - in its own venv,
# not on the dev toolchain.
DEMO := .venv-demo
DEMO_STAMP := $(DEMO)/.installed-$(notdir $(PYTHON))
$(DEMO_STAMP): pyproject.toml
	$(call venv,$(PYTHON),$(DEMO))
	$(DEMO)/bin/python -m pip install --quiet -e '.[testing]'
	touch $@

demo: $(DEMO_STAMP)
	$(DEMO)/bin/python scripts/demo.py

# The sdist and the wheel built from it, offline (the build backend is in the dev venv), then
# checked as an index would see them: metadata and README rendering (twine, warnings as errors)
# and the wheel's contents (duplicates, stray top-level names, ...).
DIST ?= dist
dist: $(STAMP)
	rm -f $(DIST)/session_client_lib-*
	$(PY) -m build --no-isolation --outdir $(DIST) .
	$(BIN)/twine check --strict $(DIST)/session_client_lib-*
	$(BIN)/check-wheel-contents $(DIST)/session_client_lib-*.whl

reliability: $(STAMP)
	$(PY) scripts/reliability.py

bench: $(STAMP)
	$(PY) scripts/bench.py $(BENCH_ARGS)

inbox-screenshot: $(STAMP) $(CHROMIUM)
	$(PY) -m scripts.inbox_screenshot
