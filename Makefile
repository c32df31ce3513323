# sote-lake: two commands do all the set-up (README.md).
#   make demo   install the runtime, generate the demo county, run the pipeline through Airflow
#   make test   install the runtime and the development extras, run the test suite
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
# Bytecode caching shortens the start-up of Airflow, dbt and GX; some machines turn it off.
export PYTHONDONTWRITEBYTECODE :=
# Demo scale (override: make demo RESIDENTS=200000 YEARS=2)
RESIDENTS ?= 20000
YEARS ?= 1
SEED ?= 42
FAULTS ?=  # e.g. FAULTS=default: inject the faults of plugins/sotelake/demo/faults.py
# Benchmark scales, residents x years (make bench SCALES=20000x1,200000x1)
SCALES ?= 20000x1,200000x1,650000x1,650000x2
# Stages to profile with pyinstrument (make bench SCALES=200000x1 PROFILE="extract,dbt build")
PROFILE ?=

.PHONY: help install install-dev system-packages demo test test-slow bench lint format airflow lock clean

help:
	@echo "make demo     install the runtime, generate the demo county, run the whole pipeline"
	@echo "make test     install the runtime and the development extras, run the tests"
	@echo "make test-slow  the slow tests: the real Airflow scheduler (CI runs them too)"
	@echo "make bench    time every stage at several scales (data/bench/pipeline.csv)"
	@echo "make airflow  start Airflow (UI on http://localhost:8080) with the DAGs loaded"
	@echo "make lint     ruff check and format check"
	@echo "make lock     re-pin constraints.txt from pyproject.toml"
	@echo "make clean    remove data/ (generated sources, lake, warehouse, reports)"

# The runtime only (pyproject's dependencies): what the demo and Airflow need.
install: $(VENV)/.installed-runtime

# The runtime and the extras of the tests, lint, bench (dev) and the Spark build (spark).
install-dev: $(VENV)/.installed-dev

$(VENV)/.installed-runtime: pyproject.toml constraints.txt
	@echo "installing the runtime into $(VENV) (constraints.txt)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	@$(BIN)/uv pip install --python $(BIN)/python --compile-bytecode --quiet \
		-c constraints.txt -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	$(BIN)/uv pip install --python $(BIN)/python --compile-bytecode --quiet \
		-c constraints.txt -e ".[dev,spark]"
	@touch $@ $(VENV)/.installed-runtime

# Debian packages the tests use: PostgreSQL server binaries for the throwaway clusters
# (support.postgres) and Chromium for the tests that look at the HTML reports.
# Needs root (as on the project's machines and CI). Does nothing when both are present.
system-packages:
	@missing=""; \
	command -v initdb >/dev/null 2>&1 || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing="postgresql"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

demo: install
	@$(BIN)/sotelake demo --residents $(RESIDENTS) --years $(YEARS) --seed $(SEED) \
		$(if $(strip $(FAULTS)),--faults $(FAULTS))

test: install-dev system-packages
	$(BIN)/pytest -m "not slow"

# Seconds, rows/s and peak memory per stage at each scale, and the ratios to DuckDB's floor.
bench: install-dev
	$(BIN)/python bench/pipeline_bench.py --scales $(SCALES) $(if $(PROFILE),--profile "$(PROFILE)")

# Slow tests (the real scheduler): CI runs them after `make test`.
test-slow: install-dev system-packages
	$(BIN)/pytest -m slow

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

airflow: install
	$(BIN)/sotelake airflow standalone

lock:
	test -x $(BIN)/uv || { $(PYTHON) -m venv $(VENV) && $(BIN)/python -m pip install "uv==$(UV_VERSION)"; }
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra spark --python-version 3.11 \
		-o constraints.txt

clean:
	rm -rf data
