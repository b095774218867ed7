# Two commands on a fresh Debian machine (README.md):
#   make demo   set everything up, then run the demo
#   make test   set everything up, then run every test (what CI runs: .ci/run)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMPS := .make
JS_SOURCES := $(shell find js/src -type f 2>/dev/null) cmbjupyter/protocol.json js/package.json js/package-lock.json js/build.mjs
PYTEST_ARGS ?=
# What `make test` runs; `make test-loaded` runs the same. TEST_PATHS narrows it (e.g. one file).
TEST_PATHS ?= tests notebooks
PYTEST := CMBJUPYTER_OFFLINE=1 $(BIN)/python -m pytest $(TEST_PATHS) --nbval \
	--nbval-sanitize-with notebooks/sanitize.cfg -p no:cacheprovider $(PYTEST_ARGS)
# CPU-busy processes beside `make test-loaded` (a shared, loaded CI machine).
LOAD ?= 3

.PHONY: setup python-env js labext browser cmbagent demo test test-loaded test-fast bench lint format lab clean

# cmbagent's own environment is part of setup once its install script is in the tree.
setup: python-env labext browser $(if $(wildcard .ci/install-cmbagent.sh),cmbagent)

# The widget bundle: js/ -> cmbjupyter/static/widget.js (wheels ship it prebuilt; users need no node).
js: $(STAMPS)/js
$(STAMPS)/js: $(JS_SOURCES)
	@mkdir -p $(STAMPS)
	cd js && npm ci --no-audit --no-fund && npm run build
	@touch $@

# The main environment: cmbjupyter (editable) with its test and dask extras.
python-env: $(STAMPS)/venv
$(STAMPS)/venv: pyproject.toml $(STAMPS)/js
	@mkdir -p $(STAMPS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test,dask]"
	@touch $@

# The JupyterLab sidebar: js/ -> cmbjupyter/labextension (jupyter-builder, against the pinned
# @jupyterlab/core-meta), linked into the venv's labextensions by `jupyter-builder develop` (wheels
# ship it as shared-data instead).
labext: $(STAMPS)/labext
$(STAMPS)/labext: $(STAMPS)/venv $(JS_SOURCES)
	cd js && PATH="$(CURDIR)/$(BIN):$$PATH" npm run build:lab
	$(BIN)/jupyter-builder develop --overwrite .
	@touch $@

# Debian's Chromium for the real-browser tests.
browser: $(STAMPS)/browser
$(STAMPS)/browser: .ci/install-browser.sh
	@mkdir -p $(STAMPS)
	bash .ci/install-browser.sh
	@touch $@

# cmbagent lives in its own environment (.venv-cmbagent); its worker runs there (CMBJUPYTER_PYTHON).
cmbagent: $(STAMPS)/cmbagent
$(STAMPS)/cmbagent: .ci/install-cmbagent.sh
	@mkdir -p $(STAMPS)
	bash .ci/install-cmbagent.sh
	@touch $@

# Python: ruff, mypy (pyproject.toml [tool.mypy]); JS: prettier, eslint, tsc --checkJs (js/package.json).
lint: python-env js
	$(BIN)/ruff check cmbjupyter tests benchmarks notebooks
	$(BIN)/ruff format --check cmbjupyter tests benchmarks notebooks
	$(BIN)/mypy
	cd js && npm run lint

format: python-env js
	$(BIN)/ruff format cmbjupyter tests benchmarks notebooks
	$(BIN)/ruff check --fix cmbjupyter tests benchmarks notebooks
	cd js && npm run format

# Tests never call a paid LLM: the cmbagent notebook and tests use the scripted server.
test: setup lint
	cd js && npm test
	$(PYTEST)

# The same tests with LOAD busy loops beside them: tests must assert behaviour, not timing. The loops
# are always stopped (trap); the exit code is pytest's.
test-loaded: setup lint
	@pids=""; trap 'kill $$pids 2>/dev/null' EXIT; \
	for i in $$(seq 1 $(LOAD)); do sh -c 'while :; do :; done' & pids="$$pids $$!"; done; \
	echo "$(LOAD) busy loops beside the tests:$$pids"; \
	cd js && npm test && cd .. && $(PYTEST)

test-fast: python-env
	$(BIN)/python -m pytest tests -m "not soak and not browser" -x -q -p no:cacheprovider

# Every benchmark (benchmarks/*.py), one table of figures and targets; exit 1 if one crashed.
# BENCH_ARGS: e.g. --smoke, or the names of some benchmarks.
bench: setup
	$(BIN)/python benchmarks/run_all.py $(BENCH_ARGS)

demo: setup
	$(BIN)/cmbjupyter demo

lab: setup
	cd notebooks && ../$(BIN)/jupyter lab

clean:
	rm -rf $(VENV) .venv-cmbagent $(STAMPS) .pytest_cache js/node_modules cmbjupyter/static
