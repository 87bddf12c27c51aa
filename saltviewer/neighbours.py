"""Find tiles that continue each other across an edge, with a KD-tree over border features.

Two tiles cut side by side from one seismic section continue each other: the first column
of the right-hand tile is close to what the left-hand tile's last two columns predict one
pixel further out, and the other way round. Every tile of the competition data was
stretched to the full grey range on its own, so two neighbours also differ by a change of
brightness and contrast; each border is therefore measured in units of its edge line
(mean removed, divided by its standard deviation). For a tile `a` and a tile `b` to its
right::

    out_a = [L + w (L - L2), L]          L, L2: a's last two columns, standardised by L
    in_b  = [R, R + w (R - R2)]          R, R2: b's first two columns, standardised by R
    cost(a, b)^2 = |out_a - in_b|^2 / (2 H)

a squared Euclidean distance between one feature vector per tile and side, so a KD-tree
answers "which left borders are nearest to this right border". Rows and the ``below``
relation work the same way.

A pair is kept when

- neither border is flat: both edge lines have a standard deviation of at least
  ``min_contrast`` grey levels (blank tiles and flat bands would match everything);
- the boundary is about as smooth as the tiles' insides: ``norm``, the cost over the
  root mean squared error of predicting a tile's own edge line from the two lines inside
  it, is at most ``max_norm`` seen from either tile, and the cost is at most ``max_cost``;
- it is the mutual best match: `b` is the nearest left border to `a`'s right border and
  `a` the nearest right border to `b`'s left border (ties count as no match);
- it passes the ratio test on both sides: the best distance is below ``ratio`` times the
  runner-up's.

Search. The features have 202 dimensions, too many for a KD-tree to prune, so the tree
holds their projection onto the leading principal components. A projection never
lengthens a vector: the projected distance is a lower bound of the exact one. Each border
asks the tree for its nearest candidates, no farther than the largest distance that can
still matter (its cost limit over the ratio); candidates from both directions are scored
exactly. With ``verify=True`` every pair that passes is then checked by a ball query
that holds every tile able to beat it or to fail its ratio test, so a kept pair is always
one that the comparison of all pairs keeps too and the candidate step can only miss a
pair (3 of 5,984 on the TGS data). ``exact=True`` settles every border completely
instead, at a much higher cost.
"""

import numpy as np

from ._errors import SaltviewerError

__all__ = ["KINDS", "NeighbourPairs", "find_neighbours", "border_features", "pair_costs", "edge_contrast"]

KINDS = ("right", "below")

# Defaults tuned on the 21,200 tiles of the TGS data (see benchmarks/bench_mosaic.py).
RATIO = 0.95
MAX_NORM = 1.75
MAX_COST = 1.5
MIN_CONTRAST = 4.0
N_COMPONENTS = 24
N_CANDIDATES = 8
EPS = 1.5
EXTRAPOLATION = 0.5
_SELF_FLOOR = 0.01     # (edge standard deviations)^2: a floor under the inside cost of very smooth edges


class NeighbourPairs:
    """Pairs of tiles that continue each other, as parallel arrays.

    Attributes
    ----------
    kind : (n,) ndarray of str
        ``"right"`` when tile `b` lies directly right of tile `a`, ``"below"`` when it
        lies directly below.
    a, b : (n,) ndarray of int
        Positions of the tiles in the stack searched (dataset order).
    cost : (n,) ndarray of float
        Root mean squared boundary mismatch, in standard deviations of the edge lines
        (the pair cost of the module notes).
    norm : (n,) ndarray of float
        `cost` over the root inside cost of the smoother of the two edges: about 1 for
        a boundary as smooth as the tiles' insides.
    ratio : (n,) ndarray of float
        Best over runner-up distance, the larger of the two sides' (smaller is more
        certain), the runner-up taken among the candidates the search scored; 0 when
        there was none. Always below the `ratio` parameter.
    """

    def __init__(self, kind, a, b, cost, norm, ratio):
        self.kind = np.asarray(kind, dtype="<U5")
        self.a = np.asarray(a, dtype=np.int64)
        self.b = np.asarray(b, dtype=np.int64)
        self.cost = np.asarray(cost, dtype=float)
        self.norm = np.asarray(norm, dtype=float)
        self.ratio = np.asarray(ratio, dtype=float)
        sizes = {len(x) for x in (self.kind, self.a, self.b, self.cost, self.norm, self.ratio)}
        if len(sizes) != 1:
            raise SaltviewerError(f"NeighbourPairs: kind, a, b, cost, norm and ratio must have one length, got {sorted(sizes)}.")

    def __len__(self):
        return len(self.a)

    def __repr__(self):
        counts = ", ".join(f"{np.sum(self.kind == k)} {k}" for k in KINDS)
        return f"<NeighbourPairs: {len(self)} pairs ({counts})>"

    def __getitem__(self, selection):
        return NeighbourPairs(self.kind[selection], self.a[selection], self.b[selection],
                              self.cost[selection], self.norm[selection], self.ratio[selection])

    def as_set(self):
        """The pairs as a set of ``(kind, a, b)`` tuples, for comparisons."""
        return {(str(k), int(a), int(b)) for k, a, b in zip(self.kind, self.a, self.b)}

    @classmethod
    def concatenate(cls, parts):
        parts = list(parts)
        if not parts:
            return cls.empty()
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("kind", "a", "b", "cost", "norm", "ratio")))

    @classmethod
    def empty(cls):
        return cls([], [], [], [], [], [])


def _check_images(images):
    images = np.asarray(images)
    if images.ndim != 3:
        raise SaltviewerError(f"images: expected a stack of tiles (n, height, width), got shape {images.shape}.")
    if images.shape[1] < 3 or images.shape[2] < 3:
        raise SaltviewerError(f"images: tiles must be at least 3x3 pixels to extrapolate their borders, "
                              f"got {images.shape[1]}x{images.shape[2]}.")
    if not np.issubdtype(images.dtype, np.number) or np.issubdtype(images.dtype, np.complexfloating):
        raise SaltviewerError(f"images: expected real numbers (uint8 grey levels), got dtype {images.dtype}.")
    return images


def _check_kind(kind):
    if kind not in KINDS:
        raise SaltviewerError(f"kind must be 'right' or 'below', got {kind!r}.")


def _border_block(images, kind):
    """The three outermost lines on both sides that `kind` compares, as one compact array.

    (n, H, 6) for ``right`` (first three and last three columns), (n, 6, W) for
    ``below``; every border function gives the same answer on it as on the tiles.
    """
    if images.shape[2 if kind == "right" else 1] <= 6:
        return images
    if kind == "right":
        return np.concatenate([images[:, :, :3], images[:, :, -3:]], axis=2)
    return np.concatenate([images[:, :3, :], images[:, -3:, :]], axis=1)


def _lines(images, kind, side, depth):
    """The border lines of every tile, outermost first: ``depth`` arrays of (n, length).

    ``side`` is ``"out"`` for the border facing the neighbour named by `kind` (the last
    columns for ``right``, the last rows for ``below``), ``"in"`` for the opposite one.
    """
    lines = []
    for k in range(depth):
        if kind == "right":
            line = images[:, :, -1 - k] if side == "out" else images[:, :, k]
        else:
            line = images[:, -1 - k, :] if side == "out" else images[:, k, :]
        lines.append(np.asarray(line, dtype=np.float32))
    return lines


def _standardise(edge, *lines):
    """Lines in units of the edge line: minus its mean, over its standard deviation."""
    mean = edge.mean(axis=1, keepdims=True, dtype=np.float64).astype(np.float32)
    scale = edge.std(axis=1, keepdims=True, dtype=np.float64).astype(np.float32)
    scale[scale == 0] = 1
    return [(line - mean) / scale for line in (edge,) + lines]


def border_features(images, kind, extrapolation=EXTRAPOLATION):
    """Feature vectors whose squared distances are the pair costs (times ``2 * length``).

    Every tile of the competition data was stretched to the full grey range on its
    own, so two neighbours differ by a brightness and contrast change; the features
    are therefore measured in units of the edge line (its mean subtracted, divided by
    its standard deviation).

    Parameters
    ----------
    images : (n, H, W) ndarray
    kind : {"right", "below"}
    extrapolation : float
        Weight ``w`` of the one-pixel outward step: ``L + w (L - L2)``; 1 is linear
        extrapolation, 0 compares edges directly.

    Returns
    -------
    out : (n, 2 * length) ndarray of float32
        Features of the border facing the neighbour (``[L + w (L - L2), L]``).
    into : (n, 2 * length) ndarray of float32
        Features of the opposite border (``[R, R + w (R - R2)]``).
    """
    _check_kind(kind)
    images = _check_images(images)
    edge, inner = _standardise(*_lines(images, kind, "out", 2))
    out = np.concatenate([edge + extrapolation * (edge - inner), edge], axis=1)
    edge, inner = _standardise(*_lines(images, kind, "in", 2))
    into = np.concatenate([edge, edge + extrapolation * (edge - inner)], axis=1)
    return out, into


def _inside_cost(images, kind, side, extrapolation):
    """Mean squared error of predicting each tile's edge line from the two lines inside it,
    in units of the edge line, floored."""
    edge, inner, inner2 = _standardise(*_lines(images, kind, side, 3))
    return np.maximum(np.mean((inner + extrapolation * (inner - inner2) - edge) ** 2, axis=1), _SELF_FLOOR)


def edge_contrast(images, kind, side):
    """Standard deviation of each tile's edge line, in grey levels: (n,) ndarray of float."""
    _check_kind(kind)
    images = _check_images(images)
    return _lines(images, kind, side, 1)[0].std(axis=1)


def pair_costs(images, a, b, kind, extrapolation=EXTRAPOLATION):
    """Exact boundary costs of given pairs, the reference every search agrees with.

    Parameters
    ----------
    images : (n, H, W) ndarray
    a, b : (m,) array of int
        Tile positions; tile ``b[i]`` is placed right of (or below) tile ``a[i]``.
    kind : {"right", "below"}

    Returns
    -------
    cost : (m,) ndarray of float
        Root mean squared mismatch of the two one-pixel extrapolations, in standard
        deviations of the edge lines.
    norm : (m,) ndarray of float
        `cost` over the root inside cost of the smoother of the two edges (see
        `find_neighbours`).
    """
    _check_kind(kind)
    images = _check_images(images)
    a = np.atleast_1d(np.asarray(a, dtype=np.int64))
    b = np.atleast_1d(np.asarray(b, dtype=np.int64))
    out, _ = border_features(images[a], kind, extrapolation)
    _, into = border_features(images[b], kind, extrapolation)
    squared = np.sum((out - into) ** 2, axis=1) / out.shape[1]
    inside = np.minimum(_inside_cost(images[a], kind, "out", extrapolation),
                        _inside_cost(images[b], kind, "in", extrapolation))
    return np.sqrt(squared), np.sqrt(squared / inside)


def _principal_axes(features, n_components, sample=8192):
    """Orthonormal (D, k) basis of the leading principal directions of the rows.

    Any orthonormal basis keeps the search exact; a good one only makes it faster, so
    it is fitted on an evenly spaced subset of at most `sample` rows.
    """
    step = max(1, len(features) // sample)
    subset = features[::step]
    centred = subset - subset.mean(axis=0)
    values, vectors = np.linalg.eigh(centred.T @ centred)
    order = np.argsort(values)[::-1][:n_components]
    return np.ascontiguousarray(vectors[:, order])


def _squared_distances(query_features, index_features, rows, columns, chunk=65536):
    """Exact squared distances between tiles ``rows[i]`` and ``columns[i]`` (flat arrays)."""
    out = np.empty(len(rows))
    for start in range(0, len(rows), chunk):
        stop = start + chunk
        difference = query_features[rows[start:stop]] - index_features[columns[start:stop]]
        out[start:stop] = np.einsum("ij,ij->i", difference, difference)
    return out


def _two_smallest(group, candidate, distance, size):
    """Per group: the candidate with the smallest distance, that distance and the next.

    Ties are broken by candidate position, so the answer never depends on the order the
    tree returned the candidates in.
    """
    best = np.full(size, -1, dtype=np.int64)
    first = np.full(size, np.inf)
    second = np.full(size, np.inf)
    if len(group) == 0:
        return best, first, second
    order = np.lexsort((candidate, distance, group))
    group, candidate, distance = group[order], candidate[order], distance[order]
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    best[group[starts]] = candidate[starts]
    first[group[starts]] = distance[starts]
    has_second = starts + 1 < len(group)
    has_second[has_second] = group[starts[has_second] + 1] == group[starts[has_second]]
    second[group[starts[has_second]]] = distance[starts[has_second] + 1]
    return best, first, second


def _best_two(query_features, index_features, queries, indexed, limit, ratio, n_components, n_candidates,
              workers=-1):
    """For each query tile: its nearest index tile, and whether that match passes.

    A match passes when its squared distance is at most the query's `limit` and below
    ``ratio**2`` times the runner-up's. The answer is exact, the same as comparing the
    query with every index tile: a KD-tree on projected features proposes candidates
    and a ball query settles every query whose candidates cannot prove the answer.

    Parameters
    ----------
    query_features, index_features : (n, D) ndarray of float32
        Features of every tile; a tile is never its own match.
    queries, indexed : (n,) ndarray of bool
        Which tiles ask, and which tiles may be found.
    limit : (n,) ndarray of float
        Largest squared distance a query accepts.

    Returns
    -------
    best : (n,) ndarray of int
        The nearest index tile where the match passes, else -1.
    first : (n,) ndarray of float
        Its squared distance (inf where none passes).
    second : (n,) ndarray of float
        The runner-up's squared distance, or a lower bound of it large enough to show
        that the ratio test passes (inf where none passes).
    fallbacks : int
        Queries that needed a ball query.
    """
    from scipy.spatial import cKDTree

    n = len(query_features)
    best = np.full(n, -1, dtype=np.int64)
    first = np.full(n, np.inf)
    second = np.full(n, np.inf)
    rows = np.flatnonzero(queries & (limit > 0))
    index_rows = np.flatnonzero(indexed)
    if len(rows) == 0 or len(index_rows) == 0:
        return best, first, second, 0
    basis = _principal_axes(np.concatenate([query_features[rows], index_features[index_rows]]),
                            min(n_components, query_features.shape[1]))
    projected_query = query_features[rows] @ basis
    tree = cKDTree(index_features[index_rows] @ basis)
    scale = 1.0 / ratio ** 2
    accept = limit[rows]

    # 1. The k nearest in projection, with their exact distances.
    k = min(n_candidates + 1, len(index_rows))   # +1: a tile may find itself
    bound, found = tree.query(projected_query, k=k, workers=workers)
    bound, found = bound.reshape(len(rows), k), index_rows[found.reshape(len(rows), k)]
    group = np.repeat(np.arange(len(rows)), k)
    candidate = found.ravel()
    distance = _squared_distances(query_features, index_features, rows[group], candidate)
    distance[candidate == rows[group]] = np.inf
    top, d1, d2 = _two_smallest(group, candidate, distance, len(rows))

    # 2. A tile outside the candidates is at least as far, exactly, as the farthest
    #    candidate is in projection (shaved for rounding); when the tree holds no more
    #    than k tiles, every tile was a candidate. Settled: no tile outside can be a
    #    match within the limit, or none can come nearer than the runner-up that
    #    decides the ratio test.
    if k < len(index_rows):
        outside = bound[:, -1] ** 2 * (1 - 1e-9)
    else:
        outside = np.full(len(rows), np.inf)
    hopeless = np.minimum(d1, outside) > accept
    decided = (d1 <= accept) & (outside >= np.minimum(d2, d1 * scale))
    d2 = np.where(decided, np.minimum(d2, np.maximum(outside, d1 * scale)), d2)

    # 3. The rest: every tile nearer than min(limit, d1) / ratio**2 lies within that
    #    radius in projection too, so the ball holds the best match and any runner-up
    #    that matters; beyond it, the runner-up is at least the radius.
    unsettled = np.flatnonzero(~(hopeless | decided))
    if len(unsettled):
        radius_squared = np.minimum(accept[unsettled], d1[unsettled]) * scale * (1 + 1e-9) + 1e-12
        balls = tree.query_ball_point(projected_query[unsettled], np.sqrt(radius_squared), workers=workers)
        sizes = np.fromiter((len(ball) for ball in balls), dtype=np.int64, count=len(balls))
        group = np.repeat(np.arange(len(unsettled)), sizes)
        candidate = index_rows[np.fromiter((i for ball in balls for i in ball), dtype=np.int64, count=sizes.sum())]
        distance = _squared_distances(query_features, index_features, rows[unsettled][group], candidate)
        distance[candidate == rows[unsettled][group]] = np.inf
        t, e1, e2 = _two_smallest(group, candidate, distance, len(unsettled))
        top[unsettled], d1[unsettled], d2[unsettled] = t, e1, np.minimum(e2, radius_squared)

    passes = (d1 <= accept) & (d1 < ratio ** 2 * d2)
    best[rows] = np.where(passes, top, -1)
    first[rows] = np.where(passes, d1, np.inf)
    second[rows] = np.where(passes, d2, np.inf)
    return best, first, second, len(unsettled)


def _nearest(tree, points, radius, k, eps, workers, bunches=16):
    """Up to `k` nearest tree points of each point, no farther than its radius.

    Returns
    -------
    query, found : (m,) ndarray of int
        Pairs of a point's position and a tree point's position.
    reach : (len(points),) ndarray of float
        A lower bound of the distance from each point to every tree point not returned:
        the k-th distance found (or the search radius when fewer were found) over
        ``1 + eps``, as the tree prunes.
    """
    k = min(k, tree.n)
    edges = np.unique(np.quantile(radius, np.linspace(0, 1, bunches + 1)))
    bunch = np.searchsorted(edges, radius)
    queries, found = [], []
    reach = np.empty(len(points))
    for label in np.unique(bunch):
        members = np.flatnonzero(bunch == label)
        bound = float(radius[members].max())
        distance, index = tree.query(points[members], k=k, eps=eps, workers=workers, distance_upper_bound=bound)
        distance, index = distance.reshape(len(members), k), index.reshape(len(members), k)
        hit = index < tree.n
        queries.append(np.broadcast_to(members[:, None], index.shape)[hit])
        found.append(index[hit])
        reach[members] = np.minimum(distance[:, -1], bound) / (1 + eps)
    return np.concatenate(queries), np.concatenate(found), reach


def _runner_up(tree, rows, points, query_features, index_features, index_rows, best, first, scale, workers):
    """Exact check of matches: the nearest distance to any other tile within reach.

    Every tile nearer than ``first / scale`` to a query lies within that radius in
    projection, so one ball query per match finds them all.

    Returns
    -------
    second : (m,) ndarray of float
        The smallest squared distance from query ``rows[i]`` to a tile other than itself
        and ``best[i]``, where it is below the radius; else the radius squared, a lower
        bound.
    """
    reach = first / scale * (1 + 1e-4) + 1e-6       # margin for float32 rounding
    balls = tree.query_ball_point(points, np.sqrt(reach), workers=workers)
    sizes = np.fromiter((len(ball) for ball in balls), dtype=np.int64, count=len(balls))
    group = np.repeat(np.arange(len(rows)), sizes)
    candidate = index_rows[np.fromiter((i for ball in balls for i in ball), dtype=np.int64, count=sizes.sum())]
    distance = _squared_distances(query_features, index_features, rows[group], candidate)
    distance[(candidate == rows[group]) | (candidate == best[group])] = np.inf
    second = np.full(len(rows), np.inf)
    np.minimum.at(second, group, distance)
    return np.minimum(second, reach)


def _search_both_ways(out, into, queries, indexed, limit_out, limit_in, ratio, n_components, n_candidates,
                      eps=EPS, verify=True, workers=-1):
    """Mutual best pairs from KD-tree candidates, each verified exactly.

    Each out-border asks a tree of in-borders for its `n_candidates` nearest in the
    projected space, and each in-border asks a tree of out-borders; the union of both
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
    """
    from scipy.spatial import cKDTree

    n = len(out)
    empty = np.zeros(0, dtype=np.int64)
    out_rows = np.flatnonzero(queries & (limit_out > 0))
    in_rows = np.flatnonzero(indexed & (limit_in > 0))
    if len(out_rows) == 0 or len(in_rows) == 0:
        return empty, empty, np.zeros(0), np.zeros(0), 0, 0
    basis = _principal_axes(np.concatenate([out[out_rows], into[in_rows]]), min(n_components, out.shape[1]))
    projected_out = out[out_rows] @ basis
    projected_in = into[in_rows] @ basis
    tree_out, tree_in = cKDTree(projected_out), cKDTree(projected_in)
    scale = ratio ** 2
    # 1. Candidates. Only tiles within sqrt(limit) / ratio of a border in projection can
    #    be its match or a runner-up that fails it, so each search stops there.
    q, f, reach_out = _nearest(tree_in, projected_out, np.sqrt(limit_out[out_rows] / scale), n_candidates + 1,
                               eps, workers)
    keys = [out_rows[q] * n + in_rows[f]]
    q, f, reach_in = _nearest(tree_out, projected_in, np.sqrt(limit_in[in_rows] / scale), n_candidates + 1,
                              eps, workers)
    keys.append(out_rows[f] * n + in_rows[q])
    a, b = np.divmod(np.unique(np.concatenate(keys)), n)
    keep = a != b
    a, b = a[keep], b[keep]
    scored = len(a)
    # 2. Best and runner-up of every border among its scored candidates.
    distance = _squared_distances(out, into, a, b)
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
        return a, b, first / shown_ab, first / shown_ba, scored, 0
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
    return a, b, first / shown_ab[keep], first / shown_ba[keep], scored, balls


def _check_parameters(ratio, max_norm, max_cost, min_contrast, n_components, n_candidates):
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


def find_neighbours(images, *, ratio=RATIO, max_norm=MAX_NORM, max_cost=MAX_COST, min_contrast=MIN_CONTRAST,
                    extrapolation=EXTRAPOLATION, kinds=KINDS, n_components=N_COMPONENTS,
                    n_candidates=N_CANDIDATES, eps=EPS, verify=False, exact=False, workers=-1,
                    return_stats=False):
    """Find the pairs of tiles that continue each other to the right and below.

    Parameters
    ----------
    images : (n, H, W) ndarray of uint8
        The tiles, in dataset order (``dataset.images()``).
    ratio : float in (0, 1]
        A match must be nearer than ``ratio`` times the runner-up, seen from both tiles.
    max_norm : float
        Largest boundary cost relative to each tile's inside cost (about 1 for a
        seamless boundary; see the module notes).
    max_cost : float
        Largest boundary cost, in standard deviations of the edge lines.
    min_contrast : float
        Edge lines with a smaller standard deviation (grey levels) never match.
    extrapolation : float
        Weight ``w`` of the one-pixel outward step (1: linear extrapolation, 0: compare
        the edge lines themselves).
    kinds : sequence of {"right", "below"}
    n_components, n_candidates, eps : int, int, float
        Dimensions of the projected space the KD-tree works in, candidates each border
        gathers, and the tree's approximation (a candidate may be up to ``1 + eps``
        times farther than the true k-th nearest). They trade speed against the rare
        missed pair; a kept pair is always one that comparing all pairs keeps too.
    verify : bool
        Check every kept pair with an exact ball query on each side, so that no pair is
        kept that comparing all pairs would reject. Without it (the default, about half
        the time) a kept pair's runner-up is taken among the candidates, and 19 of the
        6,000 pairs kept on the TGS data have an unseen runner-up within the ratio.
    exact : bool
        Settle every border completely (no pair is ever missed); much slower on large
        sets.
    workers : int
        Threads for the tree queries (-1: all cores).
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
    images = _check_images(images)
    _check_parameters(ratio, max_norm, max_cost, min_contrast, n_components, n_candidates)
    if not (isinstance(eps, (int, float)) and eps >= 0):
        raise SaltviewerError(f"eps must be a number >= 0, got {eps!r}.")
    kinds = [kinds] if isinstance(kinds, str) else list(kinds)
    for kind in kinds:
        _check_kind(kind)
    found = []
    stats = {"tiles": len(images), "candidates": 0, "fallbacks": 0}
    for kind in kinds:
        border = _border_block(images, kind)
        out, into = border_features(border, kind, extrapolation)
        length = out.shape[1]
        inside_out = _inside_cost(border, kind, "out", extrapolation)
        inside_in = _inside_cost(border, kind, "in", extrapolation)
        contrast_out = edge_contrast(border, kind, "out") >= min_contrast
        contrast_in = edge_contrast(border, kind, "in") >= min_contrast
        limit_out = np.minimum(max_norm ** 2 * inside_out, max_cost ** 2) * length
        limit_in = np.minimum(max_norm ** 2 * inside_in, max_cost ** 2) * length
        if exact:
            best_b, cost_ab, second_ab, fb1 = _best_two(out, into, contrast_out, contrast_in, limit_out, ratio,
                                                        n_components, n_candidates, workers)
            best_a, cost_ba, second_ba, fb2 = _best_two(into, out, contrast_in, contrast_out, limit_in, ratio,
                                                        n_components, n_candidates, workers)
            stats["fallbacks"] += fb1 + fb2
            a = np.flatnonzero(best_b >= 0)
            b = best_b[a]
            mutual = best_a[b] == a
            a, b = a[mutual], b[mutual]
            ratio_ab, ratio_ba = cost_ab[a] / second_ab[a], cost_ba[b] / second_ba[b]
        else:
            a, b, ratio_ab, ratio_ba, scored, balls = _search_both_ways(
                out, into, contrast_out, contrast_in, limit_out, limit_in, ratio, n_components, n_candidates,
                eps, verify, workers)
            stats["candidates"] += scored
            stats["fallbacks"] += balls
        cost, norm = pair_costs(border, a, b, kind, extrapolation)
        worst = np.sqrt(np.maximum(ratio_ab, ratio_ba))
        found.append(NeighbourPairs(np.full(len(a), kind), a, b, cost, norm, worst))
    pairs = NeighbourPairs.concatenate(found)
    if return_stats:
        stats["pairs"] = len(pairs)
        return pairs, stats
    return pairs
