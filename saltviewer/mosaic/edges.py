"""Mask edges across tile boundaries: salt that stops dead at a tile edge, and review items for it."""

from collections import namedtuple

import numpy as np

from .._errors import SaltviewerError
from .grid import getter

__all__ = ["BoundaryScore", "boundary_consistency", "review_items", "boundary_proposals", "queue_boundary_items",
           "queue_label_proposals", "as_bool"]

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
    get = getter(masks, mosaic)
    cache = {}

    def mask(tile):
        if tile not in cache:
            value = get(mosaic._order[tile])
            cache[tile] = None if value is None else as_bool(np.asarray(value))
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


def as_bool(mask):
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
    from ..store import Proposal

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
    return queue_label_proposals(workspace, dataset, boundary_proposals(items, dataset))


def queue_label_proposals(workspace, dataset, proposals):
    """Propose ``"label"`` items in a workspace's curation store, except for tiles that already
    have one. Returns the number of tiles queued."""
    from ..store import CurationStore
    from ..workspace import as_workspace

    with CurationStore(as_workspace(workspace).store_path) as store:
        taken = {item.tile for item in store.items(dataset, kind="label")}
        proposals = [p for p in proposals if p.tile not in taken]
        store.propose(dataset, proposals)
    return len(proposals)
