#!/usr/bin/env bash
# cmbagent's own environment (.venv-cmbagent): the cmbagent engine's worker runs there
# (config["python"] / $CMBJUPYTER_PYTHON). cmbagent==0.0.1.post30 is the newest release that imports
# on Python 3.11 (newer ones, cmbagent-update, need 3.12+). Takes about 2 minutes; idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
VENV=.venv-cmbagent
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import cmbagent" 2>/dev/null; then
  exit 0
fi
test -x "$VENV/bin/python" || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q "cmbagent==0.0.1.post30"
# The worker itself: cmbjupyter comes from the checkout (PYTHONPATH, set by the local backend).
"$VENV/bin/python" -c "import cmbagent, autogen; print('cmbagent ready in $VENV')"
