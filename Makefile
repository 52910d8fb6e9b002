# Two commands a newcomer types: `make demo` and `make test`. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CRM ?= salesforce
export UV_COMPILE_BYTECODE := 1
export UV_LINK_MODE := copy

.PHONY: demo test lint dev bench clean browser

# The venv is rebuilt only when pyproject.toml changes, so repeated runs are fast.
$(STAMP): pyproject.toml
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	@test -x $(BIN)/python || uv venv --quiet --python $(PYTHON) $(VENV)
	VIRTUAL_ENV=$(VENV) uv pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/writeback demo --crm $(CRM)

# Debian's Chromium and its driver, for the browser test of the Dagster UI (tests/dagster/test_ui.py);
# installed with apt where missing (through sudo unless root).
CHROMIUM := /usr/bin/chromium
CHROMEDRIVER := /usr/bin/chromedriver
browser:
	@test -x $(CHROMIUM) -a -x $(CHROMEDRIVER) || { \
	  command -v apt-get >/dev/null || { echo "install Chromium and chromedriver at $(CHROMIUM) and $(CHROMEDRIVER)"; exit 1; }; \
	  SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
	  $$SUDO apt-get update && $$SUDO env DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y --no-install-recommends chromium chromium-driver; }

# UI_TEST_REQUIRE_BROWSER: here a missing browser fails the UI test instead of skipping it.
test: $(STAMP) browser
	$(BIN)/ruff check .
	UI_TEST_REQUIRE_BROWSER=1 $(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

dev: $(STAMP)
	$(BIN)/writeback dev --crm $(CRM)

bench: $(STAMP)
	$(BIN)/python bench/sync_bench.py

clean:
	rm -rf $(VENV) .data dbt_project/target dbt_project/logs test-artifacts
