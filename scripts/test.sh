#!/usr/bin/env bash
# The tests, as the README runs them (after scripts/setup.sh), under a virtual display:
#   1. the whole suite, with napari on a Qt6 binding (PyQt6 unless $QT_API names another);
#   2. the napari tests (tests/plugins) again on PyQt5, when PyQt5 is installed, but for the ones
#      marked slow (the Retrain dock training through TensorFlow in its child process: what they
#      add to the Qt parts other tests cover is the training, which pass 1 has run already).
# Each pass prints its 15 slowest tests (the napari child of pass 1 its own 15).
# With arguments, only pass 1, on those arguments: bash scripts/test.sh tests/core -x
# The Python is the clone's .venv when setup made one, else $PYTHON (default python3).
# Exit status: 0 when every pass passed, else the first failing pass's.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=${PYTHON:-python3}; fi
XVFB=(xvfb-run -a -s "-screen 0 1600x1000x24")
has() { "$PY" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('$1') is None)"; }

QT6=${QT_API:-}
if [ -z "$QT6" ]; then
  if has PyQt6; then QT6=pyqt6; elif has PySide6; then QT6=pyside6; fi
fi
echo "test: pass 1: ${*:-the whole suite}, napari on ${QT6:-the Qt binding qtpy finds}"
env ${QT6:+QT_API=$QT6} "${XVFB[@]}" "$PY" -m pytest -q --durations=15 "$@"
status=$?
if [ $# -eq 0 ] && [ "$QT6" != pyqt5 ]; then
  if has PyQt5; then
    echo "test: pass 2: tests/plugins but the slow ones, napari on pyqt5"
    QT_API=pyqt5 "${XVFB[@]}" "$PY" -m pytest -q --durations=15 -p no:cacheprovider -m "not slow" tests/plugins
    second=$?
    [ "$status" != 0 ] || status=$second
  else
    echo "test: pass 2 skipped: PyQt5 is not installed (bash scripts/setup.sh installs it)"
  fi
fi
exit "$status"
