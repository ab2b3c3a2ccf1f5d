# The two commands of the README. Each sets up everything it needs on a fresh machine.
#   make run    the exporter (the built-in demo when no key is configured), on :10049
#   make test   lint, type-check and the whole test suite, with real Prometheus and Alertmanager
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint system-deps

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/neon-exporter $(ARGS)

# promtool, Prometheus and Alertmanager from Debian, for the rule tests and the end-to-end drill.
system-deps:
	@command -v promtool >/dev/null && command -v prometheus-alertmanager >/dev/null || { \
	  apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    prometheus prometheus-alertmanager >/dev/null; }

lint: $(STAMP)
	$(BIN)/ruff check --output-format concise .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: $(STAMP) system-deps lint
	$(BIN)/pytest
