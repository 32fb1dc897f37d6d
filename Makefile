# The README's commands. `make run` starts the app; `make test` runs the linters, then every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BUN_VERSION := 1.4.4
STAMP := $(VENV)/.installed
TOOLS := .tools/node_modules/.bin/bun

.PHONY: install run test test-unit test-integration test-e2e bench lint services browser clean

install: $(STAMP) $(TOOLS)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

# Reflex needs bun (its own installer downloads it, which cannot work offline): take it from npm.
$(TOOLS):
	mkdir -p .tools
	cd .tools && npm install --silent --no-audit --no-fund --prefix . bun@$(BUN_VERSION)

run: install
	$(PY) -m mautic_app.launcher --demo

# Debian's chromium for the end-to-end tests (Playwright cannot download its own browser here).
browser:
	@test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

services:
	@bash scripts/services.sh

test: lint browser services
	$(PY) -m pytest tests/unit tests/integration tests/e2e -q

test-unit: install
	$(PY) -m pytest tests/unit -q

test-integration: install services
	$(PY) -m pytest tests/integration -q

test-e2e: install browser
	$(PY) -m pytest tests/e2e -q

# Debian's wrk drives the tracking benchmark from another process.
bench: install services
	@command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null)
	$(PY) -m bench

# ruff, then mypy (its settings and the modules not yet strict are in pyproject.toml)
lint: install
	$(VENV)/bin/ruff check mautic_app tests bench
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) .tools .web .states .mypy_cache
