#!/usr/bin/env bash
# The newest cmbagent's worker environment: a venv on the CPython 3.13 that install-python313.sh builds
# from Debian's source, with the pinned packages given as arguments (the Makefile's CMBAGENT_PINS, e.g.
# `cmbagent==0.0.1.post63 cmbagent_autogen==... mistralai==1.x`). Cached outside the clone
# ($CMBJUPYTER_CACHE, default ~/.cache/cmbjupyter/envs/<first pin>-py<version>), so a second clone or
# CI run on the same machine reuses it; $LINK (default .venv-cmbagent-313) in the clone points at it.
# Idempotent (a finished env has a stamp naming its pins) and non-interactive; prints the time it took.
set -euo pipefail
START=$SECONDS
cd "$(dirname "$0")/.."
[ "$#" -gt 0 ] || { echo "usage: $0 PIN [PIN...] (e.g. cmbagent==0.0.1.post63)" >&2; exit 2; }
CACHE="${CMBJUPYTER_CACHE:-$HOME/.cache/cmbjupyter}"
LINK="${LINK:-.venv-cmbagent-313}"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

PY="$(bash .ci/install-python313.sh | tail -n1)"
PY_VERSION="$("$PY" -c 'import platform; print(platform.python_version())')"
VENV="$CACHE/envs/${1//==/-}-py$PY_VERSION"
STAMP="$VENV/.cmbjupyter-pins"
# genai-prices, pinned as in pyproject.toml: the worker prices its own LLM calls to enforce the budget
# itself when its host is frozen or gone (cmbjupyter/worker/_guard.py).
GENAI_PRICES="$(grep -o '"genai-prices==[^"]*"' pyproject.toml | tr -d '"')"
# watchfiles, pinned likewise: the worker watches the run's work dir with it (else it scans).
WATCHFILES="$(grep -o '"watchfiles==[^"]*"' pyproject.toml | tr -d '"')"
PINS="$* $GENAI_PRICES $WATCHFILES"

mkdir -p "$CACHE/envs"
exec 8>"$VENV.lock"
flock 8  # two clones setting up the same environment at once: the second waits, then reuses it
if [ "$(cat "$STAMP" 2>/dev/null)" != "$PINS" ]; then
  echo "install-cmbagent-313: installing $PINS into $VENV" >&2
  test -x "$VENV/bin/python" || "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  # shellcheck disable=SC2086  # the pins are words
  "$VENV/bin/python" -m pip install -q $PINS
  echo "$PINS" > "$STAMP"
else
  echo "install-cmbagent-313: $VENV is ready ($PINS)" >&2
fi
# The worker itself: cmbjupyter from this checkout, by a .pth file (the local backend also puts the
# checkout on PYTHONPATH, which wins, so clones sharing the env each run their own cmbjupyter).
SITE="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
pwd > "$SITE/cmbjupyter-checkout.pth"
ln -sfn "$VENV" "$LINK"
"$LINK/bin/python" -c "import cmbagent, autogen, genai_prices, watchfiles, cmbjupyter.worker"
echo "install-cmbagent-313: cmbagent ready in $LINK -> $VENV ($((SECONDS - START)) s)"
