"""Context windows: a tile with its placed neighbours' pixels around it, mirrored where none is placed.

A model that sees a tile alone sees 101 pixels; the same tile cut out of its stitched mosaic with
a margin shows where the layers and the salt flanks come from. `context_windows` cuts those
windows for many tiles at once: the tile in the middle, the pixels of its eight neighbours
(sides and corners) where the mosaic places one, and the tile mirrored outwards (as
``numpy.pad(mode="reflect")``) where it places none, so a tile outside every mosaic gets
exactly the mirror padding a model without context would see.
"""

import numpy as np

from .._errors import SaltviewerError

__all__ = ["context_windows"]

TILE = 101
_AROUND = [(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if (dr, dc) != (0, 0)]


def context_windows(mosaics, images, indices, margin):
    """Windows of ``101 + 2 * margin`` pixels centred on tiles, filled from their neighbours.

    Parameters
    ----------
    mosaics : Mosaics
        Bound to the dataset that `images` and `indices` refer to (``load_mosaics``).
    images : (N, 101, 101) ndarray, or callable ``position -> (101, 101) ndarray``
        The dataset's tiles (e.g. ``dataset.images()`` or ``dataset.image``).
    indices : sequence of int
        Dataset positions of the tiles to cut windows for.
    margin : int
        Pixels of context on each side, 0 to 101.

    Returns
    -------
    windows : (len(indices), 101 + 2 margin, 101 + 2 margin) ndarray
        Of the tiles' dtype.
    placed : (len(indices), 8) ndarray of bool
        Which neighbours (row by row: up-left, up, up-right, left, right, down-left, down,
        down-right) gave pixels; all False for a tile outside every mosaic.

    Examples
    --------
    >>> import numpy as np
    >>> from saltviewer.mosaic import Mosaic, Mosaics
    >>> tiles = np.stack([np.full((101, 101), 10, np.uint8), np.full((101, 101), 20, np.uint8)])
    >>> mosaics = Mosaics([Mosaic(0, ["a", "b"], [0, 0], [0, 1], indices=[0, 1])], dataset={"tiles": 2})
    >>> windows, placed = context_windows(mosaics, tiles, [0], margin=5)
    >>> windows.shape, int(windows[0, 50, -1]), int(windows[0, 50, 0]), int(placed[0].sum())
    ((1, 111, 111), 20, 10, 1)
    """
    if not (isinstance(margin, (int, np.integer)) and 0 <= margin <= TILE):
        raise SaltviewerError(f"margin must be an integer from 0 to {TILE} (pixels), got {margin!r}.")
    if getattr(mosaics, "neighbour_index", None) is None:
        raise SaltviewerError("context_windows: the mosaics are not bound to a dataset; load them with it "
                              "(saltviewer.mosaic.load_mosaics(workspace, dataset)).")
    get = images if callable(images) and not isinstance(images, np.ndarray) else (lambda i: images[i])
    indices = np.asarray(indices, dtype=np.int64)
    first = np.asarray(get(int(indices[0]))) if len(indices) else np.zeros((TILE, TILE), np.uint8)
    size = TILE + 2 * margin
    windows = np.empty((len(indices), size, size), dtype=first.dtype)
    placed = np.zeros((len(indices), len(_AROUND)), dtype=bool)
    cell_of = {}
    for mosaic in mosaics:
        for index, r, c in zip(mosaic.indices, mosaic.rows, mosaic.cols):
            cell_of[int(index)] = (mosaic, int(r), int(c))
    for k, index in enumerate(indices):
        tile = np.asarray(get(int(index)))
        if tile.shape != (TILE, TILE):
            raise SaltviewerError(f"context_windows: tile {int(index)} has shape {tile.shape}; tiles are "
                                  f"{TILE}x{TILE}.")
        windows[k] = np.pad(tile, margin, mode="reflect") if margin else tile
        if margin == 0 or int(index) not in cell_of:
            continue
        mosaic, r, c = cell_of[int(index)]
        for n, (dr, dc) in enumerate(_AROUND):
            other = mosaic.at(r + dr, c + dc)
            if other is None:
                continue
            neighbour = np.asarray(get(int(mosaic.indices[mosaic._order[other]])))
            rows = slice(TILE - margin, TILE) if dr < 0 else (slice(0, TILE) if dr == 0 else slice(0, margin))
            cols = slice(TILE - margin, TILE) if dc < 0 else (slice(0, TILE) if dc == 0 else slice(0, margin))
            top = 0 if dr < 0 else (margin if dr == 0 else margin + TILE)
            left = 0 if dc < 0 else (margin if dc == 0 else margin + TILE)
            block = neighbour[rows, cols]
            windows[k, top:top + block.shape[0], left:left + block.shape[1]] = block
            placed[k, n] = True
    return windows, placed
