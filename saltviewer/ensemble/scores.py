"""What an ensemble says about tiles: per-tile scores (`EnsembleScores`) and one tile's maps (`TileView`)."""

from dataclasses import dataclass, field

import numpy as np

from ..metric import image_precisions
from ..rle import TILE_SHAPE
from .levels import PIXELS, UNCERTAIN_RANGE

__all__ = ["EnsembleScores", "TileView", "empty_scores", "truth_scores"]


@dataclass
class EnsembleScores:
    """Per-tile agreement and disagreement of an ensemble (one entry per scored tile).

    Attributes
    ----------
    indices : (n,) ndarray of int64
        Dataset positions of the scored tiles, in the order asked for.
    ids : tuple of str
    versions : tuple of str
        The members.
    thresholds : (m,) ndarray of float
        Each member's binarisation threshold.
    coverage : (n,) ndarray of float32
        Fraction of the tile in the consensus mask.
    member_coverage : (n, m) ndarray of float32
        Fraction of the tile in each member's mask.
    mean_iou : (n,) ndarray of float32
        Mean IoU over all pairs of members' masks; two empty masks agree perfectly (IoU 1),
        an empty and a non-empty mask not at all (IoU 0). 1 for a single member.
    min_iou : (n,) ndarray of float32
        The IoU of the least agreeing pair.
    uncertain : (n,) ndarray of float32
        Fraction of pixels whose consensus probability lies in `UNCERTAIN_RANGE` (closed).
    pixel_disagreement : (n,) ndarray of float32
        Fraction of pixels on which the members' masks are not unanimous.
    presence_votes : (n,) ndarray of int16
        How many members predict any salt at all.
    max_probability : (n,) ndarray of float32
        Largest consensus probability on the tile.
    expected_iou : (n,) ndarray of float32
        The IoU of the consensus mask with a truth drawn from the (calibrated) consensus
        probabilities, in expectation: ``sum(p inside) / (area + sum(p outside))``; for an
        empty consensus mask, ``1 - expected_salt`` scaled so that one expected salt pixel
        in a hundred costs 0.01. The ranking key of `select_candidates` (``rank="expected-iou"``).
    expected_salt : (n,) ndarray of float32
        Mean consensus probability over the tile (the expected salt share).
    truth_coverage, truth_iou, truth_precision : (n,) ndarray of float32
        For tiles with a ground-truth mask: its coverage, the IoU of the consensus mask
        with it (1 when both are empty) and the competition precision of the consensus
        mask; NaN elsewhere (or everywhere when truth was not asked for).
    blank : (n,) ndarray of bool
        The tile's image is blank (one grey level, up to 1 level of noise); all False when
        images were not read.
    """

    indices: np.ndarray
    ids: tuple
    versions: tuple
    thresholds: np.ndarray
    coverage: np.ndarray
    member_coverage: np.ndarray
    mean_iou: np.ndarray
    min_iou: np.ndarray
    uncertain: np.ndarray
    pixel_disagreement: np.ndarray
    presence_votes: np.ndarray
    max_probability: np.ndarray
    expected_iou: np.ndarray
    expected_salt: np.ndarray
    truth_coverage: np.ndarray
    truth_iou: np.ndarray
    truth_precision: np.ndarray
    blank: np.ndarray
    uncertain_range: tuple = UNCERTAIN_RANGE
    images_checked: bool = False

    def __len__(self):
        return len(self.indices)

    def __repr__(self):
        return (f"<EnsembleScores: {len(self)} tiles x {len(self.versions)} members "
                f"({', '.join(self.versions)})>")

    @property
    def members(self):
        return len(self.versions)

    @property
    def disagreement(self):
        """``1 - mean_iou``: 0 when all members draw the same mask, 1 when no two overlap."""
        return (1 - self.mean_iou).astype(np.float32)

    @property
    def presence_disagreement(self):
        """(n,) bool: some members predict salt and others predict none."""
        return (self.presence_votes > 0) & (self.presence_votes < self.members)

    @property
    def confident(self):
        """Fraction of pixels whose consensus probability is outside `uncertain_range`."""
        return (1 - self.uncertain).astype(np.float32)

    @property
    def labelled(self):
        """(n,) bool: the tile has a ground-truth mask that was compared."""
        return ~np.isnan(self.truth_iou)

    def order(self):
        """Positions into these scores, most disagreement first.

        Sorted by `disagreement`, then `pixel_disagreement`, then `uncertain` (all
        descending), then by tile id, so the order is total and reproducible.
        """
        ids = np.array(self.ids)
        return np.lexsort((ids, -self.uncertain, -self.pixel_disagreement, -self.disagreement))

    def ids_by_disagreement(self):
        """Tile ids, most disagreement first (see `order`)."""
        return [self.ids[k] for k in self.order()]

    def subset(self, positions):
        """The scores of some of the tiles (positions into these scores, or a bool mask)."""
        positions = np.asarray(positions)
        if positions.dtype == bool:
            positions = np.flatnonzero(positions)
        arrays = {name: getattr(self, name)[positions] for name in _PER_TILE}
        return EnsembleScores(ids=tuple(self.ids[k] for k in positions), versions=self.versions,
                              thresholds=self.thresholds, uncertain_range=self.uncertain_range,
                              images_checked=self.images_checked, **arrays)

    def row(self, k):
        """The scores of the ``k``-th tile as a plain dict (JSON-friendly), for provenance."""
        row = {
            "coverage": float(self.coverage[k]),
            "mean_iou": float(self.mean_iou[k]),
            "min_iou": float(self.min_iou[k]),
            "uncertain": float(self.uncertain[k]),
            "pixel_disagreement": float(self.pixel_disagreement[k]),
            "presence_votes": int(self.presence_votes[k]),
            "members": self.members,
            "max_probability": float(self.max_probability[k]),
            "expected_iou": float(self.expected_iou[k]),
            "member_coverage": [round(float(c), 5) for c in self.member_coverage[k]],
        }
        if not np.isnan(self.truth_iou[k]):
            row.update(truth_coverage=float(self.truth_coverage[k]), truth_iou=float(self.truth_iou[k]),
                       truth_precision=float(self.truth_precision[k]))
        return {key: (round(value, 5) if isinstance(value, float) else value) for key, value in row.items()}


_PER_TILE = ("indices", "coverage", "member_coverage", "mean_iou", "min_iou", "uncertain",
             "pixel_disagreement", "presence_votes", "max_probability", "expected_iou", "expected_salt",
             "truth_coverage", "truth_iou",
             "truth_precision", "blank")


@dataclass
class TileView:
    """Everything the review widget shows for one tile.

    Attributes
    ----------
    index : int
    id : str
    versions : tuple of str
    probabilities : (m, 101, 101) ndarray of float32
        Each member's probability map.
    member_masks : (m, 101, 101) ndarray of bool
    probability : (101, 101) ndarray of float32
        Consensus (mean) probability.
    mask : (101, 101) ndarray of bool
        Consensus mask.
    votes : (101, 101) ndarray of uint8
        How many members mark each pixel as salt.
    disagreement : (101, 101) ndarray of float32
        Fraction of members that disagree with the majority at each pixel: 0 where all
        agree, up to 0.5 where they split evenly.
    spread : (101, 101) ndarray of float32
        Standard deviation of the members' probabilities.
    truth : (101, 101) ndarray of bool or None
        The ground-truth mask, where the tile has one.
    scores : dict
        The tile's scores, as `EnsembleScores.row` gives them.
    """

    index: int
    id: str
    versions: tuple
    probabilities: np.ndarray
    member_masks: np.ndarray
    probability: np.ndarray
    mask: np.ndarray
    votes: np.ndarray
    disagreement: np.ndarray
    spread: np.ndarray
    truth: object
    scores: dict = field(default_factory=dict)



def empty_scores(n, m):
    """The per-tile arrays of `EnsembleScores` for `n` tiles and `m` members, before scoring."""
    nan = np.full(n, np.nan, np.float32)
    return {
        "coverage": np.zeros(n, np.float32),
        "member_coverage": np.zeros((n, m), np.float32),
        "mean_iou": np.ones(n, np.float32),
        "min_iou": np.ones(n, np.float32),
        "uncertain": np.zeros(n, np.float32),
        "pixel_disagreement": np.zeros(n, np.float32),
        "presence_votes": np.zeros(n, np.int16),
        "max_probability": np.zeros(n, np.float32),
        "expected_iou": np.ones(n, np.float32),
        "expected_salt": np.zeros(n, np.float32),
        "truth_coverage": nan.copy(),
        "truth_iou": nan.copy(),
        "truth_precision": nan.copy(),
        "blank": np.zeros(n, bool),
    }


def truth_scores(result, positions, consensus, truth):
    """Fill the truth columns of `result` at `positions` from (k, P) bool consensus and truth masks."""
    inter = np.count_nonzero(consensus & truth, axis=1)
    union = np.count_nonzero(consensus | truth, axis=1)
    result["truth_coverage"][positions] = np.count_nonzero(truth, axis=1) / PIXELS
    result["truth_iou"][positions] = np.where(union == 0, 1.0, inter / np.maximum(union, 1))
    shape = (len(truth),) + TILE_SHAPE
    result["truth_precision"][positions] = image_precisions(truth.reshape(shape), consensus.reshape(shape))
