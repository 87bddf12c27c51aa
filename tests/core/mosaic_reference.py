"""The exhaustive reference of the mosaic growth: every step replayed against the costs of all pairs.

Used by tests/core/test_mosaic.py on small sets (all costs in memory) and by
benchmarks/bench_mosaic.py on the 21,200 TGS tiles (each row of costs computed when a step
needs it).
"""

import numpy as np

from saltviewer.mosaic.assembly import (GROW_RATIO, JOIN_RATIO, JOIN_SMOOTH, JOIN_STEP, LOOP_RATIO, SMOOTH_EDGE,
                                       SMOOTH_RATIO)

STEP = {"right": (0, 1), "below": (1, 0)}
# The side of a tile that faces each neighbour: (kind, side of the tile, grid offset to the neighbour)
SIDES = (("right", "out", (0, 1)), ("right", "in", (0, -1)), ("below", "out", (1, 0)), ("below", "in", (-1, 0)))


class Costs:
    """Squared feature distances of every pair, row by row, in float64.

    ``row(kind, a)`` holds the distance from `a` (left of / above) to every tile,
    ``column(kind, b)`` from every tile to `b`. With ``dense=True`` both come from full
    matrices; otherwise each is computed when asked for and kept.
    """

    def __init__(self, candidates, dense=False):
        self.features = {kind: (found.out.astype(np.float64), found.into.astype(np.float64))
                         for kind, found in candidates.items()}
        self.norms = {kind: ((out ** 2).sum(1), (into ** 2).sum(1)) for kind, (out, into) in self.features.items()}
        self.matrix = {}
        if dense:
            for kind, (out, into) in self.features.items():
                norm_out, norm_in = self.norms[kind]
                self.matrix[kind] = np.maximum(norm_out[:, None] + norm_in[None, :] - 2 * out @ into.T, 0)
        self.kept = {}

    def row(self, kind, a):
        if kind in self.matrix:
            return self.matrix[kind][a]
        key = (kind, "row", a)
        if key not in self.kept:
            out, into = self.features[kind]
            self.kept[key] = np.maximum(self.norms[kind][0][a] + self.norms[kind][1] - 2 * into @ out[a], 0)
        return self.kept[key]

    def column(self, kind, b):
        if kind in self.matrix:
            return self.matrix[kind][:, b]
        key = (kind, "column", b)
        if key not in self.kept:
            out, into = self.features[kind]
            self.kept[key] = np.maximum(self.norms[kind][0] + self.norms[kind][1][b] - 2 * out @ into[b], 0)
        return self.kept[key]


class _State:
    """Where each tile sits during the replay, and which of its sides are taken."""

    def __init__(self, n):
        self.where = {}
        self.cells = {}
        self.placed = np.zeros(n, bool)
        self.taken = {offset: np.zeros(n, bool) for _, _, offset in SIDES}

    def put(self, tile, mosaic, r, c):
        self.where[tile] = (mosaic, r, c)
        cells = self.cells.setdefault(mosaic, {})
        cells[(r, c)] = tile
        self.placed[tile] = True
        for _, _, (dr, dc) in SIDES:
            other = cells.get((r + dr, c + dc))
            if other is not None:
                self.taken[(dr, dc)][tile] = True
                self.taken[(-dr, -dc)][other] = True

    def free(self, offset):
        """Tiles whose side toward `offset` is free: (n,) bool."""
        return ~self.placed | ~self.taken[offset]


def replay_against_exhaustive_costs(candidates, log, costs=None, ratio=GROW_RATIO, loop_ratio=LOOP_RATIO,
                                    join_ratio=JOIN_RATIO, join_step=JOIN_STEP, join_smooth=JOIN_SMOOTH,
                                    smooth_edge=SMOOTH_EDGE, smooth_ratio=SMOOTH_RATIO):
    """Replay a growth step by step and re-check every placement and join with the costs of all
    pairs: each edge's distance and limits, the margin over the best other free tile and, for a
    single neighbour, over the tile's best free rival; for a join, the product of each edge's
    distance over its best free alternative against the margin for its number of below edges,
    and the edges' summed distance over their summed strict limits.

    Returns
    -------
    wrong : list of Placement
        The steps an exhaustive search would not have taken (each once per failed check).
    """
    costs = Costs(candidates, dense=True) if costs is None else costs
    n = len(next(iter(candidates.values())).out)
    state = _State(n)
    wrong = []

    def best_free(kind, tile, side, exclude):
        """Distance from one side of `tile` to the nearest other tile whose facing side is free."""
        values = costs.row(kind, tile) if side == "out" else costs.column(kind, tile)
        offset = tuple(-x for x in STEP[kind]) if side == "out" else STEP[kind]
        allowed = state.free(offset).copy()
        allowed[[tile, exclude]] = False
        return values[allowed].min(initial=np.inf)

    def within(kind, a, b, loose):
        return costs.row(kind, a)[b] <= candidates[kind].limit([a], [b], loose)[0] * (1 + 1e-6) + 1e-6

    for entry in log:
        for kind, a, b, d in entry.links:
            if abs(d - costs.row(kind, a)[b]) > 1e-4 * max(d, 1.0) + 1e-3:
                wrong.append(entry)
        if entry.reason == "join":
            product, summed, limits = 1.0, 0.0, 0.0
            for kind, a, b, _ in entry.links:
                alternative = min(best_free(kind, a, "out", b), best_free(kind, b, "in", a))
                product *= costs.row(kind, a)[b] / alternative
                summed += costs.row(kind, a)[b]
                limits += candidates[kind].limit([a], [b])[0]
                single = len(entry.links) == 1
                if not within(kind, a, b, loose=not single) or (single and not
                                                                  candidates[kind].textures_agree([a], [b])[0]):
                    wrong.append(entry)
            smooth = summed / limits if limits > 0 else np.inf
            tolerance = 1 + 1e-6
            if len(entry.links) == 1:
                passes = product < ratio ** 2 * tolerance or (smooth <= smooth_edge * tolerance
                                                              and product < smooth_ratio * tolerance)
            else:
                below = sum(kind == "below" for kind, _, _, _ in entry.links)
                passes = (smooth <= join_smooth * tolerance
                          and product < join_ratio * join_step ** max(below - 2, 0) * tolerance)
            if not passes:
                wrong.append(entry)
            for (r, c), tile in state.cells.pop(entry.moved).items():
                state.put(tile, entry.mosaic, r + entry.cell[0], c + entry.cell[1])
            continue
        if entry.reason == "grow":
            loose = len(entry.links) > 1
            totals = np.zeros(n)
            for kind, a, b, _ in entry.links:
                if not within(kind, a, b, loose) or (not loose and not candidates[kind].textures_agree([a], [b])[0]):
                    wrong.append(entry)
                totals += costs.row(kind, a) if b == entry.tile else costs.column(kind, b)
            others = ~state.placed
            others[entry.tile] = False
            margin = ratio ** 2 if not loose else loop_ratio ** 2
            if not entry.total < margin * totals[others].min(initial=np.inf) * (1 + 1e-6):
                wrong.append(entry)
            if not loose:
                kind, a, b, _ = entry.links[0]
                side, neighbour = ("in", a) if b == entry.tile else ("out", b)
                if not entry.total < margin * best_free(kind, entry.tile, side, neighbour) * (1 + 1e-6):
                    wrong.append(entry)
        state.put(entry.tile, entry.mosaic, *entry.cell)
    return wrong
