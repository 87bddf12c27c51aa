"""The review loop without a viewer: the queue, one tile's display data, and decisions.

`Reviewer` joins what the core provides (the dataset, the ensemble of model versions with
predictions, the curation store, the mosaic neighbours) into what the review widget shows,
so that tests can drive the loop without Qt. Every decision goes straight to the store.
"""

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Reviewer", "QueueTable", "TileDisplay", "STATE_FILTERS", "build_queue"]

#: Choices of the state filter: label -> states (None: every state).
STATE_FILTERS = {
    "to review": ("proposed",),
    "decided": ("accepted", "corrected", "rejected"),
    "accepted": ("accepted",),
    "corrected": ("corrected",),
    "rejected": ("rejected",),
    "all": None,
}


@dataclass
class QueueTable:
    """Store items as columns, in the store's order (most disagreement first).

    Attributes
    ----------
    tile, kind, split, state, criterion : (n,) ndarray of str
    reason : list of str
    depth, coverage, disagreement, agreement : (n,) ndarray of float
        Depth is NaN where unknown; coverage is that of the proposed mask.
    """

    tile: np.ndarray
    kind: np.ndarray
    split: np.ndarray
    state: np.ndarray
    criterion: np.ndarray
    reason: list
    depth: np.ndarray
    coverage: np.ndarray
    disagreement: np.ndarray
    agreement: np.ndarray

    def __len__(self):
        return len(self.tile)

    def position(self, tile):
        """Row of a tile id, or None."""
        rows = np.flatnonzero(self.tile == tile)
        return int(rows[0]) if len(rows) else None

    @classmethod
    def empty(cls):
        s = np.array([], dtype="<U1")
        f = np.array([], dtype=float)
        return cls(s, s, s, s, s, [], f, f, f, f)


def build_queue(store, dataset, states=("proposed",), split=None, kind=None, min_disagreement=None,
                max_disagreement=None):
    """The items of `dataset` in the store that pass the filters, as a `QueueTable`."""
    items = store.items(dataset, state=states, split=split, kind=kind, min_disagreement=min_disagreement,
                        max_disagreement=max_disagreement, order="disagreement")
    if not items:
        return QueueTable.empty()
    depths = np.array([dataset.depths[dataset.index(item.tile)] for item in items], dtype=float)
    return QueueTable(
        tile=np.array([item.tile for item in items]),
        kind=np.array([item.kind for item in items]),
        split=np.array([item.split for item in items]),
        state=np.array([item.state for item in items], dtype="<U9"),
        criterion=np.array([item.criterion for item in items]),
        reason=[item.reason for item in items],
        depth=depths,
        coverage=np.array([item.coverage for item in items], dtype=float),
        disagreement=np.array([item.disagreement for item in items], dtype=float),
        agreement=np.array([item.agreement for item in items], dtype=float),
    )


@dataclass
class TileDisplay:
    """Everything the review widget shows for one tile.

    Attributes
    ----------
    tile : str
    index : int
        Dataset position.
    kind : {"pseudo", "label"}
        ``"label"`` for a tile with a ground-truth mask.
    split : str
    depth : float
    image : (101, 101) ndarray of uint8
    truth : (101, 101) ndarray of bool or None
    view : saltviewer.ensemble.TileView or None
        Members, consensus and pixel disagreement; None when no version has predictions.
    item : saltviewer.store.Item or None
        The store's item (with masks), or None when the tile was never proposed.
    edit_mask : (101, 101) ndarray of uint8
        What the editable layer starts from: the mask in force (accepted or corrected),
        else the proposed mask, else the training mask, else the consensus, else empty.
    edit_source : str
        Where `edit_mask` came from (``"accepted"``, ``"corrected"``, ``"proposed"``,
        ``"training mask"``, ``"consensus"``, ``"empty"``).
    neighbours : dict of str to str
        Side (``"left"``, ``"right"``, ``"up"``, ``"down"``) to neighbouring tile id.
    """

    tile: str
    index: int
    kind: str
    split: str
    depth: float
    image: np.ndarray
    truth: object
    view: object
    item: object
    edit_mask: np.ndarray
    edit_source: str
    neighbours: dict = field(default_factory=dict)

    @property
    def state(self):
        """The item's state; ``"labelled"`` or ``"not proposed"`` for a tile with no item."""
        if self.item is not None:
            return self.item.state
        return "labelled" if self.kind == "label" else "not proposed"

    @property
    def coverage(self):
        """Fraction of the tile in the editable mask."""
        return float(np.count_nonzero(self.edit_mask)) / self.edit_mask.size


class Reviewer:
    """Review decisions on one dataset with one workspace and its curation store.

    Parameters
    ----------
    dataset : saltviewer.Dataset
    workspace : saltviewer.Workspace
    store : saltviewer.store.CurationStore
    neighbours : callable, optional
        ``neighbours(tile_id) -> dict`` of side to tile id (from the mosaics).
    """

    def __init__(self, dataset, workspace, store, neighbours=None):
        self.dataset = dataset
        self.workspace = workspace
        self.store = store
        self.neighbours = neighbours
        self.versions = ()
        self.ensemble = None
        self.reload_versions()

    def reload_versions(self):
        """Pick up model versions whose predictions appeared since (after a retrain)."""
        from saltviewer.ensemble import Ensemble
        from saltviewer.pseudo import versions_with_predictions

        versions = tuple(versions_with_predictions(self.workspace, self.dataset))
        if versions != self.versions or self.ensemble is None:
            self.versions = versions
            self.ensemble = Ensemble(self.workspace, self.dataset, versions) if versions else None
        return self.versions

    # ------------------------------------------------------------------ queue
    def queue(self, state="to review", split=None, kind=None, min_disagreement=None, max_disagreement=None):
        """The queue as a `QueueTable`; `state` is a key of `STATE_FILTERS`."""
        from saltviewer import SaltviewerError

        if state not in STATE_FILTERS:
            raise SaltviewerError(f"state filter must be one of {', '.join(STATE_FILTERS)}, got {state!r}.")
        return build_queue(self.store, self.dataset, STATE_FILTERS[state], split=split, kind=kind,
                           min_disagreement=min_disagreement, max_disagreement=max_disagreement)

    # ------------------------------------------------------------------ one tile
    def kind_of(self, tile):
        return "label" if self.dataset.has_mask[self.dataset.index(tile)] else "pseudo"

    def show(self, tile):
        """The `TileDisplay` of a tile id."""
        dataset = self.dataset
        index = dataset.index(tile)
        tile = dataset.ids[index]
        kind = self.kind_of(tile)
        truth = dataset.mask(index)
        view = self.ensemble.tile(index) if self.ensemble is not None else None
        item = self.store.item(dataset, tile, kind)
        if item is not None and item.state in ("accepted", "corrected") and item.mask is not None:
            edit, source = item.mask, item.state
        elif item is not None and item.proposed_mask is not None:
            edit, source = item.proposed_mask, "proposed"
        elif truth is not None:
            edit, source = truth, "training mask"
        elif view is not None:
            edit, source = view.mask, "consensus"
        else:
            edit, source = np.zeros((101, 101), bool), "empty"
        neighbours = {}
        if self.neighbours is not None:
            neighbours = dict(self.neighbours(tile) or {})
        return TileDisplay(tile=tile, index=index, kind=kind, split=str(dataset.split[index]),
                           depth=float(dataset.depths[index]), image=dataset.image(index), truth=truth, view=view,
                           item=item, edit_mask=np.asarray(edit).astype(np.uint8), edit_source=source,
                           neighbours=neighbours)

    # ------------------------------------------------------------------ decisions
    def accept(self, tile):
        """Accept the proposal of a tile; returns the store's item."""
        return self.store.accept(self.dataset, tile, self.kind_of(tile))

    def reject(self, tile):
        return self.store.reject(self.dataset, tile, self.kind_of(tile))

    def correct(self, tile, mask):
        """Save a drawn mask (any non-zero label is salt) as the tile's mask in force."""
        return self.store.correct(self.dataset, tile, np.asarray(mask) != 0, self.kind_of(tile))

    def undo(self):
        """Take back the last decision in the store (a whole batch at once).

        Returns
        -------
        items : list of saltviewer.store.Item
            The items restored, with their state now.
        """
        return self.store.undo()

    def batch_candidates(self, min_agreement, split=None):
        """Proposed pseudo-labels with agreement at least `min_agreement` (what batch-accept takes)."""
        items = self.store.items(self.dataset, state="proposed", kind="pseudo", split=split,
                                 min_agreement=float(min_agreement), order="tile")
        return [item.tile for item in items if item.criterion != "manual"]

    def accept_batch(self, min_agreement, split=None):
        """Accept every proposed pseudo-label at or above the agreement level; one undoable batch."""
        return self.store.accept_all(self.dataset, float(min_agreement), kind="pseudo", split=split)


def mask_outline(mask, width=1):
    """The pixels of `mask` that touch the outside (4-connected), `width` pixels deep.

    Parameters
    ----------
    mask : (H, W) ndarray of bool
    width : int

    Returns
    -------
    outline : (H, W) ndarray of bool
    """
    mask = np.asarray(mask, bool)
    inner = mask.copy()
    for _ in range(int(width)):
        shrunk = inner.copy()
        shrunk[1:, :] &= inner[:-1, :]
        shrunk[:-1, :] &= inner[1:, :]
        shrunk[:, 1:] &= inner[:, :-1]
        shrunk[:, :-1] &= inner[:, 1:]
        inner = shrunk
    return mask & ~inner


def _rgba(colour):
    colour = colour.lstrip("#")
    return np.array([int(colour[k:k + 2], 16) for k in (0, 2, 4)] + [255], np.uint8)


def heat_colours(values, top=0.5, opacity=0.45, colour=(255, 59, 59)):
    """RGBA heat-map colours for values in ``[0, top]``: transparent at 0, most opaque at `top`.

    One hue (the red that marks inconsistencies everywhere in saltviewer) whose opacity
    grows with the value, so the seismic image stays readable under it.

    Returns
    -------
    rgba : (..., 4) ndarray of uint8
    """
    t = np.clip(np.asarray(values, float) / top, 0, 1)
    out = np.empty(t.shape + (4,), np.uint8)
    out[..., :3] = colour
    out[..., 3] = np.rint(255 * opacity * t)
    return out


def outline_image(display, versions=None, consensus=True, truth=True, heat=False, colours=None):
    """One RGBA image with the outlines of the masks a person compares, each in its colour.

    Drawing every model version's mask as an outline, and the disagreement heat map under
    them, in a single image layer keeps the canvas to three layers, so stepping from tile
    to tile stays fast with many versions (each layer costs a draw).

    Parameters
    ----------
    display : TileDisplay
    versions : collection of str, optional
        Versions to draw (default all); each in ``colours[position]``.
    consensus, truth : bool
        Also draw the consensus (2 pixels wide) and the training mask.
    heat : bool
        Colour the pixels where the versions disagree (`heat_colours` of the pixel
        disagreement: transparent where all agree, bright where they split evenly).
    colours : sequence of str, optional
        Hex colours per version position (default `saltviewer.plugins._style.VERSION_COLOURS`).

    Returns
    -------
    image : (101, 101, 4) ndarray of uint8
        Transparent where nothing is drawn; later marks are drawn over earlier ones (heat
        map, versions, then the consensus, then the training mask on top).
    """
    from ._style import CONSENSUS, version_colour

    out = np.zeros(display.image.shape + (4,), np.uint8)
    view = display.view
    if heat and view is not None:
        out[...] = heat_colours(view.disagreement)
    if view is not None:
        for position, version in enumerate(view.versions):
            if versions is not None and version not in versions:
                continue
            colour = colours[position] if colours is not None else version_colour(position)
            out[mask_outline(view.member_masks[position])] = _rgba(colour)
    if consensus and view is not None:
        out[mask_outline(view.mask, 2)] = _rgba(CONSENSUS)
    if truth and display.truth is not None:
        out[mask_outline(display.truth)] = _rgba("#ffffff")
    return out
