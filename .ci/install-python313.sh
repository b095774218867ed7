#!/usr/bin/env bash
# A CPython 3.13 for cmbagent's worker environment, built from the source of Debian trixie's python3.13
# package: the newest cmbagent needs Python >= 3.12, which no registry reachable here ships as a binary,
# but Debian's registry serves the source. Cached outside the clone, keyed by version
# ($CMBJUPYTER_CACHE, default ~/.cache/cmbjupyter/python-<version>), so a second clone or CI run on the
# same machine reuses it. Idempotent and non-interactive; prints the path of the interpreter on its last
# line and the time it took.
#
# The machine's own apt configuration is untouched: a private source list (one deb-src line for trixie's
# main component, on the mirror the machine's apt sources already use, signed by the Debian archive
# keyring that is already installed) and private state/cache directories under the cache.
set -euo pipefail
START=$SECONDS
CACHE="${CMBJUPYTER_CACHE:-$HOME/.cache/cmbjupyter}"
SUITE="${CMBJUPYTER_PY313_SUITE:-trixie}"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
APT_DIR="$CACHE/apt-$SUITE"
export DEBIAN_FRONTEND=noninteractive
mkdir -p "$CACHE"
exec 9>"$CACHE/.python313.lock"
flock 9  # two clones setting up at once: the second waits, then reuses the first's build

# The build-deps are Debian packages: install those a fresh machine lacks (root, or passwordless sudo).
BUILD_DEPS=(build-essential xz-utils libssl-dev zlib1g-dev libffi-dev libbz2-dev liblzma-dev
  libsqlite3-dev libreadline-dev uuid-dev)
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo -n"

mirror() {
  # The first Debian mirror of the machine's own apt sources (deb822 or one-line format).
  local uri
  uri="$(grep -h -E '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null \
    | awk '{print $2}' | grep -E '/debian/?$' | head -n1 || true)"
  if [ -z "$uri" ]; then
    uri="$(grep -h -E '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
      | awk '{print $2}' | grep -E '/debian/?$' | head -n1 || true)"
  fi
  [ -n "$uri" ] || { echo "install-python313: no Debian mirror in the machine's apt sources" >&2; exit 1; }
  echo "$uri"
}

private_apt() {  # private_apt apt-get|apt-cache ARGS...
  local tool="$1"
  shift
  "$tool" -q -o Dir::Etc::sourcelist="$APT_DIR/sources.list" -o Dir::Etc::sourceparts=- \
    -o Dir::State::Lists="$APT_DIR/lists" -o Dir::Cache="$APT_DIR/cache" \
    -o APT::Sandbox::User=root "$@"
}

# Which 3.13 does the suite ship? The newest check needs the source index, so it is read once a day.
mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial"
echo "deb-src [signed-by=$KEYRING] $(mirror) $SUITE main" > "$APT_DIR/sources.list"
if [ -z "$(find "$APT_DIR/lists" -maxdepth 1 -name '*Sources*' -mmin -1440 2>/dev/null)" ]; then
  private_apt apt-get update >/dev/null
fi
VERSION="$(private_apt apt-cache showsrc python3.13 2>/dev/null | awk '/^Version:/ && !v {v = $2} END {print v}')"
[ -n "$VERSION" ] || { echo "install-python313: python3.13 not found in $SUITE's sources" >&2; exit 1; }
UPSTREAM="${VERSION%%-*}"
PREFIX="$CACHE/python-$UPSTREAM"
PY="$PREFIX/bin/python3.13"

if "$PY" -c 'import ssl, sqlite3, lzma, bz2, ctypes, readline, uuid, zlib' 2>/dev/null; then
  echo "python $UPSTREAM already built in $PREFIX" >&2
  echo "$PY"
  exit 0
fi

missing=()
for pkg in "${BUILD_DEPS[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-python313: installing build-deps: ${missing[*]}" >&2
  $SUDO apt-get -q update >/dev/null
  $SUDO apt-get -q install -y --no-install-recommends "${missing[@]}" >/dev/null
fi

BUILD="$CACHE/build-python-$UPSTREAM"
rm -rf "$BUILD" && mkdir -p "$BUILD"
(cd "$BUILD" && private_apt apt-get source --download-only "python3.13=$VERSION" >/dev/null)
tar -C "$BUILD" -xf "$BUILD/python3.13_$UPSTREAM.orig.tar.xz"
SRC="$(find "$BUILD" -maxdepth 1 -type d -name 'Python-*' | head -n1)"
echo "install-python313: building Python $UPSTREAM (Debian $VERSION) into $PREFIX" >&2
(
  cd "$SRC"
  ./configure -q --prefix="$PREFIX" --with-ensurepip=install >"$BUILD/configure.log" 2>&1
  make -s -j"$(nproc)" >"$BUILD/make.log" 2>&1
  make -s install >"$BUILD/install.log" 2>&1
) || { echo "install-python313: build failed, logs in $BUILD" >&2; exit 1; }
"$PY" -c 'import ssl, sqlite3, lzma, bz2, ctypes, readline, uuid, zlib' \
  || { echo "install-python313: $PY lacks a standard module, logs in $BUILD" >&2; exit 1; }
rm -rf "$BUILD"
echo "install-python313: Python $UPSTREAM built in $((SECONDS - START)) s" >&2
echo "$PY"
