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

.PHONY: setup python-env js labext browser cmbagent cmbagent-313 cmbagent-311 cmbagent-update demo test test-loaded test-fast bench lint format lab clean

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

# cmbagent lives in its own environments, apart from the kernel's; its worker runs there
# (config["python"] / CMBJUPYTER_PYTHON). `make cmbagent` makes both that the tests run against:
# * cmbagent-313 (.venv-cmbagent-313, the default): the newest cmbagent, on a CPython 3.13 built from
#   the source of Debian trixie's python3.13 (it needs Python >= 3.12; .ci/install-python313.sh), in
#   ~/.cache/cmbjupyter/envs/ so clones and CI runs on one machine share it. Pinned, as tested:
#   - cmbagent 0.0.1.post63, CMBAgents' own release: every mode's entry point (ocr, arxiv,
#     enhance-input included) and restart_at_step;
#   - cmbagent_autogen, its AG2 fork: our hooks (IOStream, OpenAIWrapper.create, the agents' reply
#     path) patch its classes, so a new fork release is tested before it is taken;
#   - mistralai 1.12.4: cmbagent imports `Mistral` from the top level, which mistralai 2 moved away.
# * cmbagent-311 (.venv-cmbagent): cmbagent 0.0.1.post30 on the kernel's Python 3.11, the newest release
#   that imports there: the fallback for machines without a 3.12+, still tested.
# * cmbagent-update (.venv-cmbagent-update, not part of setup): MARS's cmbagent-update 0.0.1.post68,
#   supported (the engine's tests run against it when it is there); it uses matplotlib undeclared.
CMBAGENT_PINS ?= cmbagent==0.0.1.post63 cmbagent_autogen==0.0.91.post11 mistralai==1.12.4
CMBAGENT_UPDATE_PINS ?= cmbagent-update==0.0.1.post68 cmbagent_autogen==0.0.91.post11 mistralai==1.12.4 matplotlib==3.11.2
cmbagent: cmbagent-313 cmbagent-311
cmbagent-313:
	bash .ci/install-cmbagent-313.sh $(CMBAGENT_PINS)
cmbagent-update:
	LINK=.venv-cmbagent-update bash .ci/install-cmbagent-313.sh $(CMBAGENT_UPDATE_PINS)
cmbagent-311: $(STAMPS)/cmbagent
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
	rm -rf $(VENV) .venv-cmbagent .venv-cmbagent-313 .venv-cmbagent-update $(STAMPS) .pytest_cache js/node_modules cmbjupyter/static
