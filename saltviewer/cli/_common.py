"""Pieces shared by the verbs: logging, progress bars, common arguments, error kinds.

Output of a verb, the pattern to follow::

    from ._common import log

    def run(args):
        ...
        log.info("trained fold %d of %d in %.0f s", fold, folds, seconds)   # diagnostics: stderr
        log.warning("%s: no depths.csv; depths are unknown", args.data)      # shown even with -q
        print(f"version: {version}")                                          # the result: stdout
        return 0

``log.info`` lines are hidden by ``-q``, ``log.debug`` lines shown by ``-v``; a verb raises
`SaltviewerError` (exit 1, one line) for bad input or `UsageError` (exit 2) for options that
do not go together. Progress bars from `progress_bar` / `tqdm_progress` hide themselves with ``-q``.
"""

import logging
import sys
from pathlib import Path

from .._errors import SaltviewerError

#: The logger of the command line; a verb logs its diagnostics here (or to a child of it).
log = logging.getLogger("saltviewer.cli")


class UsageError(SaltviewerError):
    """Options that do not go together: ``saltviewer VERB: error: ...`` and exit status 2, like argparse."""


class _StderrHandler(logging.StreamHandler):
    """A handler that writes to whatever ``sys.stderr`` is when a record comes (pytest swaps it)."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


class _Format(logging.Formatter):
    def format(self, record):
        text = super().format(record)
        if record.levelno >= logging.WARNING:
            text = f"{record.levelname.lower()}: {text}"
        return text


def configure_logging(verbosity=0):
    """Send the ``saltviewer`` loggers to stderr: warnings and up (-q), info (default), debug (-v).

    Parameters
    ----------
    verbosity : int
        ``--verbose`` count minus ``--quiet`` count.

    Returns
    -------
    level : int
        The level set on the ``saltviewer`` logger.
    """
    level = logging.DEBUG if verbosity > 0 else logging.INFO if verbosity == 0 else logging.WARNING
    root = logging.getLogger("saltviewer")
    for handler in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(handler)
    handler = _StderrHandler()
    handler.setFormatter(_Format("%(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False
    return level


def quiet():
    """Whether ``-q`` was given (progress bars and info lines stay hidden)."""
    return logging.getLogger("saltviewer").getEffectiveLevel() > logging.INFO


#: What to install when a module of an extra is missing: top-level module -> (what, extra).
EXTRAS = {
    "tensorflow": ("TensorFlow and Keras", "train"),
    "keras": ("TensorFlow and Keras", "train"),
    "sklearn": ("scikit-learn", "train"),
    "jax": ("JAX", "jax"),
    "jaxlib": ("JAX", "jax"),
    "napari": ("napari and Qt", "gui"),
    "magicgui": ("napari and Qt", "gui"),
    "npe2": ("napari and Qt", "gui"),
    "qtpy": ("napari and Qt", "gui"),
    "superqt": ("napari and Qt", "gui"),
    "vispy": ("napari and Qt", "gui"),
    "PyQt6": ("napari and Qt", "gui"),
    "PyQt5": ("napari and Qt", "gui"),
    "PySide6": ("napari and Qt", "gui"),
    "segyio": ("segyio and Dask", "seismic"),
    "dask": ("segyio and Dask", "seismic"),
    "distributed": ("segyio and Dask", "seismic"),
    "zarr": ("segyio and Dask", "seismic"),
    "PySide2": ("napari and Qt", "gui"),
    "pydensecrf": ("the dense CRF (pydensecrf2)", "crf"),
    "segyio": ("segyio and Dask", "seismic"),
    "dask": ("segyio and Dask", "seismic"),
}


def missing_extra(error):
    """One line naming the extra to install for an `ImportError`, or None when it is not an extra's.

    >>> missing_extra(ModuleNotFoundError("No module named 'keras'", name="keras"))[:31]
    'needs TensorFlow and Keras (No '
    """
    name = getattr(error, "name", None) or ""
    top = name.split(".")[0]
    if top not in EXTRAS and "Qt binding" in str(error):
        top = "qtpy"                                # qtpy found no binding at all
    if top not in EXTRAS:
        return None
    what, extra = EXTRAS[top]
    alternative = " (or 'saltviewer[jax]' to train on JAX)" if extra == "train" else ""
    return (f"needs {what} ({error}); install them with: pip install 'saltviewer[{extra}]'{alternative}, "
            f"or from a clone: pip install -e '.[{extra}]'")


def progress_bar(description, total=None):
    """A tqdm bar on stderr; hidden with ``-q`` and when stderr is not a terminal."""
    from tqdm import tqdm

    return tqdm(total=total, desc=description, unit="tile", file=sys.stderr, leave=False,
                dynamic_ncols=True, mininterval=0.5, disable=True if quiet() else None)


def tqdm_progress(description):
    """A ``progress(done, total)`` callable that drives a tqdm bar; close with ``.close()``."""
    state = {"bar": None, "done": 0}

    def progress(done, total):
        if state["bar"] is None:
            state["bar"] = progress_bar(description, total)
        state["bar"].update(done - state["done"])
        state["done"] = done

    def close():
        if state["bar"] is not None:
            state["bar"].close()

    progress.close = close
    return progress


def add_data_argument(parser, help="data folder in the competition layout"):
    parser.add_argument("data", type=Path, metavar="DATA", help=help)


def add_workspace_argument(parser, required=True):
    parser.add_argument("--workspace", "-w", type=Path, required=required, metavar="WS",
                        help="workspace folder for models, predictions, caches and the curation store")


def choose_keras_backend(environ=None):
    """Let Keras run on JAX when TensorFlow is not installed but JAX is (the ``jax`` extra alone).

    Keras takes ``$KERAS_BACKEND``, else the backend in ``~/.keras/keras.json`` (written on its
    first import), else TensorFlow. When that comes to TensorFlow without ``$KERAS_BACKEND``, and
    TensorFlow is missing while JAX is installed, ``$KERAS_BACKEND`` becomes ``jax``. Imports nothing.

    Returns
    -------
    backend : str or None
        The backend set here, or None when this left the choice to Keras.
    """
    import importlib.util
    import json
    import os

    environ = os.environ if environ is None else environ
    if environ.get("KERAS_BACKEND"):
        return None
    config = Path(environ.get("KERAS_HOME") or Path.home() / ".keras") / "keras.json"
    try:
        configured = json.loads(config.read_text()).get("backend") or "tensorflow"
    except (OSError, ValueError, AttributeError):
        configured = "tensorflow"
    if (configured == "tensorflow" and importlib.util.find_spec("tensorflow") is None
            and importlib.util.find_spec("jax") is not None):
        environ["KERAS_BACKEND"] = "jax"
        return "jax"
    return None
