"""KD-tree machinery of the neighbour search: projections, candidates, exact runner-ups.

A projection onto orthonormal axes never lengthens a vector, so a distance measured in
the projected space is a lower bound of the exact one; every function here relies on
that to prove what it did not look at.
"""

import numpy as np


def _principal_axes(features, n_components):
    """Orthonormal (D, k) basis of the leading principal directions of the rows.

    Any orthonormal basis keeps the search exact; a good one only makes it faster. It is
    fitted on every row (0.2 s for the TGS tiles' two kinds of seams), so that the rows'
    order, which follows the tiles' names, cannot change it.
    """
    centred = features - features.mean(axis=0)
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
