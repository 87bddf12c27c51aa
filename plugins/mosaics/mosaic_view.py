"""The mosaic view without a viewer: the layers of one mosaic, stitched, and the decisions taken
on several of its tiles at once (which mosaics exist: `saltviewer.plugins.common.stored_mosaics`).

Thin over `saltviewer.mosaic` (mosaics found and stored by ``saltviewer mosaic``, `stitch`,
`boundary_consistency`), the curation store (the masks in force; decisions through its public
`propose` and `decide_batch`) and the ensemble (the consensus). Tests call these without Qt.
"""

from dataclasses import dataclass

import numpy as np

from saltviewer.store.in_force import masks_in_force

__all__ = ["MosaicLayers", "mosaic_layers", "masks_in_force", "tile_masks", "accept_tiles", "save_edits", "TILE"]

TILE = 101
#: A seam is drawn as mismatched when at least this many edge pixels of salt find no salt across.
MIN_MISMATCH = 3


@dataclass
class MosaicLayers:
    """What the canvas shows for one mosaic.

    Attributes
    ----------
    image : (rows * 101, cols * 101) ndarray of uint8
    masks : same shape, uint8
        Masks in force (0 where a tile has none).
    consensus : same shape, uint8, or None
        The ensemble's consensus masks (None without predictions).
    outlines : list of (4, 2) ndarray
        One rectangle per tile, in canvas coordinates (row, col).
    names : list of str
        Tile ids, in the order of `outlines`.
    states : list of str
        Review state per tile (``labelled``, ``proposed``, ``accepted``, ...; ``""`` when none).
    seams : list of BoundaryScore
        Edges where the masks shown (in force, else consensus) do not continue.
    grid : (rows, cols) ndarray of int
        Dataset position in each cell, -1 where a tile is missing.
    shown : same shape as `image`, uint8
        Each tile's mask in force, else its consensus: what editing starts from.
    predictions : dict
        ``tile id -> (101, 101) bool``: the ensemble's consensus of each tile (empty without
        predictions).
    """

    image: np.ndarray
    masks: np.ndarray
    consensus: object
    outlines: list
    names: list
    states: list
    seams: list
    grid: np.ndarray
    shown: np.ndarray = None
    predictions: dict = None

    def seam_lines(self):
        """One (2, 2) line per mismatched seam, along the shared edge, in canvas coordinates."""
        lines = []
        for seam in self.seams:
            r, c = seam.row, seam.col
            if seam.kind == "right":
                x = (c + 1) * TILE - 0.5
                lines.append(np.array([[r * TILE - 0.5, x], [(r + 1) * TILE - 0.5, x]]))
            else:
                y = (r + 1) * TILE - 0.5
                lines.append(np.array([[y, c * TILE - 0.5], [y, (c + 1) * TILE - 0.5]]))
        return lines


def mosaic_grid(mosaic):
    """(rows, cols) ndarray of dataset positions, -1 where no tile sits."""
    grid = np.full(mosaic.shape, -1, np.int64)
    grid[mosaic.rows, mosaic.cols] = mosaic.indices
    return grid


def mosaic_layers(mosaic, dataset, store, ensemble=None):
    """Stitch one mosaic: image, masks in force, consensus, tile outlines and mismatched seams.

    Parameters
    ----------
    mosaic : saltviewer.mosaic.Mosaic
        Bound to `dataset`.
    dataset : saltviewer.Dataset
    store : saltviewer.store.CurationStore
    ensemble : saltviewer.ensemble.Ensemble, optional

    Returns
    -------
    layers : MosaicLayers
    """
    from saltviewer.mosaic import boundary_consistency, stitch

    in_force = masks_in_force(store, dataset)
    image = stitch(mosaic, dataset.image, fill=0, dtype=np.uint8)
    masks = stitch(mosaic, in_force, fill=0, dtype=np.uint8)
    consensus = None
    consensus_of = {}
    if ensemble is not None:
        for positions, _, predicted in ensemble.consensus(mosaic.indices):
            consensus_of.update((dataset.ids[i], m) for i, m in zip(positions, predicted))
        consensus = stitch(mosaic, consensus_of, fill=0, dtype=np.uint8)

    def shown(tile):
        mask = in_force(tile)
        return mask if mask is not None else consensus_of.get(tile)

    seams = [s for s in boundary_consistency(mosaic, shown) if s.mismatch >= MIN_MISMATCH]
    from ..common.style import shown_state

    states_of = {item.tile: shown_state(item.state, item.disputed) for item in store.items(dataset, scores=False)}
    outlines, states = [], []
    for tile, r, c, i in zip(mosaic.ids, mosaic.rows, mosaic.cols, mosaic.indices):
        y, x = r * TILE - 0.5, c * TILE - 0.5
        outlines.append(np.array([[y, x], [y, x + TILE], [y + TILE, x + TILE], [y + TILE, x]]))
        states.append(states_of.get(tile) or ("labelled" if dataset.has_mask[i] else ""))
    shown_masks = stitch(mosaic, shown, fill=0, dtype=np.uint8)
    return MosaicLayers(image=image, masks=masks, consensus=consensus, outlines=outlines, names=list(mosaic.ids),
                        states=states, seams=seams, grid=mosaic_grid(mosaic), shown=shown_masks,
                        predictions={tile: np.asarray(mask, bool) for tile, mask in consensus_of.items()})


# --------------------------------------------------------------------------- deciding in the mosaic
def tile_masks(canvas, mosaic):
    """Cut a stitched canvas into its tiles: ``tile id -> (101, 101) ndarray of bool``."""
    canvas = np.asarray(canvas)
    return {tile: canvas[r * TILE:(r + 1) * TILE, c * TILE:(c + 1) * TILE] != 0
            for tile, r, c in zip(mosaic.ids, mosaic.rows, mosaic.cols)}


def _kind(dataset, tile):
    return "label" if dataset.has_mask[dataset.index(tile)] else "pseudo"


def accept_tiles(store, dataset, tiles, ensemble, *, user=None, note=None, mosaic=None):
    """Accept what is proposed, or else predicted, for several tiles: one batch, one undo.

    A tile with an undecided item has its proposal accepted, unless it is disputed (the
    store's rule). An unlabelled tile with no item gets the ensemble's consensus proposed
    with its real scores (`saltviewer.picked.picked_proposals`, criterion ``"mosaic-dock"``)
    and accepted, unless the models dispute it: then nothing is written for it and the
    reason says why. Tiles already decided, labelled tiles with nothing proposed (their
    training mask is in force) and tiles with nothing predicted are left as they are.

    Parameters
    ----------
    store : saltviewer.store.CurationStore
    dataset : saltviewer.Dataset
    tiles : iterable of str
    ensemble : saltviewer.ensemble.Ensemble or None
        The model versions with predictions (None: none).

    Returns
    -------
    accepted : list of str
        The tiles whose decision the batch made.
    skipped : dict
        ``tile id -> why`` for the others.
    """
    from saltviewer.picked import picked_proposals
    from saltviewer.store.reasons import accept_refusal

    decisions, skipped, picked = [], {}, []
    for tile in tiles:
        kind = _kind(dataset, tile)
        item = store.item(dataset, tile, kind)
        if item is not None:
            if item.state != "proposed":
                skipped[tile] = f"already {item.state}"
            elif item.proposed_mask is None:
                skipped[tile] = "nothing is proposed for it: draw its mask in Review"
            elif accept_refusal(tile, item.criterion) is not None:
                skipped[tile] = "disputed, the models disagree: take one model's mask or draw one in Review"
            else:
                decisions.append((tile, kind, "accept", None))
        elif kind == "label":
            skipped[tile] = "its training mask is in force and nothing is proposed"
        elif ensemble is not None and ensemble.predicted[dataset.index(tile)]:
            picked.append(tile)
        else:
            skipped[tile] = "nothing is predicted for it"
    where = f" of mosaic {mosaic.number + 1}" if mosaic is not None else ""
    proposals, disputes = picked_proposals(ensemble, picked, code="mosaic-dock",
                                           reason=f"the ensemble's consensus, accepted with its neighbours{where} in "
                                                  "the Mosaics dock") if picked else ([], {})
    for tile, why in disputes.items():
        skipped[tile] = f"disputed, {why}: take one model's mask or draw one in Review"
    proposals = [proposal for proposal in proposals if proposal.tile not in disputes]
    if proposals:
        store.propose(dataset, proposals, user=user)
        decisions += [(proposal.tile, "pseudo", "accept", None) for proposal in proposals]
    decided = store.decide_batch(dataset, decisions, user=user, note=note, how="mosaic",
                                 detail={"batch": "Mosaics dock: accept selected tiles"}) if decisions else []
    accepted = [tile for tile, state in decided if state == "accepted"]
    for tile, _, _, _ in decisions:
        if tile not in accepted:
            skipped[tile] = "changed meanwhile: look at it in Review"
    return accepted, skipped


def save_edits(store, dataset, mosaic, painted, before, *, ensemble=None, user=None, note=None):
    """Put the masks painted on a stitched mosaic in force, for every tile whose pixels changed.

    Tiles without an item get one first, proposing what was shown before painting: an
    unlabelled tile the ensemble's consensus with its real scores
    (`saltviewer.picked.picked_proposals`: disputed if the models dispute it), a labelled one
    its training mask; so that an undo leaves an honest proposal in the queue. Then all
    corrections go in as one batch, one undo, recorded as made in the Mosaics dock.

    Parameters
    ----------
    painted, before : (rows * 101, cols * 101) ndarray
        The canvas after painting and the one painting started from (salt where non-zero).
    ensemble : saltviewer.ensemble.Ensemble, optional
        The model versions with predictions (without it a new unlabelled item is proposed as
        disputed: no scores vouch for it).

    Returns
    -------
    corrected : list of str
        Tile ids, reading order.
    """
    from saltviewer.picked import picked_proposals
    from saltviewer.store import Proposal

    after, start = tile_masks(painted, mosaic), tile_masks(before, mosaic)
    changed = [tile for tile in mosaic.ids if not np.array_equal(after[tile], start[tile])]
    new = [tile for tile in changed if store.item(dataset, tile, _kind(dataset, tile)) is None]
    reason = f"painted across the tiles of mosaic {mosaic.number + 1} in the Mosaics dock"
    scored = [tile for tile in new if _kind(dataset, tile) == "pseudo" and ensemble is not None
              and ensemble.predicted[dataset.index(tile)]]
    proposals = picked_proposals(ensemble, scored, code="mosaic-dock", reason=reason)[0] if scored else []
    proposals += [Proposal(tile=tile, mask=start[tile], kind=_kind(dataset, tile), reason=reason, agreement=0.0,
                           criterion="mosaic-dock" if _kind(dataset, tile) == "label" else "mosaic-dock+disagreement")
                  for tile in new if tile not in scored]
    if proposals:
        store.propose(dataset, proposals, user=user)
    if not changed:
        return []
    decided = store.decide_batch(dataset, [(tile, _kind(dataset, tile), "correct", after[tile]) for tile in changed],
                                 user=user, note=note, how="mosaic",
                                 detail={"batch": f"Mosaics dock: mosaic {mosaic.number + 1} painted"})
    done = {tile for tile, _ in decided}
    return [tile for tile in changed if tile in done]
