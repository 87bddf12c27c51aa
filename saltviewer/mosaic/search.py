"""Find the tiles that continue each other across an edge: a KD-tree over border features.

The cost of a pair is the edge compatibility of `saltviewer.mosaic.compatibility`: a
squared Euclidean distance between one feature vector per tile side, so a KD-tree
answers "which left borders are nearest to this right border". A pair is kept (a
*seed* of the assembly) when

- neither border is flat: both edge lines have a standard deviation of at least
  ``min_contrast`` grey levels (blank tiles and flat bands would match everything);
- the seam is about as smooth as the tiles' insides: ``norm`` is at most ``max_norm``
  and the cost at most ``max_cost``, and the two tiles' textures along the seam are
  alike (``max_texture``) and so are the spreads of their grey levels near it
  (``max_contrast_change``);
- it is the mutual best match: `b` is the nearest left border to `a`'s right border and
  `a` the nearest right border to `b`'s left border (ties count as no match);
- it passes the ratio test on both sides: the best distance is below ``ratio`` times the
  runner-up's.

Search. The features have 202 dimensions, too many for a KD-tree to prune, so the tree
holds their projection onto the leading principal components. A projection never
lengthens a vector: the projected distance is a lower bound of the exact one. Each border
asks the tree for its nearest candidates, no farther than the largest distance that can
still matter (its cost limit over the ratio); candidates from both directions are scored
exactly, and they are what the assembly grows mosaics from (`Candidates`). With
``verify=True`` every pair that passes is then checked by a ball query that holds every
tile able to beat it or to fail its ratio test, so a kept pair is always one that the
comparison of all pairs keeps too and the candidate step can only miss a pair.
``exact=True`` settles every border completely instead, at a much higher cost.
"""

import os

import numpy as np

from .._errors import SaltviewerError
from ._kdtree import _best_two, _nearest, _principal_axes, _runner_up, _squared_distances, _two_smallest
from .compatibility import KINDS, MIN_CONTRAST, EdgeModel, check_images, check_kind
from .links import Candidates, NeighbourPairs

__all__ = ["NeighbourPairs", "Candidates", "find_neighbours", "search_candidates"]

# Defaults tuned on the 21,200 tiles of the TGS data (see benchmarks/bench_mosaic.py).
RATIO = 0.95
MAX_NORM = 1.75
MAX_COST = 1.5
LOOP_MAX_NORM = 2.0
MAX_TEXTURE = 0.6
MAX_CONTRAST_CHANGE = 0.8
N_COMPONENTS = 24
N_CANDIDATES = 8
EPS = 5.0


def _search_both_ways(out, into, queries, indexed, limit_out, limit_in, ratio, n_components, n_candidates,
                      eps=EPS, verify=True, workers=-1, search_out=None, search_in=None):
    """Mutual best pairs from KD-tree candidates, each verified exactly.

    Each out-border asks a tree of in-borders for its `n_candidates` nearest in the
    projected space (within ``sqrt(search_out) / ratio``; default: its limit), and each in-border asks a tree of out-borders; the union of both
    candidate lists is scored exactly, and every tile takes its best match and runner-up
    from the pairs it appears in. Mutual best pairs that pass are then verified with a
    ball query on each side (`_runner_up`), so none passes that a comparison of all
    pairs would reject.

    Returns
    -------
    a, b : (m,) ndarray of int
        Out-border tile and in-border tile of each kept pair.
    ratio_ab, ratio_ba : (m,) ndarray of float
        Squared best-over-runner-up ratios seen from `a` and from `b`, the runner-up
        taken among the candidates scored (0 where there was none).
    scored : int
        Distinct candidate pairs scored exactly.
    balls : int
        Ball queries run to verify.
    links : tuple
        Every candidate pair scored: ``(a, b, distance, reach_out, reach_in)``, where the
        reaches are (n,) estimates of the squared distance from each side to the nearest
        tile not among its own candidates: the farthest of its `n_candidates` + 1
        candidates, or the search radius where fewer lay within it (0 where the side
        asked nothing).
    """
    from scipy.spatial import cKDTree

    n = len(out)
    empty = np.zeros(0, dtype=np.int64)
    out_rows = np.flatnonzero(queries & (limit_out > 0))
    in_rows = np.flatnonzero(indexed & (limit_in > 0))
    if len(out_rows) == 0 or len(in_rows) == 0:
        links = (empty, empty, np.zeros(0), np.zeros(n), np.zeros(n))
        return empty, empty, np.zeros(0), np.zeros(0), 0, 0, links
    basis = _principal_axes(np.concatenate([out[out_rows], into[in_rows]]), min(n_components, out.shape[1]))
    projected_out = out[out_rows] @ basis
    projected_in = into[in_rows] @ basis
    tree_out, tree_in = cKDTree(projected_out), cKDTree(projected_in)
    scale = ratio ** 2
    # 1. Candidates. Only tiles within sqrt(limit) / ratio of a border in projection can
    #    be its match or a runner-up that fails it, so each search stops there.
    k = n_candidates + 1
    search_out = limit_out if search_out is None else search_out
    search_in = limit_in if search_in is None else search_in
    radius_out, radius_in = np.sqrt(search_out[out_rows] / scale), np.sqrt(search_in[in_rows] / scale)
    query_out, found_out, reach_out = _nearest(tree_in, projected_out, radius_out, k, eps, workers)
    query_in, found_in, reach_in = _nearest(tree_out, projected_in, radius_in, k, eps, workers)
    keys_out = out_rows[query_out] * n + in_rows[found_out]
    keys_in = out_rows[found_in] * n + in_rows[query_in]
    keys = np.unique(np.concatenate([keys_out, keys_in]))
    every = _squared_distances(out, into, *np.divmod(keys, n))
    listed_out = _listed_reach(query_out, every[np.searchsorted(keys, keys_out)], radius_out, k)
    listed_in = _listed_reach(query_in, every[np.searchsorted(keys, keys_in)], radius_in, k)
    a, b = np.divmod(keys, n)
    keep = a != b
    a, b, distance = a[keep], b[keep], every[keep]
    scored = len(a)
    # 2. Best and runner-up of every border among its scored candidates.
    reach_out_all, reach_in_all = np.zeros(n), np.zeros(n)
    reach_out_all[out_rows], reach_in_all[in_rows] = listed_out, listed_in
    links = (a, b, distance, reach_out_all, reach_in_all)
    best_b, first_ab, second_ab = _two_smallest(a, b, distance, n)
    best_a, first_ba, second_ba = _two_smallest(b, a, distance, n)
    a = np.flatnonzero((best_b >= 0) & (first_ab <= limit_out) & (first_ab < scale * second_ab))
    b = best_b[a]
    keep = (best_a[b] == a) & (first_ba[b] <= limit_in[b]) & (first_ba[b] < scale * second_ba[b])
    a, b = a[keep], b[keep]
    # 3. Verification: no tile anywhere beats either side or fails its ratio test. A
    #    tile the search did not return is at least `reach` away in projection, hence
    #    exactly; where that and the scored runner-up clear the ratio, the pair stands,
    #    and a ball query settles the rest.
    position_out = np.full(n, -1, dtype=np.int64)
    position_out[out_rows] = np.arange(len(out_rows))
    position_in = np.full(n, -1, dtype=np.int64)
    position_in[in_rows] = np.arange(len(in_rows))
    first = first_ab[a]
    balls = 0
    need = first / scale * (1 + 1e-4) + 1e-6          # margin for float32 rounding
    shown_ab, shown_ba = second_ab[a], second_ba[b]
    if not verify:
        return a, b, first / shown_ab, first / shown_ba, scored, 0, links
    second_ab = np.minimum(shown_ab, reach_out[position_out[a]] ** 2)
    second_ba = np.minimum(shown_ba, reach_in[position_in[b]] ** 2)
    for second, rows, other, tree, projected, position, query_features, index_features, index_rows in (
            (second_ab, a, b, tree_in, projected_out, position_out, out, into, in_rows),
            (second_ba, b, a, tree_out, projected_in, position_in, into, out, out_rows)):
        check = np.flatnonzero(second < need)
        balls += len(check)
        second[check] = _runner_up(tree, rows[check], projected[position[rows[check]]], query_features,
                                   index_features, index_rows, other[check], first[check], scale, workers)
    keep = (first < scale * second_ab) & (first < scale * second_ba)
    a, b, first = a[keep], b[keep], first[keep]
    return a, b, first / shown_ab[keep], first / shown_ba[keep], scored, balls, links



def _listed_reach(query, distance, radius, k):
    """Per query: the largest exact distance among its k candidates, or its radius squared
    when fewer than k lay within it."""
    reach = radius.astype(float) ** 2
    count = np.bincount(query, minlength=len(radius))
    farthest = np.zeros(len(radius))
    np.maximum.at(farthest, query, distance)
    full = count >= k
    reach[full] = farthest[full]
    return reach


def _check_parameters(ratio, max_norm, max_cost, min_contrast, n_components, n_candidates, eps):
    if not (isinstance(ratio, (int, float)) and 0 < ratio <= 1):
        raise SaltviewerError(f"ratio must be a number in (0, 1], got {ratio!r}.")
    if not (isinstance(max_norm, (int, float)) and max_norm > 0):
        raise SaltviewerError(f"max_norm must be a positive number, got {max_norm!r}.")
    if not (isinstance(max_cost, (int, float)) and max_cost > 0):
        raise SaltviewerError(f"max_cost must be a positive number (edge standard deviations), got {max_cost!r}.")
    if not (isinstance(min_contrast, (int, float)) and min_contrast >= 0):
        raise SaltviewerError(f"min_contrast must be a number >= 0, got {min_contrast!r}.")
    if not (isinstance(n_components, (int, np.integer)) and n_components >= 1):
        raise SaltviewerError(f"n_components must be a positive integer, got {n_components!r}.")
    if not (isinstance(n_candidates, (int, np.integer)) and n_candidates >= 1):
        raise SaltviewerError(f"n_candidates must be a positive integer, got {n_candidates!r}.")
    if not (isinstance(eps, (int, float)) and eps >= 0):
        raise SaltviewerError(f"eps must be a number >= 0, got {eps!r}.")


def search_candidates(images, model=None, *, ratio=RATIO, max_norm=MAX_NORM, max_cost=MAX_COST,
                      loop_max_norm=LOOP_MAX_NORM, max_texture=MAX_TEXTURE, max_contrast_change=MAX_CONTRAST_CHANGE,
                      min_contrast=MIN_CONTRAST, kinds=KINDS, n_components=N_COMPONENTS, n_candidates=N_CANDIDATES,
                      eps=EPS, verify=False, exact=False, workers=-1):
    """The seeds (mutual best pairs that pass every test) and the scored candidates of each kind.

    Parameters are those of `find_neighbours`; `model` is the `EdgeModel` (default: one
    fitted on `images`), and `loop_max_norm` (at least `max_norm`) the looser norm limit of
    an edge that closes a loop, whose candidates the search also gathers.

    Returns
    -------
    seeds : NeighbourPairs
    candidates : dict
        ``kind -> Candidates``.
    stats : dict
        ``candidates`` (pairs scored exactly), ``fallbacks`` (ball queries), ``model``.
    """
    with _blas_threads(1):
        return _search_candidates(images, model, ratio, max_norm, max_cost, loop_max_norm, max_texture,
                                  max_contrast_change, min_contrast, kinds, n_components, n_candidates, eps, verify,
                                  exact, workers)


def _blas_threads(limit):
    """A context in which BLAS runs on at most `limit` threads (none when threadpoolctl is absent).

    The products of the search are small (tens of columns): on threads they gain nothing
    and, on a busy machine, threads that wait for each other cost up to a hundred times
    the work (the fit of the edge model: 1.7 s alone, 200 s under a training job).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:                                  # pragma: no cover - an optional speed-up
        from contextlib import nullcontext

        return nullcontext()
    return threadpool_limits(limits=limit, user_api="blas")


def _search_candidates(images, model, ratio, max_norm, max_cost, loop_max_norm, max_texture, max_contrast_change,
                       min_contrast, kinds, n_components, n_candidates, eps, verify, exact, workers):
    images = check_images(images)
    _check_parameters(ratio, max_norm, max_cost, min_contrast, n_components, n_candidates, eps)
    if not (isinstance(max_texture, (int, float)) and max_texture > 0):
        raise SaltviewerError(f"max_texture must be a positive number, got {max_texture!r}.")
    if not (isinstance(max_contrast_change, (int, float)) and max_contrast_change > 0):
        raise SaltviewerError(f"max_contrast_change must be a positive number (log units), got {max_contrast_change!r}.")
    alike = np.array([max_texture, max_texture, max_contrast_change], dtype=float)
    if not (isinstance(loop_max_norm, (int, float)) and loop_max_norm >= max_norm):
        raise SaltviewerError(f"loop_max_norm must be a number >= max_norm ({max_norm}), got {loop_max_norm!r}.")
    loosen = (loop_max_norm / max_norm) ** 2
    kinds = [kinds] if isinstance(kinds, str) else list(kinds)
    for kind in kinds:
        check_kind(kind)
    if model is None:
        model = EdgeModel(min_contrast=min_contrast).fit(images) if len(images) else EdgeModel.extrapolating()
    stats = {"tiles": len(images), "candidates": 0, "fallbacks": 0, "model": model.get_params()}

    def one_kind(kind):
        out, inside_out, contrast_out, texture_out = model.side_features(images, kind, "out")
        into, inside_in, contrast_in, texture_in = model.side_features(images, kind, "in")
        length = model.effective_length(kind, images.shape[1 if kind == "right" else 2])
        usable_out, usable_in = contrast_out >= min_contrast, contrast_in >= min_contrast
        # A pair passes when its distance is at most max_norm**2 times the mean inside cost of
        # its two sides (and max_cost**2); each side's bound is the most any pair of it may have.
        side_out = np.where(usable_out, max_norm ** 2 * inside_out * length, 0.0)
        side_in = np.where(usable_in, max_norm ** 2 * inside_in * length, 0.0)
        cap = max_cost ** 2 * length
        bound_out = np.where(usable_out, np.minimum((side_out + side_in.max(initial=0)) / 2, cap), 0.0)
        bound_in = np.where(usable_in, np.minimum((side_in + side_out.max(initial=0)) / 2, cap), 0.0)
        a, b, ratio_ab, ratio_ba, scored, balls, links = _search_both_ways(
            out, into, usable_out, usable_in, bound_out, bound_in, ratio, n_components, n_candidates, eps,
            verify and not exact, workers, loosen * bound_out, loosen * bound_in)
        if exact:
            best_b, cost_ab, second_ab, fb1 = _best_two(out, into, usable_out, usable_in, bound_out, ratio,
                                                        n_components, n_candidates, workers)
            best_a, cost_ba, second_ba, fb2 = _best_two(into, out, usable_in, usable_out, bound_in, ratio,
                                                        n_components, n_candidates, workers)
            balls += fb1 + fb2
            a = np.flatnonzero(best_b >= 0)
            b = best_b[a]
            mutual = best_a[b] == a
            a, b = a[mutual], b[mutual]
            ratio_ab, ratio_ba = cost_ab[a] / second_ab[a], cost_ba[b] / second_ba[b]
        distance = _squared_distances(out, into, a, b)
        keep = distance <= np.minimum((side_out[a] + side_in[b]) / 2, cap)
        keep &= np.all(np.abs(texture_out[a] - texture_in[b]) <= alike, axis=1)
        a, b, distance, ratio_ab, ratio_ba = a[keep], b[keep], distance[keep], ratio_ab[keep], ratio_ba[keep]
        inside = (inside_out[a] + inside_in[b]) / 2
        cost = np.sqrt(distance / length)
        pairs = NeighbourPairs(np.full(len(a), kind), a, b, cost, cost / np.sqrt(inside),
                               np.sqrt(np.maximum(ratio_ab, ratio_ba)))
        return pairs, scored, balls, Candidates(kind, out, into, *links, side_out, side_in, cap, inside_out,
                                                inside_in, loosen, texture_out, texture_in, alike, length)

    # The kinds are independent and their work is mostly numpy, which lets go of the GIL: on a
    # machine with more than one core they run side by side (the same results, in kind order).
    if len(kinds) > 1 and workers != 1 and (os.cpu_count() or 1) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=len(kinds)) as pool:
            results = list(pool.map(one_kind, kinds))
    else:
        results = [one_kind(kind) for kind in kinds]
    found, candidates = [], {}
    for kind, (pairs, scored, balls, kind_candidates) in zip(kinds, results):
        found.append(pairs)
        candidates[kind] = kind_candidates
        stats["candidates"] += scored
        stats["fallbacks"] += balls
    return NeighbourPairs.concatenate(found), candidates, stats


def find_neighbours(images, *, model=None, ratio=RATIO, max_norm=MAX_NORM, max_cost=MAX_COST,
                    loop_max_norm=LOOP_MAX_NORM, max_texture=MAX_TEXTURE, max_contrast_change=MAX_CONTRAST_CHANGE,
                    min_contrast=MIN_CONTRAST, kinds=KINDS,
                    n_components=N_COMPONENTS, n_candidates=N_CANDIDATES, eps=EPS, verify=False, exact=False,
                    workers=-1, return_stats=False):
    """Find the pairs of tiles that continue each other to the right and below.

    Parameters
    ----------
    images : (n, H, W) ndarray of uint8
        The tiles, in dataset order (``dataset.images()``).
    model : EdgeModel, optional
        The edge compatibility (default: `EdgeModel` fitted on `images`).
    ratio : float in (0, 1]
        A match must be nearer than ``ratio`` times the runner-up, seen from both tiles.
    max_norm : float
        Largest seam cost relative to each tile's inside cost (about 1 for a seamless
        boundary; see `saltviewer.mosaic.compatibility`).
    max_cost : float
        Largest seam cost, in standard deviations of the edge lines.
    loop_max_norm : float
        The looser norm limit of an edge that closes a loop in the assembly; the search
        gathers candidates out to it (it does not change the pairs returned).
    max_texture : float
        Largest difference between the two sides' `edge_texture` (either measure, in log
        units): a pair that rests on one edge alone must also join alike textures.
    max_contrast_change : float
        Largest difference between the two sides' `band_contrast` (the spread of grey
        levels in the 24 lines along the seam, in log units: 0.8 is a factor 2.2), for a
        pair that rests on one edge alone.
    min_contrast : float
        Edge lines with a smaller standard deviation (grey levels) never match.
    kinds : sequence of {"right", "below"}
    n_components, n_candidates, eps : int, int, float
        Dimensions of the projected space the KD-tree works in, candidates each border
        gathers, and the tree's approximation (a candidate may be up to ``1 + eps``
        times farther than the true k-th nearest). They trade speed against the rare
        missed pair.
    verify : bool
        Check every kept pair with an exact ball query on each side, so that no pair is
        kept that comparing all pairs would reject. Without it (the default, about half
        the time) a kept pair's runner-up is taken among the candidates.
    exact : bool
        Settle every border completely (no pair is ever missed); much slower on large
        sets.
    workers : int
        Threads for the tree queries (-1: all cores); with more than 1 (or -1 on a machine
        of several cores) the two kinds of seams are also searched side by side, on two
        threads, 1 runs everything in turn (the same results either way).
    return_stats : bool
        Also return a dict of counts: ``candidates`` (pairs scored exactly) and
        ``fallbacks`` (ball queries run to verify or settle).

    Returns
    -------
    pairs : NeighbourPairs
        Right pairs, then below pairs, each sorted by `a`.
    stats : dict
        Only when `return_stats`.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> from scipy import ndimage
    >>> section = ndimage.gaussian_filter(rng.normal(128, 40, (202, 303)), 2).clip(0, 255).astype(np.uint8)
    >>> tiles = np.stack([section[r:r + 101, c:c + 101] for r in (0, 101) for c in (0, 101, 202)])
    >>> pairs = find_neighbours(tiles)
    >>> sorted(pairs.as_set())[:3]
    [('below', 0, 3), ('below', 1, 4), ('below', 2, 5)]
    """
    pairs, _, stats = search_candidates(images, model, ratio=ratio, max_norm=max_norm, max_cost=max_cost,
                                        loop_max_norm=loop_max_norm, max_texture=max_texture,
                                        max_contrast_change=max_contrast_change,
                                        min_contrast=min_contrast, kinds=kinds, n_components=n_components,
                                        n_candidates=n_candidates, eps=eps, verify=verify, exact=exact,
                                        workers=workers)
    if return_stats:
        stats["pairs"] = len(pairs)
        return pairs, stats
    return pairs
