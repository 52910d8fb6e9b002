# Two commands a newcomer types: `make demo` and `make test`. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Two stamps: the demo needs the product only (DuckDB); tests and lint add the dev tools and the
# Snowflake extra (fakesnow). Each is rebuilt when pyproject.toml or uv.lock changes.
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
CRM ?= salesforce
# uv from PATH, else the one pip installs beside $(PYTHON) (pyenv and --user installs are often off PATH).
UV ?= $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
export UV_COMPILE_BYTECODE := 1
export UV_LINK_MODE := copy
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: demo test lint dev bench load-raw clean uv browser

uv:
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv

# Exactly what uv.lock pins (--locked: fail, naming `uv lock`, when pyproject.toml changed and the lock did not follow).
# --inexact keeps dev tools a previous `make test` installed, so demo and test do not undo each other.
$(STAMP): pyproject.toml uv.lock | uv
	$(UV) sync --quiet --locked --inexact --python $(PYTHON)
	@touch $(STAMP)

$(DEV_STAMP): pyproject.toml uv.lock | uv
	$(UV) sync --quiet --locked --extra dev --python $(PYTHON)
	@touch $(DEV_STAMP) $(STAMP)

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
test: $(DEV_STAMP) browser
	$(BIN)/ruff check .
	UI_TEST_REQUIRE_BROWSER=1 $(BIN)/pytest -q -n 2 --dist loadfile

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

dev: $(STAMP)
	$(BIN)/writeback dev --crm $(CRM)

bench: $(STAMP)
	$(BIN)/python bench/sync_bench.py

# Generated raw data of any size into the demo warehouse (schema `landing`), for dbt to build on:
# `make load-raw PERSONS=100000`, then `WRITEBACK_RAW_SCHEMA=landing make demo` (docs/warehouse.md).
PERSONS ?= 10000
RAW_DIR ?= bench/out/raw
load-raw: $(STAMP)
	$(BIN)/python bench/generate.py --persons $(PERSONS) --out $(RAW_DIR)
	$(BIN)/python bench/load_raw.py $(RAW_DIR)

clean:
	rm -rf $(VENV) .data dbt_project/target dbt_project/logs test-artifacts
