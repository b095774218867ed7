# Two commands on a fresh Debian machine (see README.md):
#   make demo   set everything up, then run the demo
#   make test   set everything up, then run every test (what CI runs)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMPS := .make

.PHONY: setup demo test lint format clean

setup: $(STAMPS)/venv

$(STAMPS)/venv: pyproject.toml
	@mkdir -p $(STAMPS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test,dask]"
	@touch $@

lint: setup
	$(BIN)/ruff check cmbjupyter tests benchmarks

format: setup
	$(BIN)/ruff format cmbjupyter tests benchmarks
	$(BIN)/ruff check --fix cmbjupyter tests benchmarks

test: setup lint
	$(BIN)/python -m pytest

demo: setup
	$(BIN)/cmbjupyter run notebooks/demo_task.py --engine python --mode planning-control

clean:
	rm -rf $(VENV) $(STAMPS) .pytest_cache
