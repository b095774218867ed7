#!/usr/bin/env bash
# Debian's Chromium for the real-browser tests (playwright drives /usr/bin/chromium; it never
# downloads a browser of its own). Idempotent; needs root or passwordless sudo on a fresh machine.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo -n"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core
/usr/bin/chromium --version
