# sote-lake: two commands do all the set-up (README.md).
#   make demo   install, generate the demo county, run the pipeline through Airflow
#   make test   install, run the test suite
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
# Bytecode caching roughly halves the start-up of Airflow, dbt and GX; some machines turn it off.
export PYTHONDONTWRITEBYTECODE :=
# Demo scale (override: make demo RESIDENTS=200000 YEARS=2)
RESIDENTS ?= 20000
YEARS ?= 1
SEED ?= 42

.PHONY: help install demo test test-fast lint format airflow lock clean

help:
	@echo "make demo     install, generate the demo county and run the whole pipeline"
	@echo "make test     install and run the tests"
	@echo "make airflow  start Airflow (UI on http://localhost:8080) with the DAGs loaded"
	@echo "make lint     ruff check and format check"
	@echo "make lock     re-pin constraints.txt from pyproject.toml"
	@echo "make clean    remove data/ (generated sources, lake, warehouse, reports)"

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	$(BIN)/uv pip install --python $(BIN)/python --compile-bytecode --quiet \
		-c constraints.txt -e ".[dev]"
	@touch $@

demo: install
	$(BIN)/sotelake demo --residents $(RESIDENTS) --years $(YEARS) --seed $(SEED)

test: install
	$(BIN)/pytest

test-fast: install
	$(BIN)/pytest -m "not slow"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

airflow: install
	$(BIN)/sotelake airflow-standalone

lock:
	test -x $(BIN)/uv || { $(PYTHON) -m venv $(VENV) && $(BIN)/python -m pip install "uv==$(UV_VERSION)"; }
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 -o constraints.txt

clean:
	rm -rf data
