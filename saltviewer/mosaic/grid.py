"""Mosaics: tiles on integer grids, with lookups from a tile to its place and neighbours, and stitching."""

from collections.abc import Mapping

import numpy as np

from .._errors import SaltviewerError
from .compatibility import KINDS

__all__ = ["Mosaic", "Mosaics", "stitch", "DIRECTIONS"]

DIRECTIONS = ("up", "down", "left", "right")
STEP = {"right": (0, 1), "below": (1, 0)}
OFFSETS = {"up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}


class Mosaic:
    """One mosaic: tiles on an integer grid.

    Attributes
    ----------
    number : int
        Its place in the list of mosaics (0 is the largest).
    ids : tuple of str
        Tile ids, in reading order (row, then col).
    rows, cols : (n,) ndarray of int
        Grid cell of each tile; the top-left cell of the bounding box is (0, 0).
    indices : (n,) ndarray of int or None
        Dataset positions of the tiles, when the mosaics are bound to a dataset.
    shape : (int, int)
        Rows and cols of the bounding box; cells without a tile are missing tiles.
    """

    def __init__(self, number, ids, rows, cols, indices=None):
        order = np.lexsort((np.asarray(cols), np.asarray(rows)))
        self.number = int(number)
        self.ids = tuple(str(ids[i]) for i in order)
        self.rows = np.asarray(rows, dtype=np.int64)[order]
        self.cols = np.asarray(cols, dtype=np.int64)[order]
        self.indices = None if indices is None else np.asarray(indices, dtype=np.int64)[order]
        self.shape = (int(self.rows.max()) + 1, int(self.cols.max()) + 1) if len(self.ids) else (0, 0)
        self._cell = {(int(r), int(c)): tile for tile, r, c in zip(self.ids, self.rows, self.cols)}
        self._where = {tile: (int(r), int(c)) for tile, r, c in zip(self.ids, self.rows, self.cols)}
        self._order = {tile: k for k, tile in enumerate(self.ids)}

    def __len__(self):
        return len(self.ids)

    def __repr__(self):
        return f"<Mosaic {self.number}: {len(self)} tiles on {self.shape[0]}x{self.shape[1]}>"

    def __contains__(self, tile):
        return tile in self._where

    def at(self, row, col):
        """The id of the tile in a cell, or None (outside the mosaic or a missing tile)."""
        return self._cell.get((int(row), int(col)))

    def position(self, tile):
        """(row, col) of a tile id in this mosaic."""
        try:
            return self._where[tile]
        except KeyError:
            raise SaltviewerError(f"tile {tile!r} is not in mosaic {self.number}.") from None

    def grid(self):
        """(rows, cols) ndarray of object: the tile id in each cell, None where missing."""
        grid = np.full(self.shape, None, dtype=object)
        for tile, r, c in zip(self.ids, self.rows, self.cols):
            grid[r, c] = tile
        return grid

    def adjacent(self):
        """Every pair of grid neighbours as ``(kind, a, b)`` tuples of ids, reading order."""
        found = []
        for tile, r, c in zip(self.ids, self.rows, self.cols):
            for kind, (dr, dc) in STEP.items():
                other = self._cell.get((int(r + dr), int(c + dc)))
                if other is not None:
                    found.append((kind, tile, other))
        return found

    def n_labelled(self, labelled):
        """How many tiles have a mask.

        Parameters
        ----------
        labelled : Dataset, (N,) array of bool aligned with the dataset, or callable
            ``labelled(tile_id) -> bool``.
        """
        if callable(labelled):
            return int(sum(bool(labelled(tile)) for tile in self.ids))
        has_mask = getattr(labelled, "has_mask", labelled)
        if self.indices is None:
            raise SaltviewerError("mosaic is not bound to a dataset; load it with a dataset to count labels.")
        return int(np.asarray(has_mask, dtype=bool)[self.indices].sum())

    def to_json(self, labelled=None):
        entry = {"number": self.number, "rows": self.shape[0], "cols": self.shape[1], "size": len(self)}
        if labelled is not None:
            entry["labelled"] = labelled
        entry["tiles"] = [{"id": tile, "row": int(r), "col": int(c)} for tile, r, c in zip(self.ids, self.rows, self.cols)]
        return entry


class Mosaics:
    """The mosaics of a dataset, with fast lookups from a tile to its place and neighbours.

    Attributes
    ----------
    mosaics : list of Mosaic
        Largest first.
    pairs : list of (kind, a, b)
        The kept neighbour pairs, as tile ids.
    conflicts : list of dict
        Pairs set aside during assembly (``kind``, ``a``, ``b``, ``reason``).
    parameters : dict
        The search parameters used.
    dataset : dict
        ``root``, ``key`` and ``tiles`` of the dataset searched.
    mosaic_index, row, col : (N,) ndarray of int
        When bound to a dataset: each tile's mosaic number, row and col (-1 outside
        any mosaic).
    neighbour_index : (N, 4) ndarray of int
        When bound to a dataset: dataset positions of each tile's neighbours in the
        order of `DIRECTIONS` (up, down, left, right); -1 where none.
    """

    def __init__(self, mosaics, pairs=(), conflicts=(), parameters=None, dataset=None):
        self.mosaics = list(mosaics)
        self.pairs = [tuple(p) for p in pairs]
        self.conflicts = list(conflicts)
        self.parameters = dict(parameters or {})
        self.dataset = dict(dataset or {})
        self._place = {}
        for mosaic in self.mosaics:
            for tile, r, c in zip(mosaic.ids, mosaic.rows, mosaic.cols):
                if tile in self._place:
                    raise SaltviewerError(f"tile {tile!r} is in mosaic {self._place[tile][0]} and mosaic "
                                          f"{mosaic.number}; a tile may sit in one place only.")
                self._place[tile] = (mosaic.number, int(r), int(c))
        self.mosaic_index = self.row = self.col = self.neighbour_index = None
        self._ids = None
        if "tiles" in self.dataset and all(m.indices is not None for m in self.mosaics):
            self._bind(int(self.dataset["tiles"]))

    def _bind(self, n):
        self.mosaic_index = np.full(n, -1, dtype=np.int64)
        self.row = np.full(n, -1, dtype=np.int64)
        self.col = np.full(n, -1, dtype=np.int64)
        self.neighbour_index = np.full((n, 4), -1, dtype=np.int64)
        for mosaic in self.mosaics:
            self.mosaic_index[mosaic.indices] = mosaic.number
            self.row[mosaic.indices] = mosaic.rows
            self.col[mosaic.indices] = mosaic.cols
            index_at = {(int(r), int(c)): int(i) for i, r, c in zip(mosaic.indices, mosaic.rows, mosaic.cols)}
            for i, r, c in zip(mosaic.indices, mosaic.rows, mosaic.cols):
                for k, direction in enumerate(DIRECTIONS):
                    dr, dc = OFFSETS[direction]
                    self.neighbour_index[i, k] = index_at.get((int(r + dr), int(c + dc)), -1)

    def __len__(self):
        return len(self.mosaics)

    def __iter__(self):
        return iter(self.mosaics)

    def __getitem__(self, number):
        return self.mosaics[number]

    def __repr__(self):
        return f"<Mosaics: {len(self)} mosaics covering {self.tiles_covered} tiles, {len(self.pairs)} pairs>"

    @property
    def tiles_covered(self):
        return len(self._place)

    def _id(self, tile):
        if isinstance(tile, (int, np.integer)):
            if self._ids is None:
                raise SaltviewerError("mosaics are not bound to a dataset; look tiles up by id, or load with a dataset.")
            return self._ids[int(tile)]
        return tile

    def locate(self, tile):
        """``(mosaic number, row, col)`` of a tile (id or dataset position), or None."""
        return self._place.get(self._id(tile))

    def mosaic_of(self, tile):
        """The `Mosaic` holding a tile, or None."""
        place = self.locate(tile)
        return None if place is None else self.mosaics[place[0]]

    def neighbours(self, tile):
        """A tile's grid neighbours: ``{"up": id or None, "down": ..., "left": ..., "right": ...}``."""
        place = self.locate(tile)
        if place is None:
            return dict.fromkeys(DIRECTIONS)
        mosaic = self.mosaics[place[0]]
        return {direction: mosaic.at(place[1] + dr, place[2] + dc) for direction, (dr, dc) in OFFSETS.items()}

    def summary(self, labelled=None):
        """One dict per mosaic: ``number``, ``rows``, ``cols``, ``size`` and, given
        `labelled` (see `Mosaic.n_labelled`), ``labelled``."""
        rows = []
        for mosaic in self.mosaics:
            row = {"number": mosaic.number, "rows": mosaic.shape[0], "cols": mosaic.shape[1], "size": len(mosaic)}
            if labelled is not None:
                row["labelled"] = mosaic.n_labelled(labelled)
            rows.append(row)
        return rows

    def counts(self):
        return {"pairs": len(self.pairs), **{kind: sum(1 for p in self.pairs if p[0] == kind) for kind in KINDS},
                "mosaics": len(self), "tiles": self.tiles_covered, "conflicts": len(self.conflicts)}


def bound(mosaics, dataset):
    """Attach dataset positions and the id table."""
    if dataset is not None:
        mosaics._ids = dataset.ids
    return mosaics


def getter(tiles, mosaic):
    """A function ``get(k)`` returning the array of the mosaic's k-th tile, or None."""
    if callable(tiles) and not isinstance(tiles, np.ndarray):
        return lambda k: tiles(mosaic.ids[k])
    if isinstance(tiles, Mapping):
        return lambda k: tiles.get(mosaic.ids[k])
    if mosaic.indices is None:
        raise SaltviewerError("stitch: an array of tiles needs a mosaic bound to a dataset (load the mosaics with "
                              "the dataset), or pass a callable tile_id -> array.")
    return lambda k: tiles[mosaic.indices[k]]


def stitch(mosaic, tiles, fill=0, tile_shape=(101, 101), dtype=None):
    """A mosaic as one image (or one mask): its tiles placed on the grid.

    Parameters
    ----------
    mosaic : Mosaic
    tiles : callable, mapping or array
        ``tiles(tile_id) -> (H, W) array or None``, a mapping from id to array, or an
        array of tiles aligned with the dataset (``(N, H, W)``, e.g. a prediction
        memmap). None marks a tile without data (an unlabelled tile's mask).
    fill : scalar
        Value of missing tiles and tiles without data.
    tile_shape : (int, int)
    dtype : dtype, optional
        Default: that of the first tile found (of `fill` if none is).

    Returns
    -------
    stitched : (rows * H, cols * W) ndarray
    """
    height, width = tile_shape
    get = getter(tiles, mosaic)
    arrays = [get(k) for k in range(len(mosaic))]
    if dtype is None:
        first = next((np.asarray(x) for x in arrays if x is not None), None)
        dtype = first.dtype if first is not None else np.asarray(fill).dtype
    out = np.full((mosaic.shape[0] * height, mosaic.shape[1] * width), fill, dtype=dtype)
    for tile, array, r, c in zip(mosaic.ids, arrays, mosaic.rows, mosaic.cols):
        if array is None:
            continue
        array = np.asarray(array)
        if array.shape != (height, width):
            raise SaltviewerError(f"stitch: tile {tile!r} has shape {array.shape}; expected {(height, width)}.")
        out[r * height:(r + 1) * height, c * width:(c + 1) * width] = array
    return out
