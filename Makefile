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

# From Debian, each only when its tool is missing (tool:package): promtool, Prometheus and
# Alertmanager (rule tests, end-to-end drill, dashboard queries); podman, runc and debootstrap
# (the container test builds and runs the image); systemd-analyze (unit file check); node and
# npm (CRD schema validators; usually already on the machine, not always from Debian).
SYSTEM_TOOLS := promtool:prometheus prometheus:prometheus \
                prometheus-alertmanager:prometheus-alertmanager amtool:prometheus-alertmanager \
                podman:podman runc:runc debootstrap:debootstrap curl:curl \
                systemd-analyze:systemd node:nodejs npm:npm
system-deps:
	@packages=$$(for pair in $(SYSTEM_TOOLS); do \
	  command -v $${pair%%:*} >/dev/null || echo $${pair#*:}; done | sort -u); \
	if [ -n "$$packages" ]; then \
	  echo "installing Debian packages:" $$packages; \
	  apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    $$packages >/dev/null; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check --output-format concise .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: $(STAMP) system-deps lint
	$(BIN)/pytest
