"""Context inputs: each tile in a window with its mosaic neighbours' pixels around it.

A model trained with ``TrainingRecipe(context=True)`` (``saltviewer train --context``) is the
ordinary U-Net of `build_unet` with ``context=True``: it takes a window of
``101 + 2 * context_margin(input_size)`` pixels (14 a side for the 128-pixel encoders) cut from
the tile's stitched mosaic by `saltviewer.mosaic.context_windows`, where a model without
context mirrors the tile out to the same size. A tile outside every mosaic, or a side with no
placed neighbour, is mirrored exactly as before, so the two models differ only in what fills
the margin where the mosaics know a neighbour.

The mosaics are the workspace's (``saltviewer mosaic DATA --workspace WS``); training and
prediction assemble and store them there first when the dataset has none yet.
"""

import numpy as np

from .._errors import SaltviewerError

__all__ = ["context_inputs", "workspace_mosaics", "card_context"]


def workspace_mosaics(workspace, dataset, emit=None):
    """The dataset's mosaics stored in the workspace, bound to it; assembled and stored first if none.

    Parameters
    ----------
    workspace : Workspace
    dataset : Dataset
    emit : callable, optional
        Told (with a ``phase`` `ProgressEvent`) when the mosaics have to be assembled.

    Returns
    -------
    mosaics : saltviewer.mosaic.Mosaics
    """
    from ..mosaic import build_mosaics, load_mosaics, mosaics_folder, write_mosaics

    folder = mosaics_folder(workspace, dataset)
    if not (folder / "mosaics.json").is_file():
        if emit is not None:
            from .callbacks import ProgressEvent

            emit(ProgressEvent("phase", message="assembling mosaics for context"))
        mosaics = build_mosaics(dataset, images=dataset.images())
        write_mosaics(mosaics, folder, labelled=dataset)
    return load_mosaics(workspace, dataset)


def context_inputs(dataset, indices, mosaics, margin):
    """Model inputs of a context model: ``(n, W, W, 1)`` uint8 windows, ``W = 101 + 2 margin``.

    Parameters
    ----------
    dataset : Dataset
        The tiles; `mosaics` must be bound to it.
    indices : sequence of int
        Dataset positions of the tiles.
    mosaics : Mosaics
    margin : int
        `saltviewer.training.models.context_margin` of the model's input size.

    Returns
    -------
    x : (n, W, W, 1) ndarray of uint8
        As `as_inputs` makes tiles (scaled to [0, 1] per batch).
    """
    from ..mosaic import context_windows

    if getattr(mosaics, "neighbour_index", None) is None or len(mosaics.neighbour_index) != len(dataset):
        raise SaltviewerError(f"context: the mosaics are not those of {dataset.root} ({len(dataset)} tiles); "
                              f"run `saltviewer mosaic {dataset.root} --workspace WS` again.")
    windows, _ = context_windows(mosaics, dataset.image, np.asarray(indices, dtype=np.int64), int(margin))
    return windows[..., None]


def card_context(card):
    """The context margin a version's models expect (0: plain tiles), from its card."""
    context = (card or {}).get("context")
    if not context:
        return 0
    margin = context.get("margin") if isinstance(context, dict) else None
    if not isinstance(margin, int) or margin < 1:
        raise SaltviewerError(f"model card: context {context!r} has no valid margin (a positive number of pixels).")
    return margin
