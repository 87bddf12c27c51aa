#!/usr/bin/env bash
# Install what saltviewer needs: on Debian/Ubuntu the system libraries napari needs to draw (a
# virtual display, Mesa OpenGL, Qt's xcb libraries), then saltviewer from this clone with its extras
# (pip install -e ".[all,jax,pyqt5,dev]": napari on PyQt6 and on PyQt5, Keras on TensorFlow and on
# JAX, the dense CRF, the test tools). Safe to run again: it does only what is missing.
#
# Which Python: a .venv in this clone when there is one; else $PYTHON (default python3) when it
# takes packages (a virtual environment, conda, pyenv, your own build); else, for a system Python
# that is "externally managed" (PEP 668: current Debian and Ubuntu), a new virtual environment .venv
# in this clone. When saltviewer lands in .venv, a `saltviewer` command is linked into ~/.local/bin
# or /usr/local/bin (the first on PATH that can be written), and scripts/test.sh uses .venv too.
#
#   PYTHON=/usr/bin/python3 bash scripts/setup.sh      # choose the Python
#   SALTVIEWER_EXTRAS=gui,train bash scripts/setup.sh  # other extras ("" for the core alone)
#   SALTVIEWER_VENV_OPTIONS=--system-site-packages     # options for `python -m venv`
#   bash scripts/setup.sh --dry-run                    # say what would be done, do nothing
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-python3}
EXTRAS=${SALTVIEWER_EXTRAS-all,jax,pyqt5,dev}
VENV=$ROOT/.venv
DRY=""
[ "${1:-}" = "--dry-run" ] && DRY=yes

say() { echo "setup: $*"; }
fail() { echo "setup: error: $*" >&2; exit 1; }

command -v "$PY" >/dev/null 2>&1 || fail "no Python at '$PY'; install python3 (3.10 or newer) or set PYTHON"
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
  || fail "$PY is Python $("$PY" -c 'import platform; print(platform.python_version())'); saltviewer needs 3.10 or newer (set PYTHON)"

# pip refuses to install into this Python (PEP 668): a marker beside its standard library, and not
# a virtual environment. PIP_BREAK_SYSTEM_PACKAGES overrides, as it does for pip.
externally_managed() {
  [ -z "${PIP_BREAK_SYSTEM_PACKAGES:-}" ] || return 1
  "$1" -c 'import os, sys, sysconfig
marker = os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")
sys.exit(0 if sys.prefix == sys.base_prefix and os.path.isfile(marker) else 1)'
}

if [ -x "$VENV/bin/python" ]; then
  TARGET=$VENV/bin/python; WHY="the virtual environment in this clone"
elif externally_managed "$PY"; then
  TARGET=""; WHY="$PY is externally managed (PEP 668), so a virtual environment in $VENV"
else
  TARGET=$PY; WHY="it takes packages"
fi

# System packages (Debian/Ubuntu): what napari needs to draw, and venv support when it is missing.
SYSTEM_PACKAGES="xvfb xauth libgl1-mesa-dri libgl1 libegl1 libxkbcommon-x11-0 libxcb-icccm4 libxcb-image0
 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-xinerama0 libxcb-xfixes0 libxcb-shape0
 libxcb-cursor0 libdbus-1-3 libfontconfig1 libglib2.0-0"
if [ -z "$TARGET" ] && ! "$PY" -c 'import ensurepip, venv' >/dev/null 2>&1; then
  SYSTEM_PACKAGES="$SYSTEM_PACKAGES python$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')-venv"
fi
if command -v dpkg >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  missing=""
  for pkg in $SYSTEM_PACKAGES; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
  done
  if [ -n "$missing" ]; then
    if [ -n "$DRY" ]; then
      say "would install system packages:$missing"
    else
      if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
      say "installing system packages:$missing"
      $SUDO apt-get update -q
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
    fi
  fi
else
  say "not a Debian/Ubuntu system: install Xvfb and Mesa OpenGL yourself for napari without a display"
fi

make_venv() {
  say "$1: making a virtual environment in $VENV"
  # shellcheck disable=SC2086
  "$PY" -m venv ${SALTVIEWER_VENV_OPTIONS:-} "$VENV" || { rm -rf "$VENV"; fail "could not make $VENV with $PY"; }
  TARGET=$VENV/bin/python
}

if [ -n "$DRY" ]; then
  say "would install into ${TARGET:-$VENV/bin/python} ($WHY) with extras [${EXTRAS}]"
  exit 0
fi
[ -n "$TARGET" ] || make_venv "$PY is externally managed (PEP 668)"

installed() {   # saltviewer installed from this clone, with every requirement of the extras
  (cd / && "$TARGET" "$ROOT/scripts/_installed.py" "$ROOT" "$EXTRAS")
}

install() {
  local log status=0
  log=$(mktemp)
  PIP_ROOT_USER_ACTION=ignore "$TARGET" -m pip install -q --disable-pip-version-check -e ".${EXTRAS:+[$EXTRAS]}" \
    2>"$log" || status=$?
  if [ "$status" != 0 ] && [ "$TARGET" != "$VENV/bin/python" ] && grep -q "externally-managed-environment" "$log"; then
    rm -f "$log"
    make_venv "pip will not install into $TARGET (externally managed, PEP 668)"
    install
    return
  fi
  cat "$log" >&2
  rm -f "$log"
  [ "$status" = 0 ] || fail "pip could not install saltviewer into $TARGET (exit status $status)"
}

if ! why_not=$(installed); then
  say "installing saltviewer with extras [${EXTRAS}] into $TARGET ($why_not)"
  install
  why_not=$(installed) || fail "installed, yet: $why_not"
fi

# A `saltviewer` command on PATH when it lives in .venv (elsewhere pip put it beside its Python).
link_command() {
  local ours=$VENV/bin/saltviewer found dir
  found=$(command -v saltviewer || true)
  if [ -n "$found" ] && [ "$(readlink -f "$found")" = "$(readlink -f "$ours")" ]; then
    return
  fi
  for dir in "$HOME/.local/bin" /usr/local/bin; do
    case ":$PATH:" in *":$dir:"*) ;; *) continue ;; esac
    mkdir -p "$dir" 2>/dev/null || continue
    [ -w "$dir" ] || continue
    if [ -e "$dir/saltviewer" ] && [ ! -L "$dir/saltviewer" ]; then
      continue                        # someone else's saltviewer: leave it alone
    fi
    ln -sfn "$ours" "$dir/saltviewer"
    say "linked $dir/saltviewer -> $ours"
    break
  done
  hash -r
  found=$(command -v saltviewer || true)
  if [ "$(readlink -f "${found:-/nonexistent}")" != "$(readlink -f "$ours")" ]; then
    say "note: 'saltviewer' on PATH is ${found:-missing}; this clone's is $ours (or: source .venv/bin/activate)"
  fi
}
if [ "$TARGET" = "$VENV/bin/python" ]; then
  link_command
elif ! command -v saltviewer >/dev/null 2>&1; then
  say "note: 'saltviewer' is not on PATH; run it as $TARGET -m saltviewer"
fi
say "ready (python: $TARGET)"
