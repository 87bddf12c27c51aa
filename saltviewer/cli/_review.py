"""Pieces shared by the review verbs (pseudo-label, queue, decide, history, export)."""

import sys


def add_store_arguments(parser, user=True):
    from ._common import add_data_argument, add_workspace_argument

    add_data_argument(parser)
    add_workspace_argument(parser)
    if user:
        parser.add_argument("--user", metavar="NAME", help="name recorded with each change (default: login name)")


def open_review(args, cache=False, create=True):
    """The dataset, workspace and curation store named by the arguments.

    With ``create=False`` a workspace without a store is an error rather than a new, empty store.
    """
    from .._errors import SaltviewerError
    from ..dataset import open_dataset
    from ..store import CurationStore
    from ..workspace import Workspace

    if not create and not (args.workspace / "curation.sqlite").is_file():
        raise SaltviewerError(f"--workspace {args.workspace}: has no curation store yet; "
                              f"run `saltviewer pseudo-label {args.data} --workspace {args.workspace}` first.")
    workspace = Workspace(args.workspace)
    dataset = open_dataset(args.data)
    if cache:
        from ..cache import pack_tiles
        from ._common import tqdm_progress

        progress = tqdm_progress("packing tiles (once)")
        try:
            pack_tiles(dataset, workspace, progress)      # with a progress bar the first time
        finally:
            progress.close()
        dataset.use_cache(workspace)
    store = CurationStore(workspace.store_path, user=getattr(args, "user", None))
    return dataset, workspace, store


def fraction(text):
    """An argparse type: a number in [0, 1]."""
    import argparse

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}")
    return value


def print_lines(lines):
    """Print lines to stdout; a closed pipe (``| head``) ends quietly."""
    try:
        for line in lines:
            print(line)
        sys.stdout.flush()
    except BrokenPipeError:
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
