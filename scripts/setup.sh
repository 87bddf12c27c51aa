#!/usr/bin/env bash
# Install what a fresh Debian/Ubuntu machine lacks for saltviewer: the system libraries napari
# needs to draw (a virtual display, Mesa OpenGL, Qt's xcb libraries) and the package with all its
# extras. Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
SYSTEM_PACKAGES="xvfb xauth libgl1-mesa-dri libgl1 libegl1 libxkbcommon-x11-0 libxcb-icccm4 libxcb-image0
 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-xinerama0 libxcb-xfixes0 libxcb-shape0
 libxcb-cursor0 libdbus-1-3 libfontconfig1 libglib2.0-0"

missing=""
for pkg in $SYSTEM_PACKAGES; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  echo "setup: installing system packages:$missing"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
fi

# Installed, and installed from this very folder? Checked from / so that the folder itself is not
# what Python finds first.
check='import os, saltviewer, saltviewer.training, saltviewer.plugins, napari, keras, pydensecrf, pytest, pytestqt
print(*(os.path.dirname(m.__file__) for m in (saltviewer, saltviewer.training, saltviewer.plugins)))'
found=$(cd / && $PY -c "$check" 2>/dev/null || true)
if [ "$found" != "$PWD/saltviewer $PWD/training $PWD/plugins" ]; then
  echo "setup: installing saltviewer with all extras (napari, TensorFlow/Keras, dense CRF, test tools)"
  $PY -m pip install -q --disable-pip-version-check -e ".[all]"
fi
echo "setup: ready"
