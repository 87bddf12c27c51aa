"""Pieces shared by the verbs."""

import sys
from pathlib import Path


def progress_bar(description, total=None):
    """A tqdm bar on stderr that hides itself when stderr is not a terminal and CI is set."""
    from tqdm import tqdm

    return tqdm(total=total, desc=description, unit="tile", file=sys.stderr, leave=False,
                dynamic_ncols=True, mininterval=0.5, disable=None)


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
