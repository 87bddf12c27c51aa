"""Links between tiles: the kept pairs of a search and the scored candidates of each kind."""

import numpy as np

from .._errors import SaltviewerError
from ._kdtree import _squared_distances
from .compatibility import KINDS

__all__ = ["NeighbourPairs", "Candidates", "SideLists"]


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
        `cost` over the root of the mean inside cost of the two edges: about 1 for
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


class Candidates:
    """The candidate pairs of one kind of edge, scored exactly, and the means to score any other.

    Attributes
    ----------
    kind : {"right", "below"}
    out, into : (n, 2 L) ndarray of float32
        Features of every tile's two sides (`EdgeModel.features`).
    a, b : (m,) ndarray of int
        Candidate pairs: tile ``b[i]`` right of (or below) tile ``a[i]``.
    distance : (m,) ndarray of float
        Their squared feature distances (``cost**2 * length``).
    reach_out, reach_in : (n,) ndarray of float
        For each side, the squared distance taken for a tile not among its candidates:
        the farthest candidate its own query found, or its search radius when fewer
        lay within it (an estimate: the tree works in a projection).
    side_out, side_in : (n,) ndarray of float
        Each side's share of the limit: ``max_norm**2`` times its inside cost times
        `length`; 0 for a flat side, which never matches. A pair passes when its distance
        is at most the mean of its two sides' shares and at most `cap` (`limit`).
    cap : float
        ``max_cost**2`` times `length`.
    loosen : float
        ``(loop_max_norm / max_norm)**2``: the looser limits of an edge that closes a loop.
    inside_out, inside_in : (n,) ndarray of float
        Inside costs (`EdgeModel.inside_cost`).
    texture_out, texture_in : (n, k) ndarray of float
        Texture measures of each side (`EdgeModel.describe`: `edge_texture`, then
        `band_contrast`); a pair that rests on one edge alone needs every measure within
        its limit (`textures_agree`).
    max_texture : float or (k,) array of float
        The limits: one for all measures, or one each.
    length : float
        What a squared distance is averaged over to make a cost (`EdgeModel.effective_length`;
        default: the features' length).
    """

    def __init__(self, kind, out, into, a, b, distance, reach_out, reach_in, side_out, side_in, cap, inside_out,
                 inside_in, loosen=1.0, texture_out=None, texture_in=None, max_texture=np.inf, length=None):
        self.kind, self.out, self.into = kind, out, into
        self.a, self.b, self.distance = a, b, distance
        self.reach_out, self.reach_in = reach_out, reach_in
        self.side_out, self.side_in, self.cap, self.loosen = side_out, side_in, float(cap), float(loosen)
        self.inside_out, self.inside_in = inside_out, inside_in
        zeros = np.zeros((len(out), 1))
        self.texture_out = zeros if texture_out is None else texture_out
        self.texture_in = zeros if texture_in is None else texture_in
        self.max_texture = np.broadcast_to(np.asarray(max_texture, dtype=float),
                                           (self.texture_out.shape[1],)).copy()
        self.length = float(out.shape[1] if length is None else length)

    def textures_agree(self, a, b):
        """Whether the textures of pairs ``(a[i], b[i])`` along the seam are alike: (m,) bool."""
        difference = np.abs(self.texture_out[np.asarray(a)] - self.texture_in[np.asarray(b)])
        return np.all(difference <= self.max_texture, axis=-1)

    def limit(self, a, b, loose=False):
        """Largest squared distance pairs ``(a[i], b[i])`` may have (0 where a side is flat)."""
        a, b = np.asarray(a), np.asarray(b)
        limit = np.minimum((self.side_out[a] + self.side_in[b]) / 2, self.cap) * (self.loosen if loose else 1.0)
        return np.where((self.side_out[a] > 0) & (self.side_in[b] > 0), limit, 0.0)

    def __len__(self):
        return len(self.a)

    def __repr__(self):
        return f"<Candidates {self.kind}: {len(self)} pairs over {len(self.out)} tiles>"

    def distances(self, a, b):
        """Exact squared feature distances of pairs ``(a[i], b[i])``: (m,) ndarray of float."""
        a = np.atleast_1d(np.asarray(a, dtype=np.int64))
        b = np.atleast_1d(np.asarray(b, dtype=np.int64))
        return _squared_distances(self.out, self.into, a, b)

    def norms(self, a, b, distance=None):
        """``norm`` of pairs from their squared distances (computed when not given)."""
        distance = self.distances(a, b) if distance is None else np.asarray(distance, dtype=float)
        inside = (self.inside_out[a] + self.inside_in[b]) / 2
        return np.sqrt(distance / self.length / inside)

    def lists(self):
        """Each side's candidates, nearest first.

        Returns
        -------
        out_lists : SideLists
            ``a -> [(distance, b), ...]``: the tiles that may lie right of (below) `a`.
        in_lists : SideLists
            ``b -> [(distance, a), ...]``: the tiles that may lie left of (above) `b`.
        """
        n = len(self.out)
        return SideLists(self.a, self.b, self.distance, n), SideLists(self.b, self.a, self.distance, n)


class SideLists:
    """Each tile's candidates on one side, nearest first, made into a list when first asked for.

    ``lists.get(tile, default)`` gives ``[(distance, other), ...]`` like a dict would; the
    arrays stay sorted by tile, then distance, then the other tile.
    """

    def __init__(self, key, value, distance, n_tiles):
        order = np.lexsort((value, distance, key))
        self.value, self.distance = value[order], distance[order]
        self.starts = np.searchsorted(key[order], np.arange(n_tiles + 1))
        self.made = {}

    def get(self, tile, default=None):
        found = self.made.get(tile)
        if found is None:
            start, stop = self.starts[tile], self.starts[tile + 1]
            if start == stop:
                return default
            found = self.made[tile] = list(zip(self.distance[start:stop].tolist(), self.value[start:stop].tolist()))
        return found

    def __len__(self):
        return int(np.count_nonzero(np.diff(self.starts)))
