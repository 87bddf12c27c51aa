"""Assemble neighbour pairs into mosaics, stitch them, and check masks across tile edges.

A mosaic is a connected set of at least two tiles on an integer grid (row, col). Pairs
from `saltviewer.neighbours.find_neighbours` are placed most trustworthy first (smallest
boundary cost relative to the tiles' insides); a pair that would put a tile in a second
place or two tiles in one cell is a conflict and is set aside, so every tile sits in one
place and every cell holds one tile.

Files (``saltviewer mosaic DATA --out DIR``; with ``--workspace WS`` they go to
``WS/mosaics/<dataset key>/`` where the viewer finds them):

``pairs.csv``
    ``kind,a,b``: one row per kept pair of tile ids; ``right`` when `b` lies directly
    right of `a`, ``below`` when it lies directly below.
``mosaics.json``
    The mosaics, each with its tiles and their row and col, the counts, the search
    parameters and the conflicts.
"""

import csv
import json
from collections import namedtuple
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ._atomic import atomic_open
from ._errors import DataError, SaltviewerError
from .neighbours import KINDS, NeighbourPairs, find_neighbours

__all__ = ["Mosaic", "Mosaics", "BoundaryScore", "assemble", "build_mosaics", "stitch", "boundary_consistency",
           "review_items", "boundary_proposals", "queue_boundary_items", "render_mosaic", "write_mosaics",
           "read_mosaics", "load_mosaics", "mosaics_folder",
           "read_pairs", "DIRECTIONS"]

FORMAT = "saltviewer.mosaics"
FORMAT_VERSION = 1
DIRECTIONS = ("up", "down", "left", "right")
MAX_IMPLIED_NORM = 2.5
_STEP = {"right": (0, 1), "below": (1, 0)}
_OFFSETS = {"up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}


# --------------------------------------------------------------------------- assembly
def assemble(pairs, n_tiles=None, images=None, max_implied_norm=MAX_IMPLIED_NORM, extrapolation=None):
    """Place pairs of neighbours on integer grids, most trustworthy pair first.

    Parameters
    ----------
    pairs : NeighbourPairs
        Tile positions `a`, `b` with `kind`; their `norm` and `ratio` set the order
        (smaller first), so a doubtful pair never displaces a sure one.
    n_tiles : int, optional
        Number of tiles, to check the positions against.
    images : (n, H, W) ndarray, optional
        The tiles. When given, joining two mosaics also checks the other edges the join
        creates (tiles that become grid neighbours without having been paired): if any
        has a boundary cost above `max_implied_norm` times its tiles' inside cost, the
        join is a conflict. A wrong pair between two mosaics nearly always creates such
        an edge.
    max_implied_norm : float
    extrapolation : float, optional
        As for `find_neighbours` (default: its default).

    Returns
    -------
    placements : list of dict
        One per mosaic: tile position -> (row, col), rows and cols from 0; largest
        mosaic first (ties: smallest first tile).
    kept : (len(pairs),) ndarray of bool
        Pairs that agree with the placements.
    conflicts : list of (int, str)
        Index into `pairs` of each pair set aside, and why.

    Examples
    --------
    >>> from saltviewer.neighbours import NeighbourPairs
    >>> pairs = NeighbourPairs(["right", "below", "right"], [0, 0, 1], [1, 2, 3], [0.1] * 3, [1.0] * 3, [0.5] * 3)
    >>> placements, kept, conflicts = assemble(pairs)
    >>> placements
    [{0: (0, 0), 1: (0, 1), 2: (1, 0), 3: (0, 2)}]
    """
    a = np.asarray(pairs.a, dtype=np.int64)
    b = np.asarray(pairs.b, dtype=np.int64)
    if len(a) and (a.min() < 0 or b.min() < 0 or (n_tiles is not None and max(a.max(), b.max()) >= n_tiles)):
        raise SaltviewerError(f"pairs: tile positions must lie in 0..{n_tiles - 1 if n_tiles else 'n-1'}, "
                              f"got {min(a.min(), b.min())}..{max(a.max(), b.max())}.")
    if np.any(a == b):
        raise SaltviewerError(f"pairs: a tile cannot neighbour itself (tile {int(a[a == b][0])}).")
    order = np.lexsort((np.arange(len(a)), pairs.ratio, pairs.norm))
    component = {}      # tile -> component id
    members = {}        # component id -> {tile: (row, col)}
    cells = {}          # component id -> {(row, col): tile}
    kept = np.zeros(len(a), dtype=bool)
    conflicts = []
    for i in order:
        tile_a, tile_b = int(a[i]), int(b[i])
        step = _STEP[str(pairs.kind[i])]
        for tile in (tile_a, tile_b):
            if tile not in component:
                component[tile] = tile
                members[tile] = {tile: (0, 0)}
                cells[tile] = {(0, 0): tile}
        ca, cb = component[tile_a], component[tile_b]
        ra, ka = members[ca][tile_a]
        rb, kb = members[cb][tile_b]
        if ca == cb:
            if (rb - ra, kb - ka) == step:
                kept[i] = True
            else:
                conflicts.append((int(i), f"the mosaic already places b {rb - ra:+d} rows, {kb - ka:+d} cols from a"))
            continue
        # Move the smaller mosaic onto the larger one.
        if len(members[ca]) >= len(members[cb]):
            big, small, shift = ca, cb, (ra + step[0] - rb, ka + step[1] - kb)
        else:
            big, small, shift = cb, ca, (rb - step[0] - ra, kb - step[1] - ka)
        moved = {tile: (r + shift[0], c + shift[1]) for tile, (r, c) in members[small].items()}
        clash = next((cell for cell in moved.values() if cell in cells[big]), None)
        if clash is not None:
            conflicts.append((int(i), "joining the two mosaics would put two tiles in one cell"))
            continue
        if images is not None:
            worst = _worst_implied(images, moved, cells[big], (tile_a, tile_b), extrapolation)
            if worst > max_implied_norm:
                conflicts.append((int(i), f"joining the two mosaics would make tiles meet across a boundary "
                                          f"{worst:.1f} times rougher than their insides"))
                continue
        members[big].update(moved)
        for tile, cell in moved.items():
            cells[big][cell] = tile
            component[tile] = big
        del members[small], cells[small]
        kept[i] = True
    placements = []
    for tiles in members.values():
        if len(tiles) < 2:
            continue
        top = min(r for r, _ in tiles.values())
        left = min(c for _, c in tiles.values())
        placements.append({tile: (r - top, c - left) for tile, (r, c) in sorted(tiles.items())})
    placements.sort(key=lambda tiles: (-len(tiles), min(tiles)))
    return placements, kept, conflicts


def _worst_implied(images, moved, cells, pair, extrapolation):
    """Largest norm among the edges a join creates besides the pair itself (0 if none)."""
    from .neighbours import EXTRAPOLATION, pair_costs

    found = {"right": ([], []), "below": ([], [])}
    for tile, (r, c) in moved.items():
        for kind, (dr, dc), sign in (("right", (0, 1), 1), ("below", (1, 0), 1),
                                     ("right", (0, -1), -1), ("below", (-1, 0), -1)):
            other = cells.get((r + dr, c + dc))
            if other is None:
                continue
            a, b = (tile, other) if sign > 0 else (other, tile)
            if {a, b} == set(pair):
                continue
            found[kind][0].append(a)
            found[kind][1].append(b)
    worst = 0.0
    for kind, (a, b) in found.items():
        if a:
            _, norm = pair_costs(images, a, b, kind, EXTRAPOLATION if extrapolation is None else extrapolation)
            worst = max(worst, float(norm.max()))
    return worst


# --------------------------------------------------------------------------- mosaics
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
            for kind, (dr, dc) in _STEP.items():
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
                    dr, dc = _OFFSETS[direction]
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
        return {direction: mosaic.at(place[1] + dr, place[2] + dc) for direction, (dr, dc) in _OFFSETS.items()}

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


def _bound(mosaics, dataset):
    """Attach dataset positions and the id table."""
    if dataset is not None:
        mosaics._ids = dataset.ids
    return mosaics


def build_mosaics(dataset, images=None, progress=None, **search):
    """Find neighbour pairs in a dataset and assemble them into mosaics.

    Parameters
    ----------
    dataset : Dataset
    images : (N, H, W) ndarray, optional
        The dataset's tiles if already in memory (default ``dataset.images()``).
    progress : callable, optional
        Called with a short message before each stage.
    **search
        Parameters of `saltviewer.neighbours.find_neighbours`.

    Returns
    -------
    mosaics : Mosaics
        Bound to the dataset; ``parameters`` holds the search parameters and
        ``stats`` the search counts.
    """
    if images is None:
        if progress:
            progress("loading tiles")
        images = dataset.images()
    if len(images) != len(dataset):
        raise SaltviewerError(f"images: got {len(images)} tiles for a dataset of {len(dataset)}.")
    if progress:
        progress("searching neighbours")
    pairs, stats = find_neighbours(images, return_stats=True, **search)
    if progress:
        progress("assembling mosaics")
    return mosaics_from_pairs(pairs, dataset, images=images, parameters=_parameters(search), stats=stats)


def _parameters(search):
    from . import neighbours as nb

    defaults = {"ratio": nb.RATIO, "max_norm": nb.MAX_NORM, "max_cost": nb.MAX_COST,
                "min_contrast": nb.MIN_CONTRAST, "extrapolation": nb.EXTRAPOLATION,
                "n_components": nb.N_COMPONENTS, "n_candidates": nb.N_CANDIDATES, "eps": nb.EPS,
                "verify": False, "exact": False}
    return {k: search.get(k, v) for k, v in defaults.items()}


def mosaics_from_pairs(pairs, dataset, images=None, parameters=None, stats=None,
                       max_implied_norm=MAX_IMPLIED_NORM):
    """Assemble `NeighbourPairs` over a dataset's positions into bound `Mosaics`.

    `images` (the dataset's tiles) turns on the check of the edges each join creates
    (see `assemble`).
    """
    parameters = dict(parameters or {})
    if images is not None:
        parameters["max_implied_norm"] = max_implied_norm
    placements, kept, conflicts = assemble(pairs, len(dataset), images, max_implied_norm,
                                           parameters.get("extrapolation"))
    ids = dataset.ids
    mosaics = []
    for number, tiles in enumerate(placements):
        indices = np.fromiter(tiles, dtype=np.int64, count=len(tiles))
        cells = np.array([tiles[i] for i in indices]).reshape(-1, 2)
        mosaics.append(Mosaic(number, [ids[i] for i in indices], cells[:, 0], cells[:, 1], indices))
    kept_pairs = [(str(pairs.kind[i]), ids[pairs.a[i]], ids[pairs.b[i]]) for i in np.flatnonzero(kept)]
    conflict_rows = [{"kind": str(pairs.kind[i]), "a": ids[pairs.a[i]], "b": ids[pairs.b[i]],
                      "norm": round(float(pairs.norm[i]), 4), "ratio": round(float(pairs.ratio[i]), 4),
                      "reason": reason} for i, reason in conflicts]
    result = Mosaics(mosaics, kept_pairs, conflict_rows, parameters,
                     {"root": str(dataset.root), "key": dataset.key, "tiles": len(dataset)})
    result.stats = dict(stats or {})
    return _bound(result, dataset)


# --------------------------------------------------------------------------- files
def mosaics_folder(workspace, dataset):
    """Where a workspace keeps the mosaics of a dataset: ``WS/mosaics/<dataset key>``."""
    from .workspace import as_workspace

    return as_workspace(workspace).mosaics_dir / dataset.key


def write_mosaics(mosaics, out_dir, labelled=None):
    """Write ``pairs.csv`` and ``mosaics.json`` into a folder, each atomically.

    Parameters
    ----------
    mosaics : Mosaics
    out_dir : str or Path
        Created if missing; existing files are replaced whole.
    labelled : optional
        As for `Mosaic.n_labelled`; stores how many tiles of each mosaic have a mask.

    Returns
    -------
    pairs_path, mosaics_path : Path
    """
    from datetime import datetime, timezone

    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise SaltviewerError(f"--out {out_dir}: is a file; expected a folder for pairs.csv and mosaics.json.")
    out_dir.mkdir(parents=True, exist_ok=True)
    pairs_path = out_dir / "pairs.csv"
    with atomic_open(pairs_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(("kind", "a", "b"))
        writer.writerows(mosaics.pairs)
    document = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "dataset": mosaics.dataset,
        "parameters": mosaics.parameters,
        "counts": mosaics.counts(),
        "mosaics": [m.to_json(None if labelled is None else m.n_labelled(labelled)) for m in mosaics],
        "conflicts": mosaics.conflicts,
    }
    mosaics_path = out_dir / "mosaics.json"
    with atomic_open(mosaics_path, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=1)
        handle.write("\n")
    return pairs_path, mosaics_path


def read_pairs(path):
    """Read a ``pairs.csv``: a list of ``(kind, a, b)`` tuples of tile ids."""
    from ._tables import read_rows

    pairs = []
    for line, (kind, a, b) in read_rows(path, ("kind", "a", "b")):
        if kind not in KINDS:
            raise DataError(f"{path} line {line}: kind must be 'right' or 'below', got {kind!r}.")
        pairs.append((kind, a, b))
    return pairs


def read_mosaics(path, dataset=None):
    """Read mosaics written by `write_mosaics`.

    Parameters
    ----------
    path : str or Path
        ``mosaics.json`` or the folder holding it (and ``pairs.csv``).
    dataset : Dataset, optional
        Bind the mosaics to it: every tile id must be in it, and its ids must be those
        the mosaics were built from (same key).

    Returns
    -------
    mosaics : Mosaics
    """
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    json_path = folder / "mosaics.json" if path.is_dir() else path
    try:
        document = json.loads(json_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{json_path}: no such file; run `saltviewer mosaic DATA --out {folder}` first.") from None
    except (OSError, ValueError) as error:
        raise DataError(f"{json_path}: is not a readable mosaics file ({error}).") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise DataError(f"{json_path}: is not a saltviewer mosaics file (format {document.get('format')!r} "
                        f"if a dict; expected {FORMAT!r}).")
    if document.get("version", 0) > FORMAT_VERSION:
        raise DataError(f"{json_path}: has format version {document['version']}; this saltviewer reads up to "
                        f"{FORMAT_VERSION}.")
    info = document.get("dataset", {})
    if dataset is not None and info.get("key") not in (None, dataset.key):
        raise DataError(f"{json_path}: was built for another set of tiles (key {info.get('key')}, dataset "
                        f"{dataset.root} has key {dataset.key}); run `saltviewer mosaic` on it again.")
    mosaics = []
    for number, entry in enumerate(document.get("mosaics", [])):
        try:
            tiles = entry["tiles"]
            ids = [str(t["id"]) for t in tiles]
            rows = [int(t["row"]) for t in tiles]
            cols = [int(t["col"]) for t in tiles]
        except (KeyError, TypeError, ValueError) as error:
            raise DataError(f"{json_path}: mosaic {number} is malformed ({error!r}); each tile needs id, row, col.") from None
        if len(set(zip(rows, cols))) != len(rows):
            raise DataError(f"{json_path}: mosaic {number} puts two tiles in one cell.")
        if min(rows + cols, default=0) < 0:
            raise DataError(f"{json_path}: mosaic {number} has a negative row or col.")
        indices = None
        if dataset is not None:
            try:
                indices = [dataset.index(tile) for tile in ids]
            except DataError:
                missing = next(t for t in ids if t not in set(dataset.ids))
                raise DataError(f"{json_path}: mosaic {number} holds tile {missing!r}, which is not in "
                                f"{dataset.root}.") from None
        mosaics.append(Mosaic(number, ids, rows, cols, indices))
    pairs_path = folder / "pairs.csv"
    pairs = read_pairs(pairs_path) if pairs_path.is_file() else []
    if dataset is not None:
        info = dict(info, tiles=len(dataset))
    result = Mosaics(mosaics, pairs, document.get("conflicts", []), document.get("parameters"), info)
    return _bound(result, dataset)


def load_mosaics(workspace, dataset):
    """The mosaics of a dataset stored in a workspace, bound to the dataset.

    Raises `SaltviewerError` naming the command to run when there are none yet.
    """
    folder = mosaics_folder(workspace, dataset)
    if not (folder / "mosaics.json").is_file():
        raise SaltviewerError(f"no mosaics for {dataset.root} in workspace {Path(workspace)}; run "
                              f"`saltviewer mosaic {dataset.root} --workspace {Path(workspace)}` first.")
    return read_mosaics(folder, dataset)


# --------------------------------------------------------------------------- stitching
def _getter(tiles, mosaic):
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
    get = _getter(tiles, mosaic)
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


# --------------------------------------------------------------------------- boundaries
BoundaryScore = namedtuple("BoundaryScore", "mosaic kind a b row col mismatch salt score")
BoundaryScore.__doc__ = """How well salt continues across the edge between two neighbouring tiles.

Fields: ``mosaic`` number; ``kind`` (``right``/``below``); tile ids ``a`` and ``b``;
``row``, ``col`` of `a`; ``mismatch``, edge pixels where salt on one side meets no salt
on the other (within the tolerance); ``salt``, salt pixels on the two edge lines;
``score`` = 1 - mismatch / salt (1 where neither edge has salt)."""


def _edge_mismatch(edge_a, edge_b, tolerance):
    from scipy.ndimage import maximum_filter1d

    size = 2 * tolerance + 1
    near_a = maximum_filter1d(edge_a.astype(np.uint8), size, mode="constant").astype(bool)
    near_b = maximum_filter1d(edge_b.astype(np.uint8), size, mode="constant").astype(bool)
    return int(np.sum(edge_a & ~near_b) + np.sum(edge_b & ~near_a)), int(edge_a.sum() + edge_b.sum())


def boundary_consistency(mosaic, masks, tolerance=2):
    """Score every edge between neighbouring tiles of a mosaic that both have masks.

    Salt that stops dead at a tile edge is suspect: a boundary that crosses the edge
    continues on the other side, and where salt meets salt the edge lines agree.

    Parameters
    ----------
    mosaic : Mosaic
    masks : callable, mapping or array
        As for `stitch`: each tile's (H, W) mask (bool or 0/1; a probability map is
        cut at 0.5 when float in [0, 1] or at 128 when uint8 > 1), None where unknown.
    tolerance : int
        A salt pixel on one edge line counts as continued when salt lies within this
        many pixels along the other edge line (boundaries cross edges at a slant).

    Returns
    -------
    scores : list of BoundaryScore
        In reading order.
    """
    if not (isinstance(tolerance, (int, np.integer)) and tolerance >= 0):
        raise SaltviewerError(f"tolerance must be an integer >= 0 (pixels), got {tolerance!r}.")
    get = _getter(masks, mosaic)
    cache = {}

    def mask(tile):
        if tile not in cache:
            value = get(mosaic._order[tile])
            cache[tile] = None if value is None else _as_bool(np.asarray(value))
        return cache[tile]

    scores = []
    for kind, a, b in mosaic.adjacent():
        mask_a, mask_b = mask(a), mask(b)
        if mask_a is None or mask_b is None:
            continue
        if kind == "right":
            edge_a, edge_b = mask_a[:, -1], mask_b[:, 0]
        else:
            edge_a, edge_b = mask_a[-1, :], mask_b[0, :]
        mismatch, salt = _edge_mismatch(edge_a, edge_b, tolerance)
        row, col = mosaic.position(a)
        scores.append(BoundaryScore(mosaic.number, kind, a, b, row, col, mismatch, salt,
                                    1.0 - mismatch / salt if salt else 1.0))
    return scores


def _as_bool(mask):
    if mask.dtype == bool:
        return mask
    if np.issubdtype(mask.dtype, np.floating):
        return mask >= 0.5
    return mask >= 128 if mask.max(initial=0) > 1 else mask != 0


def review_items(mosaics, masks, limit=50, min_mismatch=3, tolerance=2):
    """The edges where masks disagree most across tile boundaries, worst first.

    Parameters
    ----------
    mosaics : Mosaics or iterable of Mosaic
    masks : callable, mapping or array
        As for `boundary_consistency`.
    limit : int or None
        At most this many items.
    min_mismatch : int
        Ignore edges with fewer mismatched pixels.

    Returns
    -------
    items : list of BoundaryScore
        Sorted by mismatch (largest first), then score.
    """
    items = [s for mosaic in mosaics for s in boundary_consistency(mosaic, masks, tolerance)
             if s.mismatch >= min_mismatch]
    items.sort(key=lambda s: (-s.mismatch, s.score, s.mosaic, s.row, s.col, s.kind))
    return items if limit is None else items[:limit]


def boundary_proposals(items, dataset):
    """Review items for the tiles on either side of the worst edges: is their training mask right?

    Parameters
    ----------
    items : list of BoundaryScore
        From `review_items` (worst first).
    dataset : Dataset
        Where the tiles' training masks come from.

    Returns
    -------
    proposals : list of saltviewer.store.Proposal
        One ``"label"`` item (criterion ``"mosaic-edge"``) per tile with a mask, at its worst
        edge; the proposed mask is the training mask as it is (a person corrects it, or
        rejects the item to keep it). Their agreement is 0, so batch acceptance never takes
        them, and their disagreement is the share of edge salt left unmatched.
    """
    from .store import Proposal

    proposals, seen = [], set()
    for s in items:
        for tile, other, side in ((s.a, s.b, "right" if s.kind == "right" else "bottom"),
                                  (s.b, s.a, "left" if s.kind == "right" else "top")):
            index = dataset.index(tile)
            if tile in seen or not dataset.has_mask[index]:
                continue
            seen.add(tile)
            share = s.mismatch / max(s.salt, 1)
            proposals.append(Proposal(
                tile=tile, mask=dataset.mask(index), criterion="mosaic-edge", kind="label",
                reason=(f"salt stops dead at the {side} edge shared with {other} in mosaic {s.mosaic}: "
                        f"{s.mismatch} of {s.salt} edge salt pixels meet no salt across it"),
                scores={"mosaic": int(s.mosaic), "neighbour": other, "edge": side, "mismatch": int(s.mismatch),
                        "edge_salt": int(s.salt), "edge_score": round(float(s.score), 4)},
                disagreement=float(share), agreement=0.0, uncertain=0.0))
    return proposals


def queue_boundary_items(workspace, dataset, items):
    """Put `boundary_proposals` of `items` into the workspace's curation store.

    Tiles that already have a ``"label"`` item (a likely label error, an earlier edge) are
    left as they are. Returns the number of tiles queued.
    """
    from .store import CurationStore
    from .workspace import as_workspace

    with CurationStore(as_workspace(workspace).store_path) as store:
        taken = {item.tile for item in store.items(dataset, kind="label")}
        proposals = [p for p in boundary_proposals(items, dataset) if p.tile not in taken]
        store.propose(dataset, proposals)
    return len(proposals)


# --------------------------------------------------------------------------- rendering
def render_mosaic(mosaic, images, masks=None, *, scale=2, names=True, grid=True, scores=None, min_mismatch=3,
                  mask_colour=(255, 214, 0), fill_alpha=0.2, missing_colour=(40, 48, 64)):
    """A stitched mosaic as an RGB picture: tiles, mask outlines, tile names, bad edges.

    Parameters
    ----------
    mosaic : Mosaic
    images : callable, mapping or array
        As for `stitch`.
    masks : callable, mapping or array, optional
        Outlined in `mask_colour`, and tinted with it at `fill_alpha`.
    scale : int
        Each pixel becomes a ``scale`` x ``scale`` block.
    names : bool
        Write each tile's id in its top-left corner, on green where the tile has a mask
        (so a labelled tile without salt shows as labelled).
    grid : bool
        Outline the tiles.
    scores : list of BoundaryScore, optional
        Edges with at least `min_mismatch` mismatched pixels are drawn in red (default:
        computed from `masks`).

    Returns
    -------
    picture : (rows * 101 * scale, cols * 101 * scale, 3) ndarray of uint8
    """
    from PIL import Image, ImageDraw
    from skimage.segmentation import find_boundaries

    if not (isinstance(scale, (int, np.integer)) and scale >= 1):
        raise SaltviewerError(f"scale must be a positive integer, got {scale!r}.")
    height, width = 101, 101
    image = stitch(mosaic, images, fill=0, dtype=np.uint8)
    present = stitch(mosaic, {tile: np.ones((height, width), bool) for tile in mosaic.ids}, fill=False)
    picture = np.repeat(image[:, :, None], 3, axis=2)
    picture[~present] = missing_colour
    if masks is not None:
        get = _getter(masks, mosaic)
        bool_masks = {}
        for k, tile in enumerate(mosaic.ids):
            value = get(k)
            if value is not None:
                bool_masks[tile] = _as_bool(np.asarray(value))
        stitched = stitch(mosaic, bool_masks, fill=False, dtype=bool)
        tint = np.asarray(mask_colour, dtype=float)
        picture[stitched] = np.rint((1 - fill_alpha) * picture[stitched] + fill_alpha * tint).astype(np.uint8)
        outline = find_boundaries(stitched, mode="inner")
        picture[outline] = mask_colour
        if scores is None:
            scores = boundary_consistency(mosaic, bool_masks)
    picture = np.repeat(np.repeat(picture, scale, axis=0), scale, axis=1)
    canvas = Image.fromarray(picture)
    draw = ImageDraw.Draw(canvas)
    h, w = height * scale, width * scale
    if grid:
        for tile, r, c in zip(mosaic.ids, mosaic.rows, mosaic.cols):
            draw.rectangle([c * w, r * h, (c + 1) * w - 1, (r + 1) * h - 1], outline=(0, 200, 255))
    for s in scores or ():
        if s.mismatch < min_mismatch:
            continue
        r, c = s.row, s.col
        if s.kind == "right":
            x = (c + 1) * w
            draw.rectangle([x - 2, r * h, x + 1, (r + 1) * h - 1], fill=(255, 40, 40))
        else:
            y = (r + 1) * h
            draw.rectangle([c * w, y - 2, (c + 1) * w - 1, y + 1], fill=(255, 40, 40))
    if names:
        labelled = set(bool_masks) if masks is not None else set()
        for tile, r, c in zip(mosaic.ids, mosaic.rows, mosaic.cols):
            x, y = c * w + 3, r * h + 2
            box = draw.textbbox((x, y), tile)
            background = (0, 110, 40) if tile in labelled else (0, 0, 0)
            draw.rectangle([box[0] - 1, box[1] - 1, box[2] + 1, box[3] + 1], fill=background)
            draw.text((x, y), tile, fill=(255, 255, 255))
    return np.asarray(canvas)
