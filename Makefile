# The two commands of the README. Each sets up everything it needs on a fresh machine.
#   make run    the exporter (the built-in demo when no key is configured), on :10049
#   make test   lint, type-check and the whole test suite, with real Prometheus and Alertmanager
#   make lock   refresh the lock files from pyproject.toml's ranges (then commit them)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# pyproject.toml keeps ranges for people who install the package; the image installs exactly
# LOCK (the package's dependencies), the venv of `make run`/`make test` exactly DEV_LOCK (those
# plus the test extra), each with hashes. tests/unit/test_lock.py fails when either no longer
# satisfies pyproject.toml.
LOCK     := requirements.lock
DEV_LOCK := requirements-dev.lock
# The coverage floor of `make test`: just below the 84% (line and branch, exporter/) measured.
COVERAGE_FLOOR := 83
# Universal (every platform's markers) for the image's and CI's Python.
COMPILE := --universal --python-version 3.11 --generate-hashes --custom-compile-command 'make lock'

.PHONY: run test lint lock system-deps

# The first `make run` or `make test` sets up the venv, which takes about half a minute: one
# line says so, one says when it is done, and nothing else unless something fails. (The
# editable install's build backend prints a warning banner about editable installs in general:
# noise here, so Python warnings are off for that step.)
$(STAMP): pyproject.toml $(DEV_LOCK)
	@echo "setting up $(VENV)/ with the locked packages (first run, or after a dependency change: about 30 s)"
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install --quiet --upgrade pip
	@$(BIN)/pip install --quiet --require-hashes -r $(DEV_LOCK)
	@PYTHONWARNINGS=ignore $(BIN)/pip install --quiet --no-deps -e .
	@touch $(STAMP)
	@echo "$(VENV)/ is ready; the exporter's command is $(BIN)/neon-exporter"

lock: $(STAMP)
	$(BIN)/pip install --quiet 'uv>=0.4'
	$(BIN)/uv pip compile --quiet $(COMPILE) pyproject.toml -o $(LOCK)
	$(BIN)/uv pip compile --quiet $(COMPILE) --extra test pyproject.toml -o $(DEV_LOCK)

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
	$(BIN)/lint-imports  # the layers and no cycles (.importlinter)

# Four workers (pytest-xdist) on two cores: most of the suite's time is waiting (on Prometheus,
# Alertmanager, exporter subprocesses, the container build), not CPU, so two more workers
# overlap the waits (measured: 210 s of pytest with -n 2, 120 s with -n 4, the same CPU). A
# module whose tests share a module-scoped stack is one xdist_group, so --dist loadgroup keeps
# it on one worker. Coverage of the exporter package from the test processes (not the exporter
# subprocesses), with a floor.
test: $(STAMP) system-deps lint
	$(BIN)/pytest -n 4 --dist loadgroup --cov --cov-report=term:skip-covered \
	  --cov-fail-under=$(COVERAGE_FLOOR)
