"""What the curation store hands out and takes in: proposals, items, events, reports, undo plans."""

from dataclasses import dataclass, field

import numpy as np

from .provenance import is_reviewed
from .reasons import is_disputed, reason_of

__all__ = ["Proposal", "Item", "Event", "ProposeReport", "UndoPlan"]

@dataclass
class Proposal:
    """A candidate for review, as selection hands it to `CurationStore.propose`.

    Parameters
    ----------
    tile : str
        Tile id.
    mask : (101, 101) ndarray of bool
        The proposed mask (the ensemble's consensus).
    criterion : str
        Short code of the rule that chose it (``"confident-empty"``, ``"label-error"``, ...).
    reason : str
        One sentence a person can read: why this tile was chosen.
    models : tuple of str
        The model versions whose predictions proposed it.
    scores : dict
        The scores behind the choice (JSON-serialisable).
    kind : {"pseudo", "label"}
    disagreement : float
        The queue's sort key (most first).
    agreement : float
        What `CurationStore.accept_all` compares with its level (mean pairwise IoU).
    uncertain : float
        Fraction of uncertain pixels (the queue's tie-breaker).
    """

    tile: str
    mask: np.ndarray
    criterion: str
    reason: str
    models: tuple = ()
    scores: dict = field(default_factory=dict)
    kind: str = "pseudo"
    disagreement: float = 0.0
    agreement: float = 1.0
    uncertain: float = 0.0


@dataclass
class Item:
    """One tile under review and its current state.

    Attributes
    ----------
    id : int
        The item's number in the store.
    tile, kind, split, state : str
    criterion, reason : str
        Why it was proposed (``"manual"`` for a tile a person drew without a proposal).
    models : tuple of str
        Model versions that proposed it.
    scores : dict
    disagreement, agreement, coverage, uncertain : float
        Coverage is that of the proposed mask.
    dataset : str
        Key of the dataset it was proposed from.
    created_at, created_by, updated_at, updated_by : str
        ISO 8601 UTC times and user names of the proposal and of the last change.
    revision : int
        Number of the last event that changed it.
    proposed_mask, mask : (101, 101) ndarray of bool or None
        The proposed mask and the mask in force (accepted: the proposed one; corrected:
        the drawn one; proposed or rejected: None). Loaded only when asked for (see
        `masks_loaded`).
    masks_loaded : bool
    """

    id: int
    tile: str
    kind: str
    split: str
    state: str
    criterion: str
    reason: str
    models: tuple
    scores: dict
    disagreement: float
    agreement: float
    coverage: float
    uncertain: float
    dataset: str
    created_at: str
    created_by: str
    updated_at: str
    updated_by: str
    revision: int
    proposed_mask: object = None
    mask: object = None
    masks_loaded: bool = False

    @property
    def decided(self):
        return self.state != "proposed"

    @property
    def why(self):
        """The reason it is under review (``"confident salt"``, ``"disputed"``, ...; see `reason_of`)."""
        return reason_of(self.criterion)

    @property
    def disputed(self):
        """True when the models dispute the proposal: it cannot be accepted as it is."""
        return is_disputed(self.criterion)

    def describe(self):
        """One line: id, kind, state, scores, reason."""
        return (f"{self.tile}  {self.kind:<6} {self.state:<9} disagreement {self.disagreement:.3f}  "
                f"agreement {self.agreement:.3f}  coverage {self.coverage:.3f}  {self.reason}")


@dataclass
class Event:
    """One entry of the history (never changed once written).

    Attributes
    ----------
    id : int
        Global order of events; the store's revision is the last one's id.
    batch : int
        Events written by one call share a batch (undo takes back a whole batch).
    item : int
    tile, kind : str
    action : str
        ``propose``, ``repropose``, ``accept``, ``reject``, ``correct`` or ``undo``.
    state_before, state_after : str or None
    undoes : int or None
        For ``undo``: the id of the decision it takes back.
    redoes : int or None
        For a decision made again by `CurationStore.redo`: the id of the undo it takes back.
    how : str or None
        For a decision, how it was made (`saltviewer.store.HOWS`: ``"tile"``, ``"grid"``,
        ``"mosaic"`` or ``"batch"``); None for proposals and undos.
    detail : dict
        Provenance (criterion, reason, models, scores) or the person's note.
    user, at : str
    mask : (101, 101) ndarray of bool or None
        The mask in force after the event (loaded when asked for).
    """

    id: int
    batch: int
    item: int
    tile: str
    kind: str
    action: str
    state_before: object
    state_after: str
    undoes: object
    detail: dict
    user: str
    at: str
    redoes: object = None
    how: object = None
    mask: object = None

    @property
    def reviewed(self):
        """True for a decision a person made while seeing the tile (`is_reviewed`)."""
        return self.action in ("accept", "reject", "correct") and is_reviewed(self.action, self.how)

    @property
    def note(self):
        """The person's note, or ``""``."""
        return str(self.detail.get("note") or "")


@dataclass
class ProposeReport:
    """What `CurationStore.propose` did.

    Attributes
    ----------
    added : int
        New items.
    updated : int
        Undecided items whose proposal changed (new models, scores or mask).
    unchanged : int
        Undecided items proposed again exactly as before.
    kept_decided : int
        Items a person has decided: their decision stands; the new proposal is not applied.
    revision : int
        The store's revision afterwards.
    """

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    kept_decided: int = 0
    revision: int = 0


@dataclass
class UndoPlan:
    """What an undo or a redo would take back, before it does (`CurationStore.undo_plan`).

    Attributes
    ----------
    action : {"undo", "redo"}
    events : list of Event
        The decisions to take back (undo) or to make again (redo), newest first.
    undos : list of Event
        For a redo: the undo event of each decision in `events` (same order).
    skipped : list of Event
        Decisions of the same batch that someone changed since: they are left as they are.
    user : str or None
        Whose decisions (None: anyone's, as asked with ``any=True``).
    others : int
        For an undo of one's own with nothing to take back: how many live decisions other
        people have (an undo with ``any=True`` would take back the last of them).
    """

    action: str
    events: list = field(default_factory=list)
    undos: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    user: object = None
    others: int = 0

    def __len__(self):
        return len(self.events)

    def __bool__(self):
        return bool(self.events)

    @property
    def batch(self):
        """The batch number of the events (None when empty)."""
        return self.events[0].batch if self.events else None

    @property
    def tiles(self):
        return [event.tile for event in self.events]

    def describe(self):
        """One line for a person: how many, whose, what and when."""
        if not self.events:
            return f"nothing to {self.action}"
        first = self.events[0]
        whose = sorted({event.user for event in self.events})
        what = first.detail.get("batch") or (first.action if len(self.events) == 1 else f"{first.action} batch")
        n = len(self.events)
        text = (f"{self.action} {n:,} decision{'s' if n != 1 else ''} ({what}) by {', '.join(whose)} "
                f"at {first.at[:16].replace('T', ' ')}")
        if n == 1:
            text += f" on {first.tile}"
        if self.skipped:
            text += f"; {len(self.skipped):,} changed since by someone else stay as they are"
        return text
