#!/usr/bin/env bash
# cmbagent's fallback environment (.venv-cmbagent, `make cmbagent-311`): cmbagent==0.0.1.post30, the
# newest release that imports on the kernel's Python 3.11, for machines without a 3.12+ (the default,
# the newest cmbagent on a Python 3.13, is install-cmbagent-313.sh's). The cmbagent engine's worker
# runs there when config["python"] / $CMBJUPYTER_PYTHON points at it. Takes about 2 minutes;
# idempotent and non-interactive (CI=true is fine).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
VENV=.venv-cmbagent
CMBAGENT_SPEC="${CMBAGENT_SPEC:-cmbagent==0.0.1.post30}"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

test -x "$VENV/bin/python" || "$PYTHON" -m venv "$VENV"
# The worker itself: cmbjupyter from this checkout, by a .pth file (the local backend also puts it on
# PYTHONPATH); an editable install would rebuild the widget bundle, which the worker does not need.
SITE="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
pwd > "$SITE/cmbjupyter-checkout.pth"

# genai-prices, pinned as in pyproject.toml: the worker prices its own LLM calls to enforce the budget
# itself when its host is frozen or gone (cmbjupyter/worker/_guard.py).
GENAI_PRICES="$(grep -o '"genai-prices==[^"]*"' pyproject.toml | tr -d '"')"
"$VENV/bin/python" -c "import genai_prices" 2>/dev/null || "$VENV/bin/python" -m pip install -q "$GENAI_PRICES"

# watchfiles, pinned as in pyproject.toml: the worker watches the run's work dir with it (without it,
# the worker falls back to a scan every 0.5 s and says so).
WATCHFILES="$(grep -o '"watchfiles==[^"]*"' pyproject.toml | tr -d '"')"
"$VENV/bin/python" -c "import watchfiles" 2>/dev/null || "$VENV/bin/python" -m pip install -q "$WATCHFILES"

if "$VENV/bin/python" -c "import cmbagent" 2>/dev/null; then
  echo "cmbagent already installed in $VENV"
  exit 0
fi
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q "$CMBAGENT_SPEC"
"$VENV/bin/python" -c "import cmbagent, autogen, genai_prices, watchfiles, cmbjupyter.worker; print('cmbagent ready in $VENV')"
