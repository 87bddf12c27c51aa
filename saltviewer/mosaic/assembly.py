"""Greedy growth of mosaics from seeds: a tile is placed only where it is clearly the best.

The search gives seeds (mutual best pairs that pass the ratio test) and, for every tile
side, its nearest candidates with exact costs (`Candidates`). A mosaic starts from the most
certain seed not yet placed and grows cell by cell. For an empty cell next to the mosaic,
every tile not yet placed anywhere is scored by its summed cost (squared feature distance)
against *all* the placed tiles around the cell with a textured facing side; the cell takes
the best tile when

- each of its edges with a placed neighbour is within the limits (the strict norm and cost
  limits and alike textures for a cell with one such neighbour, the looser
  ``loop_max_norm`` for a cell with more);
- its summed cost beats the runner-up tile's by a margin: ``S1 < ratio**2 * S2`` (a tile
  no candidate list holds counts as far as the farthest candidate of each list: the
  lists' reach);
- with a single placed neighbour, the neighbour is also the tile's own best match on that
  side among the tiles whose facing side is still free (the *rival* test), by the same
  margin.

Cells with two or more placed neighbours close a loop (a 2x2 square of four matches, or
longer): their evidence is summed over every edge, so they go first and take the margin
``loop_ratio``. Tiles already placed are no longer candidates, so as mosaics grow the
runner-ups fall away and edges too ambiguous to pass alone get placed. When no cell
passes, the next seed starts a new mosaic; a cell may still pass later, when a tile that
made it ambiguous is placed elsewhere.

Then mosaics that continue each other are joined, most certain first, and the joined
mosaics grow again, until nothing changes. A join is proposed by a candidate pair between
two mosaics' free sides; it moves the smaller mosaic and is taken when no two tiles would
share a cell, every edge it makes (flat sides aside) is within the limits, and the product
over those edges of each edge's distance over its nearest alternative among free sides
(its *product*) is small enough:

- a join that makes one edge: below ``ratio**2``, as a tile placed on one edge; or below
  ``smooth_ratio`` when the edge is smooth (its distance at most ``smooth_edge`` times
  its strict limit);
- a join that makes two or more edges, n of them below edges: below
  ``join_ratio * join_step**max(n - 2, 0)``, and its edges smooth on the whole (their
  summed distance at most ``join_smooth`` times their summed strict limits).

Rows of tiles stack on each other through many weak edges at once. Below seams of layered
rock are weak one by one: the tiles one column aside continue the layers nearly as well,
so a below edge's nearest alternative is often as near as the edge itself, and the product
grows with the number of below edges even for a true join. The margin therefore grows
with every below edge beyond two, while the summed smoothness keeps out strips that meet
along seams rougher than the tiles' insides. Right seams are strong one by one, so they
widen nothing: a right edge with a nearer alternative counts against its join in full
(see benchmarks/bench_mosaic.py for the figures).
"""

import heapq
from dataclasses import dataclass

import numpy as np

from .._errors import SaltviewerError
from .grid import STEP

__all__ = ["grow_mosaics", "Placement", "GROW_RATIO", "LOOP_RATIO", "JOIN_RATIO", "JOIN_STEP", "JOIN_SMOOTH",
           "SMOOTH_EDGE", "SMOOTH_RATIO"]

# Defaults tuned on the synthetic samples' true layout and on the TGS tiles (benchmarks/bench_mosaic.py).
GROW_RATIO = 0.8
LOOP_RATIO = 0.85
JOIN_RATIO = 1.28
JOIN_STEP = 2.5
JOIN_SMOOTH = 0.6
SMOOTH_EDGE = 0.4
SMOOTH_RATIO = 0.8
# A cell's neighbours: grid offset, the kind of edge, and whether the neighbour is `a` of it.
_AROUND = (((0, -1), "right", True), ((-1, 0), "below", True), ((0, 1), "right", False), ((1, 0), "below", False))


@dataclass
class Placement:
    """One step of the growth, for checking it against an exhaustive reference.

    Attributes
    ----------
    step : int
    mosaic : int
        The mosaic's number in the growth (not its final number).
    tile : int
    cell : (int, int)
        Row and col in the mosaic's own frame (may be negative); for a join, the shift of
        the mosaic moved.
    links : list of (str, int, int, float)
        ``(kind, a, b, distance)`` of every edge the tile makes with placed neighbours.
    total : float
        Summed distance of those edges (0 for the first tile of a seed); for a join, the
        product over its edges of each edge's distance over the nearest alternative
        among free sides.
    runner_up : float
        Lower bound of the best other free tile's summed distance (inf for a seed).
    rival : float
        With one neighbour: lower bound of the distance from the tile to its best
        other partner with a free side (inf otherwise).
    reason : str
        ``"seed"``, ``"grow"`` or ``"join"``.
    moved : int
        For a join, the mosaic moved into `mosaic` (by `cell`, then rows and cols); else -1.
    """

    step: int
    mosaic: int
    tile: int
    cell: tuple
    links: list
    total: float
    runner_up: float
    rival: float
    reason: str
    moved: int = -1


class _Growth:
    def __init__(self, candidates, n_tiles, ratio, loop_ratio, join_ratio, record, join_step=JOIN_STEP,
                 join_smooth=JOIN_SMOOTH, smooth_edge=SMOOTH_EDGE, smooth_ratio=SMOOTH_RATIO):
        self.n = n_tiles
        self.join_ratio, self.join_step, self.join_smooth = join_ratio, join_step, join_smooth
        self.smooth_edge, self.smooth_ratio = smooth_edge, smooth_ratio
        self.ratio2, self.loop_ratio2 = ratio ** 2, loop_ratio ** 2
        self.candidates = candidates
        self.out_lists, self.in_lists, self.known = {}, {}, {}
        self.reach_out, self.reach_in, self.side_out, self.side_in = {}, {}, {}, {}
        self.cap, self.loosen = {}, {}
        self.texture_out, self.texture_in, self.max_texture = {}, {}, {}
        for kind in STEP:
            found = candidates.get(kind)
            if found is None:
                self.out_lists[kind], self.in_lists[kind], self.known[kind] = {}, {}, {}
                zeros = [0.0] * n_tiles
                self.reach_out[kind] = self.reach_in[kind] = self.side_out[kind] = self.side_in[kind] = zeros
                self.cap[kind], self.loosen[kind] = 0.0, 1.0
                self.texture_out[kind] = self.texture_in[kind] = [(0.0,)] * n_tiles
                self.max_texture[kind] = (np.inf,)
                continue
            self.out_lists[kind], self.in_lists[kind] = found.lists()
            self.known[kind] = {}
            self.reach_out[kind], self.reach_in[kind] = found.reach_out.tolist(), found.reach_in.tolist()
            self.side_out[kind], self.side_in[kind] = found.side_out.tolist(), found.side_in.tolist()
            self.cap[kind], self.loosen[kind] = found.cap, found.loosen
            self.texture_out[kind], self.texture_in[kind] = found.texture_out.tolist(), found.texture_in.tolist()
            self.max_texture[kind] = tuple(found.max_texture.tolist())
        self.materialised = set()  # (kind, out side, tile) whose list has been read
        self.where = {}            # tile -> (mosaic, row, col)
        self.cells = []            # mosaic -> {(row, col): tile}
        self.heap = []
        self.version = {}          # (mosaic, row, col) -> number of its latest evaluation
        self.watchers = {}         # tile -> cells whose evaluation involved it
        self.log = [] if record else None
        self.counter = 0
        self.dirty = set()         # mosaics changed since the last round of joins

    # ------------------------------------------------------------------ costs
    def distance(self, kind, a, b):
        """Exact squared distance of ``b`` right of / below ``a`` (cached)."""
        key = a * self.n + b
        value = self.known[kind].get(key)
        if value is None:
            value = float(self.candidates[kind].distances([a], [b])[0]) if kind in self.candidates else np.inf
            self.known[kind][key] = value
        return value

    def listed(self, kind, tile, out_side):
        """A side's candidates, nearest first: ``[(distance, other), ...]`` (their distances
        join the cache the first time)."""
        lists = (self.out_lists if out_side else self.in_lists)[kind]
        key = (kind, out_side, tile)
        if key in self.materialised:
            return lists.get(tile, ())
        self.materialised.add(key)
        found = lists.get(tile, ())
        known, n = self.known[kind], self.n
        for distance, other in found:
            known[tile * n + other if out_side else other * n + tile] = distance
        return found

    def _distances(self, kind, pairs):
        """Exact squared distances of many pairs (a, b), the missing ones computed at once."""
        known, n = self.known[kind], self.n
        keys = [a * n + b for a, b in pairs]
        missing = [(a, b) for (a, b), key in zip(pairs, keys) if key not in known]
        if missing:
            a, b = zip(*missing)
            values = self.candidates[kind].distances(a, b).tolist() if kind in self.candidates else [np.inf] * len(a)
            for x, y, d in zip(a, b, values):
                known[x * n + y] = d
        return [known[key] for key in keys]

    def limit(self, kind, a, b, loose=False):
        """Largest squared distance of `b` right of / below `a` (0 when a side is flat)."""
        side_out, side_in = self.side_out[kind][a], self.side_in[kind][b]
        if side_out <= 0 or side_in <= 0:
            return 0.0
        return min((side_out + side_in) / 2, self.cap[kind]) * (self.loosen[kind] if loose else 1.0)

    def alike(self, kind, a, b):
        """Whether the textures of `a` and `b` along their seam agree (see `Candidates.textures_agree`)."""
        return all(abs(x - y) <= limit for x, y, limit in
                   zip(self.texture_out[kind][a], self.texture_in[kind][b], self.max_texture[kind]))

    def free_side(self, tile, offset):
        place = self.where.get(tile)
        if place is None:
            return True
        m, r, c = place
        return (r + offset[0], c + offset[1]) not in self.cells[m]

    # ------------------------------------------------------------------ cells
    def links_of(self, m, r, c):
        """The placed neighbours of a cell whose facing side is textured: (kind, tile, tile is `a`)."""
        links = []
        for (dr, dc), kind, neighbour_is_a in _AROUND:
            tile = self.cells[m].get((r + dr, c + dc))
            if tile is not None and (self.side_out if neighbour_is_a else self.side_in)[kind][tile] > 0:
                links.append((kind, tile, neighbour_is_a))
        return links

    def evaluate(self, m, r, c):
        """The best free tile for a cell and the evidence: (passes, key, tile, edges, total, second, rival).

        The cell is re-evaluated when its best or runner-up tile is placed elsewhere (or,
        with one neighbour, when the rival's side is taken).
        """
        links = self.links_of(m, r, c)
        if not links:
            return None
        where = self.where
        cell = (m, r, c)
        if len(links) == 1:
            kind, tile, neighbour_is_a = links[0]
            listed = self.listed(kind, tile, neighbour_is_a)
            ranked = []
            for distance, t in listed:
                if t not in where:
                    ranked.append((distance, t))
                    if len(ranked) == 2:
                        break
            bound = (self.reach_out if neighbour_is_a else self.reach_in)[kind][tile]
        else:
            pool = set()
            bound = 0.0
            for kind, tile, neighbour_is_a in links:
                listed = self.listed(kind, tile, neighbour_is_a)
                pool.update(t for _, t in listed if t not in where)
                bound += (self.reach_out if neighbour_is_a else self.reach_in)[kind][tile]
            totals = dict.fromkeys(pool, 0.0)
            for kind, tile, neighbour_is_a in links:
                pairs = [(tile, t) for t in pool] if neighbour_is_a else [(t, tile) for t in pool]
                for t, d in zip(pool, self._distances(kind, pairs)):
                    totals[t] += d
            ranked = sorted((total, t) for t, total in totals.items())[:2]
        for _, t in ranked:
            self.watchers.setdefault(t, set()).add(cell)
        if not ranked:
            return (False, None, None, [], np.inf, bound, np.inf)
        total, best = ranked[0]
        second = min(ranked[1][0] if len(ranked) > 1 else np.inf, bound)
        ratio2 = self.ratio2 if len(links) == 1 else self.loop_ratio2
        passes = total < ratio2 * second
        edges = []
        for kind, tile, neighbour_is_a in links:
            a, b = (tile, best) if neighbour_is_a else (best, tile)
            d = self.distance(kind, a, b)
            edges.append((kind, a, b, d))
            if not d <= self.limit(kind, a, b, loose=len(links) > 1):
                passes = False
            elif len(links) == 1 and not self.alike(kind, a, b):
                passes = False
        rival = np.inf
        if passes and len(links) == 1:
            rival = self.rival(links[0], best, cell)
            passes = total < ratio2 * rival
        key = (0 if len(links) > 1 else 1, total / second if second > 0 else np.inf)
        return (passes, key, best, edges, total, second, rival)

    def rival(self, link, tile, cell):
        """Distance from `tile` to its best partner other than the neighbour, among free sides."""
        kind, neighbour, neighbour_is_a = link
        return self.alternative(kind, tile, "in" if neighbour_is_a else "out", neighbour, cell)

    def alternative(self, kind, tile, side, exclude, cell=None):
        """Distance from one side of a tile to its nearest candidate other than `exclude`
        whose facing side is free (the side's reach when its list holds none)."""
        if side == "out":
            listed, offset, reach = self.listed(kind, tile, True), (-STEP[kind][0], -STEP[kind][1]), \
                self.reach_out[kind][tile]
        else:
            listed, offset, reach = self.listed(kind, tile, False), STEP[kind], self.reach_in[kind][tile]
        for distance, other in listed:
            if other != exclude and other != tile and self.free_side(other, offset):
                if cell is not None:
                    self.watchers.setdefault(other, set()).add(cell)     # its side may be taken later
                return min(distance, reach)
        return reach

    def push(self, m, r, c):
        cell = (m, r, c)
        if (r, c) in self.cells[m]:
            return
        self.counter += 1
        self.version[cell] = self.counter
        found = self.evaluate(m, r, c)
        if found is not None and found[0]:
            heapq.heappush(self.heap, (found[1], self.counter, cell, found))

    def push_around(self, m, r, c):
        for (dr, dc), _, _ in _AROUND:
            if (r + dr, c + dc) not in self.cells[m]:
                self.push(m, r + dr, c + dc)

    # ------------------------------------------------------------------ placing
    def place(self, tile, m, r, c, edges, total, second, rival, reason):
        self.dirty.add(m)
        self.where[tile] = (m, r, c)
        self.cells[m][(r, c)] = tile
        if self.log is not None:
            self.log.append(Placement(len(self.log), m, tile, (r, c), list(edges), total, second, rival, reason))
        touched = {tile}
        for (dr, dc), _, _ in _AROUND:
            other = self.cells[m].get((r + dr, c + dc))
            if other is not None:
                touched.add(other)
        for t in touched:
            for cell in self.watchers.pop(t, ()):
                if cell[1:] != (r, c) or cell[0] != m:
                    self.push(*cell)
        self.push_around(m, r, c)

    def start(self, kind, a, b, distance):
        m = len(self.cells)
        self.cells.append({(0, 0): a})
        self.where[a] = (m, 0, 0)
        if self.log is not None:
            self.log.append(Placement(len(self.log), m, a, (0, 0), [], 0.0, np.inf, np.inf, "seed"))
        dr, dc = STEP[kind]
        self.place(b, m, dr, dc, [(kind, a, b, distance)], distance, np.inf, np.inf, "seed")
        self.push_around(m, 0, 0)

    def run(self, seeds, join=True):
        order = np.lexsort((np.arange(len(seeds)), seeds.norm, seeds.ratio))
        for i in order:
            a, b, kind = int(seeds.a[i]), int(seeds.b[i]), str(seeds.kind[i])
            if a in self.where or b in self.where:
                continue
            self.start(kind, a, b, self.distance(kind, a, b))
            self.drain()
        while join and self.join_all():
            self.drain()

    def drain(self):
        while self.heap:
            key, version, cell, found = heapq.heappop(self.heap)
            m, r, c = cell
            if self.version.get(cell) != version or (r, c) in self.cells[m]:
                continue
            _, _, tile, edges, total, second, rival = found
            if tile in self.where:
                self.push(m, r, c)
                continue
            self.place(tile, m, r, c, edges, total, second, rival, "grow")

    # ------------------------------------------------------------------ joining mosaics
    def proposals(self, mosaics):
        """Offsets at which two mosaics may meet, one of them in `mosaics`, from candidate pairs
        between free sides: ``(larger, smaller, rows, cols)``, the smaller moving by (rows, cols)."""
        found = set()
        for m in mosaics:
            cells = self.cells[m]
            for (r, c), tile in cells.items():
                for (dr, dc), kind, neighbour_is_a in _AROUND:
                    # The cell that has `tile` as this neighbour (`a` of its edge when neighbour_is_a).
                    cell = (r - dr, c - dc)
                    if cell in cells:
                        continue
                    listed = self.listed(kind, tile, neighbour_is_a)
                    for distance, other in listed:
                        place = self.where.get(other)
                        if place is None or place[0] == m:
                            continue
                        if distance > (self.limit(kind, tile, other, True) if neighbour_is_a
                                       else self.limit(kind, other, tile, True)):
                            continue
                        mo, ro, co = place
                        if (len(self.cells[mo]), -mo) > (len(cells), -m):
                            found.add((mo, m, ro - cell[0], co - cell[1]))
                        else:
                            found.add((m, mo, cell[0] - ro, cell[1] - co))
        return found

    def join_evidence(self, m, mo, dr, dc):
        """Edges made by moving mosaic `mo` by (dr, dc) into mosaic `m`, the product of their
        ratios and their smoothness (summed distance over summed strict limits); None when
        tiles would collide or an edge is too rough."""
        cells = self.cells[m]
        moving = self.cells[mo]
        for r, c in moving:
            if (r + dr, c + dc) in cells:
                return None
        edges, product, summed, limits = [], 1.0, 0.0, 0.0
        for (r, c), t in moving.items():
            r, c = r + dr, c + dc
            for (er, ec), kind, neighbour_is_a in _AROUND:
                other = cells.get((r + er, c + ec))
                if other is None:
                    continue
                a, b = (other, t) if neighbour_is_a else (t, other)
                if self.side_out[kind][a] <= 0 or self.side_in[kind][b] <= 0:
                    continue                    # a flat side: no evidence either way
                d = self.distance(kind, a, b)
                if not d <= self.limit(kind, a, b, loose=True):
                    return None
                alternative = min(self.alternative(kind, a, "out", b), self.alternative(kind, b, "in", a))
                product *= d / alternative if alternative > 0 else np.inf
                summed += d
                limits += self.limit(kind, a, b)
                edges.append((kind, a, b, d))
        if len(edges) == 1:                     # a single edge is held to the strict limits
            kind, a, b, d = edges[0]
            if not (d <= self.limit(kind, a, b) and self.alike(kind, a, b)):
                return None
        return (edges, product, summed / limits if limits > 0 else np.inf) if edges else None

    def join_passes(self, edges, product, smooth):
        """Whether a join's evidence clears its margin (see the module notes)."""
        if len(edges) == 1:
            return product < self.ratio2 or (smooth <= self.smooth_edge and product < self.smooth_ratio)
        below = sum(kind == "below" for kind, _, _, _ in edges)
        return smooth <= self.join_smooth and product < self.join_ratio * self.join_step ** max(below - 2, 0)

    def join_all(self):
        """Join every pair of mosaics whose meeting passes, most certain first; True if any did."""
        ranked = []
        for m, mo, dr, dc in self.proposals(self.dirty):
            found = self.join_evidence(m, mo, dr, dc)
            if found is not None and self.join_passes(*found):
                ranked.append((found[1], m, mo, dr, dc))
        ranked.sort()
        self.dirty = set()
        joined = set()
        for _, m, mo, dr, dc in ranked:
            if m in joined or mo in joined:
                self.dirty.update((m, mo))      # settled again in the next round
                continue
            found = self.join_evidence(m, mo, dr, dc)
            if found is None or not self.join_passes(*found):
                continue
            edges, product, _ = found
            moved = [((r + dr, c + dc), t) for (r, c), t in self.cells[mo].items()]
            self.cells[mo] = {}
            for (r, c), t in moved:
                self.where[t] = (m, r, c)
                self.cells[m][(r, c)] = t
            if self.log is not None:
                self.log.append(Placement(len(self.log), m, moved[0][1], (dr, dc), edges, product, np.nan, np.nan,
                                          "join", mo))
            for (r, c), t in moved:
                for cell in self.watchers.pop(t, ()):
                    self.push(*cell)
                self.push_around(m, r, c)
            joined.update((m, mo))
        self.dirty |= joined
        return bool(joined)

    def placements(self):
        result = []
        for cells in self.cells:
            if len(cells) < 2:
                continue
            top = min(r for r, _ in cells)
            left = min(c for _, c in cells)
            result.append({tile: (r - top, c - left) for (r, c), tile in sorted(cells.items(), key=lambda x: x[1])})
        result.sort(key=lambda tiles: (-len(tiles), min(tiles)))
        return result


def grow_mosaics(candidates, seeds, n_tiles, ratio=GROW_RATIO, loop_ratio=LOOP_RATIO, join_ratio=JOIN_RATIO,
                 record=False, *, join_step=JOIN_STEP, join_smooth=JOIN_SMOOTH, smooth_edge=SMOOTH_EDGE,
                 smooth_ratio=SMOOTH_RATIO):
    """Grow mosaics from seeds (see the module notes).

    Parameters
    ----------
    candidates : dict
        ``kind -> Candidates`` from `search_candidates`.
    seeds : NeighbourPairs
        Mutual best pairs; the most certain (smallest `ratio`) start mosaics first.
    n_tiles : int
    ratio : float
        Margin a tile must have over the runner-up for a cell with one placed neighbour.
    loop_ratio : float
        The margin for a cell with two or more (its summed cost against the runner-up's).
    join_ratio : float
        Largest product, over the two edges a join of two mosaics makes, of each edge's
        distance over its nearest alternative.
    record : bool
        Also return the `Placement` of every step.
    join_step : float
        Each below edge of a join beyond two multiplies the largest product by this.
    join_smooth : float
        Largest summed distance of a join's edges (two or more) over their summed strict
        limits.
    smooth_edge, smooth_ratio : float
        A join that makes one edge needs a product below ``ratio**2``, or below
        `smooth_ratio` when the edge's distance is at most `smooth_edge` times its strict
        limit.

    Returns
    -------
    placements : list of dict
        One per mosaic: tile position -> (row, col), rows and cols from 0; largest first
        (ties: smallest first tile).
    log : list of Placement
        Only when `record`.
    """
    for name, value in (("ratio", ratio), ("loop_ratio", loop_ratio), ("join_ratio", join_ratio),
                        ("join_step", join_step), ("join_smooth", join_smooth), ("smooth_edge", smooth_edge),
                        ("smooth_ratio", smooth_ratio)):
        if not (isinstance(value, (int, float)) and value > 0):
            raise SaltviewerError(f"{name} must be a positive number, got {value!r}.")
    growth = _Growth(candidates, n_tiles, ratio, loop_ratio, join_ratio, record, join_step, join_smooth, smooth_edge,
                     smooth_ratio)
    growth.run(seeds)
    placements = growth.placements()
    return (placements, growth.log) if record else placements
