"""Mosaics from a dataset: search and growth (`build_mosaics`), or from given pairs (`assemble`)."""

import numpy as np

from .._errors import SaltviewerError
from . import search as _search
from .assembly import (GROW_RATIO, JOIN_RATIO, JOIN_SMOOTH, JOIN_STEP, LOOP_RATIO, SMOOTH_EDGE, SMOOTH_RATIO,
                       grow_mosaics)
from .compatibility import EdgeModel
from .grid import STEP, Mosaic, Mosaics, bound

__all__ = ["build_mosaics", "mosaics_from_pairs", "mosaics_from_placements", "assemble", "MAX_IMPLIED_NORM"]

MAX_IMPLIED_NORM = 2.5


def assemble(pairs, n_tiles=None, images=None, max_implied_norm=MAX_IMPLIED_NORM, model=None):
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
    model : EdgeModel, optional
        The edge compatibility of those checks (default: one fitted on `images`).

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
    if images is not None and model is None:
        model = EdgeModel().fit(images)
    order = np.lexsort((np.arange(len(a)), pairs.ratio, pairs.norm))
    component = {}      # tile -> component id
    members = {}        # component id -> {tile: (row, col)}
    cells = {}          # component id -> {(row, col): tile}
    kept = np.zeros(len(a), dtype=bool)
    conflicts = []
    for i in order:
        tile_a, tile_b = int(a[i]), int(b[i])
        step = STEP[str(pairs.kind[i])]
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
            worst = _worst_implied(images, moved, cells[big], (tile_a, tile_b), model)
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


def _worst_implied(images, moved, cells, pair, model):
    """Largest norm among the edges a join creates besides the pair itself (0 if none)."""
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
            _, norm = model.pair_costs(images, a, b, kind)
            worst = max(worst, float(norm.max()))
    return worst


def build_mosaics(dataset, images=None, progress=None, *, grow_ratio=GROW_RATIO, loop_ratio=LOOP_RATIO,
                  join_ratio=JOIN_RATIO, join_step=JOIN_STEP, join_smooth=JOIN_SMOOTH, smooth_edge=SMOOTH_EDGE,
                  smooth_ratio=SMOOTH_RATIO, **search):
    """Find the tiles of a dataset that continue each other and grow them into mosaics.

    Parameters
    ----------
    dataset : Dataset
    images : (N, H, W) ndarray, optional
        The dataset's tiles if already in memory (default ``dataset.images()``).
    progress : callable, optional
        Called with a short message before each stage.
    grow_ratio, loop_ratio, join_ratio, join_step, join_smooth, smooth_edge, smooth_ratio : float
        Margins of the growth and of the joins of mosaics (`grow_mosaics`; `grow_ratio` is
        its `ratio`).
    **search
        Parameters of `find_neighbours` (the seeds and the candidates).

    Returns
    -------
    mosaics : Mosaics
        Bound to the dataset; ``parameters`` holds the search and growth parameters,
        ``stats`` the counts, and ``pairs`` every pair of grid neighbours.
    """
    if images is None:
        if progress:
            progress("loading tiles")
        images = dataset.images()
    if len(images) != len(dataset):
        raise SaltviewerError(f"images: got {len(images)} tiles for a dataset of {len(dataset)}.")
    if progress:
        progress("searching neighbours")
    seeds, candidates, stats = _search.search_candidates(images, **search)
    if progress:
        progress("growing mosaics")
    growth = dict(loop_ratio=loop_ratio, join_ratio=join_ratio, join_step=join_step, join_smooth=join_smooth,
                  smooth_edge=smooth_edge, smooth_ratio=smooth_ratio)
    placements = grow_mosaics(candidates, seeds, len(images), ratio=grow_ratio, **growth)
    stats["seeds"] = len(seeds)
    parameters = dict(_parameters(search), grow_ratio=grow_ratio, **growth, model=stats.pop("model"))
    return mosaics_from_placements(placements, dataset, seeds, parameters, stats)


def _parameters(search):
    defaults = {"ratio": _search.RATIO, "max_norm": _search.MAX_NORM, "max_cost": _search.MAX_COST,
                "loop_max_norm": _search.LOOP_MAX_NORM, "max_texture": _search.MAX_TEXTURE,
                "max_contrast_change": _search.MAX_CONTRAST_CHANGE,
                "min_contrast": _search.MIN_CONTRAST, "n_components": _search.N_COMPONENTS,
                "n_candidates": _search.N_CANDIDATES, "eps": _search.EPS, "verify": False, "exact": False}
    return {k: search.get(k, v) for k, v in defaults.items()}


def mosaics_from_placements(placements, dataset, seeds=None, parameters=None, stats=None, conflicts=None):
    """Bound `Mosaics` from placements (tile position -> (row, col) per mosaic, largest first).

    Every pair of grid neighbours becomes a pair of `Mosaics.pairs`; the seeds that ended
    up apart are listed as conflicts.
    """
    ids = dataset.ids
    mosaics = []
    for number, tiles in enumerate(placements):
        indices = np.fromiter(tiles, dtype=np.int64, count=len(tiles))
        cells = np.array([tiles[i] for i in indices]).reshape(-1, 2)
        mosaics.append(Mosaic(number, [ids[i] for i in indices], cells[:, 0], cells[:, 1], indices))
    pairs = [pair for mosaic in mosaics for pair in mosaic.adjacent()]
    conflict_rows = list(conflicts or [])
    if seeds is not None and conflicts is None:
        place = {tile: (number, r, c) for number, tiles in enumerate(placements) for tile, (r, c) in tiles.items()}
        for kind, a, b, norm, ratio in zip(seeds.kind, seeds.a.tolist(), seeds.b.tolist(), seeds.norm, seeds.ratio):
            pa, pb = place.get(a), place.get(b)
            step = STEP[str(kind)]
            if pa is not None and pb is not None and pa[0] == pb[0] and (pb[1] - pa[1], pb[2] - pa[2]) == step:
                continue
            conflict_rows.append({"kind": str(kind), "a": ids[a], "b": ids[b], "norm": round(float(norm), 4),
                                  "ratio": round(float(ratio), 4),
                                  "reason": "the tiles were placed apart by more certain matches"})
    result = Mosaics(mosaics, pairs, conflict_rows, parameters,
                     {"root": str(dataset.root), "key": dataset.key, "tiles": len(dataset)})
    result.stats = dict(stats or {})
    return bound(result, dataset)


def mosaics_from_pairs(pairs, dataset, images=None, parameters=None, stats=None,
                       max_implied_norm=MAX_IMPLIED_NORM, model=None):
    """Assemble given `NeighbourPairs` over a dataset's positions into bound `Mosaics` (`assemble`).

    `images` (the dataset's tiles) turns on the check of the edges each join creates.
    """
    parameters = dict(parameters or {})
    if images is not None:
        parameters["max_implied_norm"] = max_implied_norm
    placements, kept, conflicts = assemble(pairs, len(dataset), images, max_implied_norm, model)
    ids = dataset.ids
    conflict_rows = [{"kind": str(pairs.kind[i]), "a": ids[pairs.a[i]], "b": ids[pairs.b[i]],
                      "norm": round(float(pairs.norm[i]), 4), "ratio": round(float(pairs.ratio[i]), 4),
                      "reason": reason} for i, reason in conflicts]
    return mosaics_from_placements(placements, dataset, None, parameters, stats, conflict_rows)
