"""The review loop without a viewer: the queue, one tile's display data, and decisions.

`Reviewer` joins what the core provides (the dataset, the ensemble of model versions with
predictions, the curation store, the mosaic neighbours) into what the review widget shows,
so that tests can drive the loop without Qt. Every decision goes straight to the store,
with the reviewer's name and note; what may be decided (a disputed tile is never accepted
as it is, whose decision an undo takes back) is the store's rule.
"""

from dataclasses import dataclass, field

import numpy as np

from .outlines import heat_colours, mask_outline, outline_image  # noqa: F401  (importable from here as before)

__all__ = ["Reviewer", "QueueTable", "TileDisplay", "STATE_FILTERS", "REASON_FILTERS", "build_queue", "mask_outline",
           "heat_colours", "outline_image"]

#: Choices of the state filter: label -> states (None: every state).
STATE_FILTERS = {
    "to review": ("proposed",),
    "decided": ("accepted", "corrected", "rejected"),
    "accepted": ("accepted",),
    "corrected": ("corrected",),
    "rejected": ("rejected",),
    "all": None,
}
#: Choices of the reason filter: label -> reasons (None: every reason).
REASON_FILTERS = {
    "every reason": None,
    "confident": ("confident salt", "confident empty", "other"),
    "confident salt": ("confident salt",),
    "confident empty": ("confident empty",),
    "disputed": ("disputed",),
    "label check": ("label check",),
    "mosaic edge": ("mosaic edge",),
    "drawn by hand": ("drawn by hand",),
}


@dataclass
class QueueTable:
    """Store items as columns, in the store's order (most disagreement first).

    Attributes
    ----------
    tile, kind, split, state, criterion, why : (n,) ndarray of str
        `why` is the reason the item is there (``"confident salt"``, ``"disputed"``, ...).
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
    why: np.ndarray = None

    def __post_init__(self):
        if self.why is None:
            from saltviewer.store import reason_of

            self.why = np.array([reason_of(c) for c in self.criterion], dtype="<U15")
        self._rows = None

    def __len__(self):
        return len(self.tile)

    def position(self, tile):
        """Row of a tile id, or None (a dictionary built once: fast on long queues)."""
        if self._rows is None:
            self._rows = {str(t): k for k, t in enumerate(self.tile)}
        return self._rows.get(str(tile))

    @classmethod
    def empty(cls):
        s = np.array([], dtype="<U1")
        f = np.array([], dtype=float)
        return cls(s, s, s, s, s, [], f, f, f, f, np.array([], dtype="<U15"))


def build_queue(store, dataset, states=("proposed",), split=None, kind=None, min_disagreement=None,
                max_disagreement=None, reasons=None):
    """The items of `dataset` in the store that pass the filters, as a `QueueTable`."""
    items = store.items(dataset, state=states, split=split, kind=kind, reason=reasons,
                        min_disagreement=min_disagreement, max_disagreement=max_disagreement, order="disagreement",
                        scores=False)
    if not items:
        return QueueTable.empty()
    index = dataset.index
    depths = np.asarray(dataset.depths, float)[[index(item.tile) for item in items]]
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
        why=np.array([item.why for item in items], dtype="<U15"),
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
        else the proposed mask (not for a disputed tile: there the consensus is no
        proposal), else the training mask, else the consensus, else empty.
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
    def shown_state(self):
        """The state as the dock shows it: ``"disputed"`` for a proposed tile the models dispute."""
        from ..common.style import shown_state

        return shown_state(self.state, self.disputed)

    @property
    def coverage(self):
        """Fraction of the tile in the editable mask."""
        return float(np.count_nonzero(self.edit_mask)) / self.edit_mask.size

    @property
    def disputed(self):
        return self.item is not None and self.item.disputed

    @property
    def why(self):
        """Why the tile is under review, or None when it has no item."""
        return None if self.item is None else self.item.why


class Reviewer:
    """Review decisions on one dataset with one workspace and its curation store.

    Parameters
    ----------
    dataset : saltviewer.Dataset
    workspace : saltviewer.Workspace
    store : saltviewer.store.CurationStore
    neighbours : callable, optional
        ``neighbours(tile_id) -> dict`` of side to tile id (from the mosaics).
    user : str, optional
        The reviewer's name recorded with each decision (default: the store's user).

    Attributes
    ----------
    note : str
        Stored with the next decision (one tile, a batch, a page of the grid), then cleared,
        unless `note_pinned`.
    note_pinned : bool
        Keep the note for every decision until it is unpinned or the reviewer changes.
    """

    def __init__(self, dataset, workspace, store, neighbours=None, user=None):
        self.dataset = dataset
        self.workspace = workspace
        self.store = store
        self.neighbours = neighbours
        self.user = user or store.user
        self.note = ""
        self.note_pinned = False
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
    def queue(self, state="to review", split=None, kind=None, min_disagreement=None, max_disagreement=None,
              reason="every reason"):
        """The queue as a `QueueTable`; `state` is a key of `STATE_FILTERS`, `reason` of `REASON_FILTERS`."""
        from saltviewer import SaltviewerError

        if state not in STATE_FILTERS:
            raise SaltviewerError(f"state filter must be one of {', '.join(STATE_FILTERS)}, got {state!r}.")
        if reason not in REASON_FILTERS:
            raise SaltviewerError(f"reason filter must be one of {', '.join(REASON_FILTERS)}, got {reason!r}.")
        return build_queue(self.store, self.dataset, STATE_FILTERS[state], split=split, kind=kind,
                           min_disagreement=min_disagreement, max_disagreement=max_disagreement,
                           reasons=REASON_FILTERS[reason])

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
        elif item is not None and item.proposed_mask is not None and not item.disputed:
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
    def _who(self):
        return {"user": self.user, "note": self.note or None}

    def _noted(self, result):
        """A decision was written with the note: it belonged to that decision alone unless pinned."""
        if not self.note_pinned:
            self.note = ""
        return result

    def set_user(self, user):
        """Another reviewer: a note (pinned or not) was the previous reviewer's, and is dropped."""
        if user != self.user:
            self.note, self.note_pinned = "", False
        self.user = user

    def accept(self, tile):
        """Accept the proposal of a tile; returns the store's item (a disputed one is refused)."""
        return self._noted(self.store.accept(self.dataset, tile, self.kind_of(tile), how="tile", **self._who()))

    def reject(self, tile):
        return self._noted(self.store.reject(self.dataset, tile, self.kind_of(tile), how="tile", **self._who()))

    def correct(self, tile, mask, source=None):
        """Save a drawn mask (any non-zero label is salt) as the tile's mask in force."""
        return self._noted(self.store.correct(self.dataset, tile, np.asarray(mask) != 0, self.kind_of(tile),
                                              source=source, how="tile", **self._who()))

    def undo_plan(self, any=False):
        """What an undo would take back (the reviewer's own last decision, or anyone's)."""
        return self.store.undo_plan(user=self.user, any=any)

    def undo(self, plan=None, any=False):
        """Take back the reviewer's last decision (a whole batch), or exactly `plan`.

        Returns
        -------
        items : list of saltviewer.store.Item
            The items restored, with their state now.
        """
        return self.store.undo(user=self.user, any=any, plan=plan)

    def redo_plan(self):
        return self.store.redo_plan(user=self.user)

    def redo(self, plan=None):
        return self.store.redo(user=self.user, plan=plan)

    def history(self, tile):
        """Every event of a tile's item, oldest first."""
        return self.store.history(self.dataset, tile, self.kind_of(tile))

    def batch_candidates(self, min_agreement, split=None, masks=False):
        """The items batch-accept would take (the store's rule: confident pseudo-labels only)."""
        return self.store.batch_candidates(self.dataset, float(min_agreement), split=split, masks=masks)

    def accept_batch(self, min_agreement, tiles=None, split=None):
        """Accept the batch candidates (those of `tiles` among them, if given); one undoable batch.

        The store records them as accepted unseen (``how="batch"``): they train as pseudo-labels.
        """
        return self._noted(self.store.accept_all(self.dataset, float(min_agreement), split=split, tiles=tiles,
                                                 how="batch", **self._who()))

    def apply_marks(self, marks, label="triage grid"):
        """Write marks ``{tile: "accept" | "reject"}`` as one batch (one undo).

        The store records them as decided on a page a person looked at (``how="grid"``).

        Returns
        -------
        decided : list of (str, str)
            ``(tile, state)`` of each item changed (a disputed tile marked accept is left out).
        """
        decisions = [(tile, self.kind_of(tile), action, None) for tile, action in marks.items()
                     if action in ("accept", "reject")]
        counts = {a: sum(1 for _, _, x, _ in decisions if x == a) for a in ("accept", "reject")}
        detail = {"batch": f"{label}: {counts['accept']} accepted, {counts['reject']} rejected"}
        return self._noted(self.store.decide_batch(self.dataset, decisions, detail=detail, how="grid",
                                                   **self._who()))
