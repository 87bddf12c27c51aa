"""The curation store: every review decision, with provenance and a full history, in SQLite.

One store per workspace (``Workspace.store_path``, ``curation.sqlite``). It holds *items*:
a tile, a kind, a state and the mask in force.

Kinds
    ``"pseudo"``: an unlabelled tile proposed as a pseudo-label (or drawn by hand);
    ``"label"``: a labelled tile whose training mask the ensemble contradicts (a likely
    label error). Accepting a ``"label"`` item replaces the training mask with the
    proposed one; rejecting it keeps the training mask.
States
    ``proposed`` (awaiting review), ``accepted`` (the proposed mask is in force),
    ``rejected`` (no mask in force), ``corrected`` (a mask drawn by a person is in force).

Every change is an *event* appended to the history, with who and when; the ``events`` table
refuses updates and deletes (SQLite triggers), so nothing a person did is ever lost. The
``items`` table is the current state, and `CurationStore.verify` checks that it equals a
replay of the history. Undo appends an ``undo`` event that restores the state before the
decision it undoes; the undo stack is global across tiles (last decision first) and a batch
decision (`CurationStore.accept_all`) is undone as a whole.

Items are keyed by (tile id, kind): tile ids are unique in the competition layout, so the
decisions survive adding tiles to the data folder or moving it. Every method that names a
tile takes the `Dataset` so that the id is checked against it; its ``kind`` defaults to what
the tile is (``"label"`` for a tile with a ground-truth mask, ``"pseudo"`` otherwise).

Safety: WAL journal with ``synchronous=FULL``; each save is one transaction, so a process
killed mid-save loses at most that save; writers take the write lock up front
(``BEGIN IMMEDIATE``) and wait for each other (busy timeout plus retries), so the GUI and a
command line can share a store. A store written by a newer schema is refused, unchanged.
"""

import contextlib
import getpass
import json
import sqlite3
import threading
import time
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ._errors import SaltviewerError
from .rle import TILE_SHAPE

__all__ = ["CurationStore", "Item", "Event", "Proposal", "ProposeReport", "SCHEMA_VERSION", "KINDS", "STATES",
           "export_labels",
           "encode_mask", "decode_mask", "check_mask"]

#: Schema version written by this saltviewer; stores from a newer one are refused.
SCHEMA_VERSION = 1
APPLICATION_ID = 0x53564331            # "SVC1": marks an SQLite file as a saltviewer curation store
KINDS = ("pseudo", "label")
STATES = ("proposed", "accepted", "rejected", "corrected")
DECISIONS = ("accept", "reject", "correct")
_SQLITE_HEADER = b"SQLite format 3\x00"
_MASK_CODEC = 1


# ---------------------------------------------------------------------------- masks
def check_mask(mask, where="mask"):
    """Return `mask` as a (101, 101) bool array, or raise `SaltviewerError`.

    Accepted: bool arrays, and integer arrays holding only 0 and 1 (as a napari labels
    layer gives). Float arrays and other values are refused: a probability map is not a
    mask.
    """
    if mask is None:
        raise SaltviewerError(f"{where}: expected a (101, 101) mask, got None.")
    mask = np.asarray(mask)
    if mask.shape != TILE_SHAPE:
        raise SaltviewerError(f"{where}: masks must be 101x101, got shape {mask.shape}.")
    if mask.dtype == bool:
        return np.ascontiguousarray(mask)
    if not np.issubdtype(mask.dtype, np.integer):
        raise SaltviewerError(f"{where}: masks must be bool (or integers 0/1), got dtype {mask.dtype}; "
                              "threshold a probability map first.")
    values = np.unique(mask)
    if not np.isin(values, (0, 1)).all():
        shown = ", ".join(str(v) for v in values[~np.isin(values, (0, 1))][:5])
        raise SaltviewerError(f"{where}: integer masks may hold only 0 and 1, found {shown}.")
    return mask.astype(bool)


def encode_mask(mask, where="mask"):
    """A (101, 101) mask as compact bytes (packed bits, deflated): 20 to 1,300 bytes."""
    mask = check_mask(mask, where)
    return bytes([_MASK_CODEC]) + zlib.compress(np.packbits(mask.reshape(-1)).tobytes(), 6)


def decode_mask(blob):
    """The (101, 101) bool mask of bytes from `encode_mask`; None stays None."""
    if blob is None:
        return None
    blob = bytes(blob)
    if not blob or blob[0] != _MASK_CODEC:
        raise SaltviewerError(f"curation store: a stored mask has an unknown encoding ({blob[:1]!r}).")
    bits = np.frombuffer(zlib.decompress(blob[1:]), np.uint8)
    return np.unpackbits(bits, count=TILE_SHAPE[0] * TILE_SHAPE[1]).astype(bool).reshape(TILE_SHAPE)


# ---------------------------------------------------------------------------- records
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
    mask: object = None


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


# ---------------------------------------------------------------------------- schema
def _schema_1(db):
    db.execute("""CREATE TABLE datasets (
        key TEXT PRIMARY KEY,
        root TEXT NOT NULL,
        tiles INTEGER NOT NULL,
        first_seen TEXT NOT NULL)""")
    db.execute("""CREATE TABLE items (
        id INTEGER PRIMARY KEY,
        tile TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('pseudo', 'label')),
        split TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('proposed', 'accepted', 'rejected', 'corrected')),
        criterion TEXT NOT NULL,
        reason TEXT NOT NULL,
        models TEXT NOT NULL,
        scores TEXT NOT NULL,
        disagreement REAL NOT NULL,
        agreement REAL NOT NULL,
        coverage REAL NOT NULL,
        uncertain REAL NOT NULL,
        dataset TEXT NOT NULL REFERENCES datasets(key),
        proposed_mask BLOB,
        mask BLOB,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        updated_by TEXT NOT NULL,
        revision INTEGER NOT NULL,
        UNIQUE (tile, kind))""")
    db.execute("CREATE INDEX items_queue ON items (state, disagreement DESC, uncertain DESC, tile)")
    db.execute("""CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        batch INTEGER NOT NULL,
        item INTEGER NOT NULL REFERENCES items(id),
        action TEXT NOT NULL CHECK (action IN ('propose', 'repropose', 'accept', 'reject', 'correct', 'undo')),
        state_before TEXT,
        state_after TEXT NOT NULL,
        mask_before BLOB,
        mask_after BLOB,
        proposed_mask BLOB,
        undoes INTEGER REFERENCES events(id),
        detail TEXT NOT NULL,
        user TEXT NOT NULL,
        at TEXT NOT NULL)""")
    db.execute("CREATE INDEX events_item ON events (item, id)")
    db.execute("CREATE INDEX events_batch ON events (batch)")
    db.execute("CREATE UNIQUE INDEX events_undoes ON events (undoes) WHERE undoes IS NOT NULL")
    db.execute("""CREATE TRIGGER events_are_never_changed BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, 'the curation history is append-only'); END""")
    db.execute("""CREATE TRIGGER events_are_never_deleted BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, 'the curation history is append-only'); END""")
    db.execute("""CREATE TRIGGER items_are_never_deleted BEFORE DELETE ON items
        BEGIN SELECT RAISE(ABORT, 'curation items are never deleted'); END""")


#: ``(version, function)`` pairs; function(db) moves a store from ``version - 1`` to ``version``.
MIGRATIONS = ((1, _schema_1),)


def migrate(db, path, migrations=MIGRATIONS):
    """Bring an open store up to the newest schema in `migrations`, in one transaction.

    Returns the list of versions applied (empty when the store was current).
    """
    target = max(v for v, _ in migrations)
    db.execute("BEGIN IMMEDIATE")
    try:
        current = db.execute("PRAGMA user_version").fetchone()[0]
        if current > target:
            raise _newer_schema(path, current, target)
        applied = []
        for version, step in sorted(migrations):
            if version > current:
                step(db)
                db.execute(f"PRAGMA user_version = {int(version)}")
                applied.append(version)
        if applied:
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        db.execute("COMMIT")
        return applied
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _newer_schema(path, found, known):
    return SaltviewerError(
        f"curation store {path}: schema version {found} is newer than this saltviewer reads (up to {known}); "
        "upgrade saltviewer to use it (the store was not changed).")


# ---------------------------------------------------------------------------- the store
_ITEM_COLUMNS = ("id, tile, kind, split, state, criterion, reason, models, scores, disagreement, agreement, "
                 "coverage, uncertain, dataset, created_at, created_by, updated_at, updated_by, revision")
_EVENT_COLUMNS = ("e.id, e.batch, e.item, i.tile, i.kind, e.action, e.state_before, e.state_after, e.undoes, "
                  "e.detail, e.user, e.at")
_ORDERS = {
    "disagreement": "disagreement DESC, uncertain DESC, tile",
    "agreement": "agreement DESC, uncertain, tile",
    "tile": "tile",
    "recent": "revision DESC",
}


def default_user():
    """The login name (``getpass.getuser()``), or ``"unknown"`` where the system has none."""
    try:
        return getpass.getuser() or "unknown"
    except Exception:   # no USER variable and no password entry (some containers)
        return "unknown"


def _now():
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _is_busy(error):
    text = str(error).lower()
    return "locked" in text or "busy" in text


class CurationStore:
    """The curation store of a workspace (created on first use).

    Parameters
    ----------
    path : str, Path or Workspace
        The SQLite file, usually ``workspace.store_path`` (a workspace stands for it).
    user : str, optional
        Recorded with each change; by default the login name (`default_user`).
    timeout : float
        Seconds to wait for another process's write before giving up.

    Raises
    ------
    SaltviewerError
        If the file is not a curation store, or was written by a newer schema (the file
        is left untouched).

    Examples
    --------
    >>> store = CurationStore(workspace.store_path)            # doctest: +SKIP
    >>> store.queue(dataset, limit=10)                         # doctest: +SKIP
    >>> store.accept(dataset, "a1b2c3d4e5")                    # doctest: +SKIP
    >>> store.undo()                                           # doctest: +SKIP
    >>> labels = store.pseudo_labels(dataset)                  # doctest: +SKIP
    """

    def __init__(self, path, user=None, timeout=30.0):
        self.path = Path(getattr(path, "store_path", path))      # a Workspace stands for its store
        self.user = user or default_user()
        self.timeout = float(timeout)
        self._lock = threading.RLock()
        self._ids = {}
        self._db = self._open()

    # ------------------------------------------------------------------ opening
    def _open(self):
        path = self.path
        if path.is_dir():
            raise SaltviewerError(f"curation store {path}: is a folder; expected an SQLite file "
                                  "(a workspace's is WS/curation.sqlite; a Workspace object stands for it).")
        if path.exists() and path.stat().st_size:
            with open(path, "rb") as handle:
                if handle.read(16) != _SQLITE_HEADER:
                    raise SaltviewerError(f"curation store {path}: is not an SQLite database; "
                                          "move it aside or choose another workspace.")
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            db = sqlite3.connect(str(path), timeout=self.timeout, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as error:
            raise SaltviewerError(f"curation store {path}: cannot be opened ({error}).") from None
        try:
            self._check_identity(db)
            db.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            mode = self._retry(lambda: db.execute("PRAGMA journal_mode = WAL").fetchone()[0])
            self.journal_mode = mode
            db.execute("PRAGMA synchronous = FULL")
            db.execute("PRAGMA foreign_keys = ON")
            if db.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                self._retry(lambda: migrate(db, path))
        except sqlite3.DatabaseError as error:
            db.close()
            raise SaltviewerError(f"curation store {path}: cannot be read ({error}).") from None
        except BaseException:
            db.close()
            raise
        return db

    def _check_identity(self, db):
        version = db.execute("PRAGMA user_version").fetchone()[0]
        application = db.execute("PRAGMA application_id").fetchone()[0]
        if application not in (0, APPLICATION_ID):
            raise SaltviewerError(f"curation store {self.path}: is an SQLite database of another program "
                                  f"(application id {application:#x}), not a saltviewer curation store.")
        if application == 0:
            tables = db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
            if tables:
                raise SaltviewerError(f"curation store {self.path}: is an SQLite database with other tables, "
                                      "not a saltviewer curation store.")
        if version > SCHEMA_VERSION:
            raise _newer_schema(self.path, version, SCHEMA_VERSION)

    def _retry(self, action):
        deadline = time.monotonic() + self.timeout
        delay = 0.01
        while True:
            try:
                return action()
            except sqlite3.OperationalError as error:
                if not _is_busy(error):
                    raise
                if time.monotonic() > deadline:
                    raise SaltviewerError(f"curation store {self.path}: busy for over {self.timeout:g} s "
                                          "(another process keeps it locked); try again.") from None
                time.sleep(delay)
                delay = min(delay * 2, 0.2)

    def close(self):
        """Close the connection (the store stays on disk)."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self):
        return f"<CurationStore {str(self.path)!r}: revision {self.revision()}>"

    @property
    def db(self):
        if self._db is None:
            raise SaltviewerError(f"curation store {self.path}: is closed.")
        return self._db

    @property
    def schema_version(self):
        with self._lock:
            return self.db.execute("PRAGMA user_version").fetchone()[0]

    @contextlib.contextmanager
    def _write(self):
        """One write transaction: all of it is saved, or none of it."""
        with self._lock:
            db = self.db
            self._retry(lambda: db.execute("BEGIN IMMEDIATE"))
            try:
                yield db
                self._retry(lambda: db.execute("COMMIT"))
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    @contextlib.contextmanager
    def _read(self):
        """A consistent snapshot for several reads."""
        with self._lock:
            db = self.db
            self._retry(lambda: db.execute("BEGIN"))
            try:
                yield db
            finally:
                db.execute("COMMIT")

    # ------------------------------------------------------------------ helpers
    def _dataset_ids(self, dataset):
        ids = self._ids.get(id(dataset))
        if ids is None or ids[0] is not dataset:
            ids = (dataset, frozenset(dataset.ids))
            self._ids[id(dataset)] = ids
        return ids[1]

    @staticmethod
    def _resolve(dataset, tile, kind):
        """Position and kind of a tile; the kind defaults to what the tile is (labelled or not)."""
        if kind is not None and kind not in KINDS:
            raise SaltviewerError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}.")
        if not isinstance(tile, str):
            raise SaltviewerError(f"tile: expected a tile id (str), got {type(tile).__name__} {tile!r}.")
        index = dataset.index(tile)       # DataError naming the id when unknown
        if kind is None:
            kind = "label" if dataset.has_mask[index] else "pseudo"
        return index, kind

    def _check_tile(self, dataset, tile, kind):
        index, kind = self._resolve(dataset, tile, kind)
        if kind == "pseudo" and dataset.has_mask[index]:
            raise SaltviewerError(f"tile {tile!r} has a ground-truth mask; pseudo-labels are for unlabelled "
                                  "tiles (use kind='label' to review a training mask).")
        if kind == "label" and not dataset.has_mask[index]:
            raise SaltviewerError(f"tile {tile!r} has no ground-truth mask; kind='label' reviews training masks "
                                  "(use kind='pseudo' for unlabelled tiles).")
        return index, kind

    def _register(self, db, dataset, at):
        db.execute("INSERT OR IGNORE INTO datasets (key, root, tiles, first_seen) VALUES (?, ?, ?, ?)",
                   (dataset.key, str(dataset.root), len(dataset), at))

    @staticmethod
    def _next_batch(db):
        return db.execute("SELECT COALESCE(MAX(batch), 0) + 1 FROM events").fetchone()[0]

    @staticmethod
    def _item_row(db, tile, kind):
        return db.execute("SELECT id, state, proposed_mask, mask FROM items WHERE tile = ? AND kind = ?",
                          (tile, kind)).fetchone()

    @staticmethod
    def _append(db, batch, item, action, state_before, state_after, user, at, *, mask_before=None,
                mask_after=None, proposed_mask=None, undoes=None, detail=None):
        cursor = db.execute(
            "INSERT INTO events (batch, item, action, state_before, state_after, mask_before, mask_after, "
            "proposed_mask, undoes, detail, user, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (batch, item, action, state_before, state_after, mask_before, mask_after, proposed_mask, undoes,
             json.dumps(detail or {}, sort_keys=True), user, at))
        return cursor.lastrowid

    @staticmethod
    def _make_item(row, masks=None):
        (item_id, tile, kind, split, state, criterion, reason, models, scores, disagreement, agreement, coverage,
         uncertain, dataset, created_at, created_by, updated_at, updated_by, revision) = row
        item = Item(item_id, tile, kind, split, state, criterion, reason, tuple(json.loads(models)),
                    json.loads(scores), disagreement, agreement, coverage, uncertain, dataset, created_at,
                    created_by, updated_at, updated_by, revision)
        if masks is not None:
            item.proposed_mask = decode_mask(masks[0])
            item.mask = decode_mask(masks[1])
            item.masks_loaded = True
        return item

    # ------------------------------------------------------------------ reading
    def revision(self):
        """The number of the last change (0 for an empty store): poll it to see changes cheaply."""
        with self._lock:
            row = self.db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
            return int(row[0]) if row else 0

    def item(self, dataset, tile, kind=None):
        """The item of a tile, with its masks, or None when the tile has none.

        Returns
        -------
        item : Item or None
        """
        _, kind = self._resolve(dataset, tile, kind)
        with self._lock:
            row = self.db.execute(f"SELECT {_ITEM_COLUMNS}, proposed_mask, mask FROM items "
                                  "WHERE tile = ? AND kind = ?", (tile, kind)).fetchone()
        return None if row is None else self._make_item(row[:-2], row[-2:])

    def items(self, dataset=None, *, state=None, kind=None, split=None, criterion=None, min_disagreement=None,
              max_disagreement=None, min_agreement=None, max_agreement=None, order="disagreement", limit=None,
              offset=0, masks=False, proposed_only=False):
        """Items matching filters, sorted (most disagreement first by default).

        Parameters
        ----------
        dataset : Dataset, optional
            Only tiles of this dataset.
        state, kind, split, criterion : str or sequence of str, optional
            Keep items whose field is one of these.
        min_disagreement, max_disagreement, min_agreement, max_agreement : float, optional
            Closed score ranges.
        order : {"disagreement", "agreement", "tile", "recent"}
            ``"disagreement"``: most first, ties by uncertain pixels (most first), then id;
            ``"agreement"``: most agreement first; ``"recent"``: last changed first.
        limit, offset : int, optional
            A page of the result.
        masks : bool
            Load the proposed mask and the mask in force of each item.
        proposed_only : bool
            Leave out items without a proposed mask (drawn by hand, then undone).

        Returns
        -------
        items : list of Item
        """
        if order not in _ORDERS:
            raise SaltviewerError(f"order must be one of {', '.join(_ORDERS)}, got {order!r}.")
        clauses, values = [], []
        for name, wanted, allowed in (("state", state, STATES), ("kind", kind, KINDS), ("split", split, None),
                                      ("criterion", criterion, None)):
            if wanted is None:
                continue
            wanted = [wanted] if isinstance(wanted, str) else list(wanted)
            if allowed is not None:
                bad = [w for w in wanted if w not in allowed]
                if bad:
                    raise SaltviewerError(f"{name} must be among {', '.join(allowed)}, got {bad[0]!r}.")
            clauses.append(f"{name} IN ({', '.join('?' * len(wanted))})")
            values.extend(wanted)
        for name, bound, op in (("disagreement", min_disagreement, ">="), ("disagreement", max_disagreement, "<="),
                                ("agreement", min_agreement, ">="), ("agreement", max_agreement, "<=")):
            if bound is not None:
                clauses.append(f"{name} {op} ?")
                values.append(float(bound))
        if proposed_only:
            clauses.append("proposed_mask IS NOT NULL")
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        columns = _ITEM_COLUMNS + (", proposed_mask, mask" if masks else "")
        sql = f"SELECT {columns} FROM items {where} ORDER BY {_ORDERS[order]}"
        page = dataset is None
        if page and limit is not None:
            sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
        with self._lock:
            rows = self.db.execute(sql, values).fetchall()
        if dataset is not None:
            known = self._dataset_ids(dataset)
            rows = [row for row in rows if row[1] in known]
            rows = rows[int(offset):] if limit is None else rows[int(offset):int(offset) + int(limit)]
        if masks:
            return [self._make_item(row[:-2], row[-2:]) for row in rows]
        return [self._make_item(row) for row in rows]

    def queue(self, dataset=None, **filters):
        """What awaits review: proposed items, most disagreement first (filters as `items`).

        A tile drawn by hand whose drawing was undone has nothing to review and is left out.
        """
        filters.setdefault("state", "proposed")
        filters.setdefault("proposed_only", True)
        return self.items(dataset, **filters)

    def counts(self, dataset=None):
        """``{kind: {state: count}}`` over all items (of the dataset's tiles, if given)."""
        with self._lock:
            rows = self.db.execute("SELECT tile, kind, state FROM items").fetchall()
        known = None if dataset is None else self._dataset_ids(dataset)
        result = {kind: {state: 0 for state in STATES} for kind in KINDS}
        for tile, kind, state in rows:
            if known is None or tile in known:
                result[kind][state] += 1
        return result

    def history(self, dataset, tile, kind=None, masks=False):
        """Every event of a tile's item, oldest first (empty when it has none).

        Returns
        -------
        events : list of Event
        """
        _, kind = self._resolve(dataset, tile, kind)
        return self._events("WHERE i.tile = ? AND i.kind = ?", (tile, kind), masks)

    def events(self, since=0, limit=None, masks=False):
        """Events after revision `since`, oldest first: what changed since the GUI last looked."""
        sql = "WHERE e.id > ?"
        if limit is not None:
            return self._events(sql, (int(since),), masks, f"LIMIT {int(limit)}")
        return self._events(sql, (int(since),), masks)

    def _events(self, where, values, masks, tail=""):
        columns = _EVENT_COLUMNS + (", e.mask_after" if masks else "")
        with self._lock:
            rows = self.db.execute(f"SELECT {columns} FROM events e JOIN items i ON i.id = e.item {where} "
                                   f"ORDER BY e.id {tail}", values).fetchall()
        events = []
        for row in rows:
            event = Event(*row[:9], json.loads(row[9]), row[10], row[11])
            if masks:
                event.mask = decode_mask(row[12])
            events.append(event)
        return events

    def pseudo_labels(self, dataset, kinds=("pseudo",)):
        """Masks in force of accepted and corrected items: what training reads as pseudo-labels.

        Parameters
        ----------
        dataset : Dataset
            Only tiles of this dataset are returned.
        kinds : sequence of str
            ``("pseudo",)`` by default; `label_corrections` gives the ``"label"`` kind.

        Returns
        -------
        labels : dict of str to (101, 101) ndarray of bool
            Tile id to mask, in dataset order.
        """
        kinds = [kinds] if isinstance(kinds, str) else list(kinds)
        bad = [k for k in kinds if k not in KINDS]
        if bad:
            raise SaltviewerError(f"kinds must be among {', '.join(KINDS)}, got {bad[0]!r}.")
        with self._lock:
            rows = self.db.execute(
                f"SELECT tile, mask FROM items WHERE state IN ('accepted', 'corrected') "
                f"AND kind IN ({', '.join('?' * len(kinds))})", kinds).fetchall()
        known = self._dataset_ids(dataset)
        rows = sorted((dataset.index(tile), tile, blob) for tile, blob in rows if tile in known)
        return {tile: decode_mask(blob) for _, tile, blob in rows}

    def label_corrections(self, dataset):
        """Training masks replaced by review (accepted or corrected ``"label"`` items)."""
        return self.pseudo_labels(dataset, kinds=("label",))

    # ------------------------------------------------------------------ writing
    def propose(self, dataset, proposals, user=None):
        """Add or refresh candidates for review, with their provenance.

        A tile a person has already decided keeps its decision (counted in
        ``kept_decided``); an undecided one gets the new proposal (a ``repropose`` event)
        when anything about it changed. All proposals are checked before anything is
        written; then all are saved in one transaction.

        Parameters
        ----------
        dataset : Dataset
        proposals : iterable of Proposal

        Returns
        -------
        report : ProposeReport
        """
        user = user or self.user
        prepared = []
        seen = set()
        for number, proposal in enumerate(proposals):
            where = f"proposal {number} (tile {getattr(proposal, 'tile', '?')!r})"
            if not isinstance(proposal, Proposal):
                raise SaltviewerError(f"{where}: expected a Proposal, got {type(proposal).__name__}.")
            index, _ = self._check_tile(dataset, proposal.tile, proposal.kind)
            if (proposal.tile, proposal.kind) in seen:
                raise SaltviewerError(f"{where}: tile proposed twice in one call.")
            seen.add((proposal.tile, proposal.kind))
            mask = check_mask(proposal.mask, f"{where} mask")
            numbers = {}
            for name in ("disagreement", "agreement", "uncertain"):
                value = getattr(proposal, name)
                try:
                    value = float(value)
                except (TypeError, ValueError):
                    value = float("nan")
                if not np.isfinite(value):
                    raise SaltviewerError(f"{where}: {name} must be a finite number, got {getattr(proposal, name)!r}.")
                numbers[name] = value
            try:
                scores = json.dumps(proposal.scores, sort_keys=True)
                models = json.dumps([str(m) for m in proposal.models])
            except (TypeError, ValueError) as error:
                raise SaltviewerError(f"{where}: scores must be JSON-serialisable ({error}).") from None
            prepared.append((proposal, str(dataset.split[index]), encode_mask(mask), models, scores, numbers,
                             float(mask.mean())))
        report = ProposeReport()
        with self._write() as db:
            at = _now()
            self._register(db, dataset, at)
            batch = self._next_batch(db)
            for proposal, split, blob, models, scores, numbers, coverage in prepared:
                row = db.execute("SELECT id, state, proposed_mask, models, scores, criterion, reason FROM items "
                                 "WHERE tile = ? AND kind = ?", (proposal.tile, proposal.kind)).fetchone()
                detail = {"criterion": proposal.criterion, "reason": proposal.reason,
                          "models": json.loads(models), "scores": json.loads(scores), "dataset": dataset.key}
                if row is None:
                    cursor = db.execute(
                        "INSERT INTO items (tile, kind, split, state, criterion, reason, models, scores, disagreement, "
                        "agreement, coverage, uncertain, dataset, proposed_mask, mask, created_at, created_by, "
                        "updated_at, updated_by, revision) VALUES (?, ?, ?, 'proposed', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                        "NULL, ?, ?, ?, ?, 0)",
                        (proposal.tile, proposal.kind, split, proposal.criterion, proposal.reason, models, scores,
                         numbers["disagreement"], numbers["agreement"], coverage, numbers["uncertain"], dataset.key,
                         blob, at, user, at, user))
                    event = self._append(db, batch, cursor.lastrowid, "propose", None, "proposed", user, at,
                                         proposed_mask=blob, detail=detail)
                    db.execute("UPDATE items SET revision = ? WHERE id = ?", (event, cursor.lastrowid))
                    report.added += 1
                    continue
                item_id, state, old_blob, old_models, old_scores, old_criterion, old_reason = row
                if state != "proposed":
                    report.kept_decided += 1
                    continue
                if (old_blob == blob and old_models == models and old_scores == scores
                        and old_criterion == proposal.criterion and old_reason == proposal.reason):
                    report.unchanged += 1
                    continue
                event = self._append(db, batch, item_id, "repropose", "proposed", "proposed", user, at,
                                     proposed_mask=blob, detail=detail)
                db.execute("UPDATE items SET criterion = ?, reason = ?, models = ?, scores = ?, disagreement = ?, "
                           "agreement = ?, coverage = ?, uncertain = ?, dataset = ?, proposed_mask = ?, "
                           "updated_at = ?, updated_by = ?, revision = ? WHERE id = ?",
                           (proposal.criterion, proposal.reason, models, scores, numbers["disagreement"],
                            numbers["agreement"], coverage, numbers["uncertain"], dataset.key, blob, at, user,
                            event, item_id))
                report.updated += 1
        report.revision = self.revision()
        return report

    def accept(self, dataset, tile, kind=None, *, user=None, note=None):
        """Accept the proposed mask of a tile; it becomes the mask in force.

        Accepting an item that is already accepted with the same mask changes nothing.

        Returns
        -------
        item : Item
        """
        return self._decide(dataset, tile, kind, "accept", None, user, note)

    def reject(self, dataset, tile, kind=None, *, user=None, note=None):
        """Reject a tile's proposal: no mask in force (for ``"label"``: keep the training mask)."""
        return self._decide(dataset, tile, kind, "reject", None, user, note)

    def correct(self, dataset, tile, mask, kind=None, *, user=None, note=None):
        """Put a mask drawn by a person in force.

        A tile with no item yet gets one (criterion ``"manual"``), so any unlabelled tile
        can be labelled by hand.

        Parameters
        ----------
        mask : (101, 101) ndarray of bool (or of integers 0/1)
        """
        mask = check_mask(mask, f"mask for tile {tile!r}")
        return self._decide(dataset, tile, kind, "correct", mask, user, note)

    def _decide(self, dataset, tile, kind, action, mask, user, note):
        index, kind = self._check_tile(dataset, tile, kind)
        user = user or self.user
        detail = {} if note is None else {"note": str(note)}
        with self._write() as db:
            at = _now()
            row = self._item_row(db, tile, kind)
            batch = self._next_batch(db)
            if row is None:
                if action != "correct":
                    raise SaltviewerError(f"tile {tile!r} has no {kind} item to {action}; only a drawn mask "
                                          "(correct) can be given to a tile that was not proposed.")
                self._register(db, dataset, at)
                cursor = db.execute(
                    "INSERT INTO items (tile, kind, split, state, criterion, reason, models, scores, disagreement, "
                    "agreement, coverage, uncertain, dataset, proposed_mask, mask, created_at, created_by, "
                    "updated_at, updated_by, revision) VALUES (?, ?, ?, 'proposed', 'manual', 'drawn by hand', '[]', "
                    "'{}', 0, 0, 0, 0, ?, NULL, NULL, ?, ?, ?, ?, 0)",
                    (tile, kind, str(dataset.split[index]), dataset.key, at, user, at, user))
                self._append(db, batch, cursor.lastrowid, "propose", None, "proposed", user, at,
                             detail={"criterion": "manual", "reason": "drawn by hand", "dataset": dataset.key})
                row = (cursor.lastrowid, "proposed", None, None)
            item_id, state, proposed, current = row
            if action == "accept":
                if proposed is None:
                    raise SaltviewerError(f"tile {tile!r}: nothing was proposed to accept; draw a mask instead.")
                new_state, new_mask = "accepted", proposed
            elif action == "reject":
                new_state, new_mask = "rejected", None
            else:
                new_state, new_mask = "corrected", encode_mask(mask)
            if new_state == state and new_mask == current:
                return self._fetch(db, item_id)
            event = self._append(db, batch, item_id, action, state, new_state, user, at, mask_before=current,
                                 mask_after=new_mask, detail=detail)
            db.execute("UPDATE items SET state = ?, mask = ?, updated_at = ?, updated_by = ?, revision = ? "
                       "WHERE id = ?", (new_state, new_mask, at, user, event, item_id))
            return self._fetch(db, item_id)

    def _fetch(self, db, item_id):
        row = db.execute(f"SELECT {_ITEM_COLUMNS}, proposed_mask, mask FROM items WHERE id = ?",
                         (item_id,)).fetchone()
        return self._make_item(row[:-2], row[-2:])

    def accept_all(self, dataset, min_agreement, *, kind="pseudo", criterion=None, split=None,
                   max_disagreement=None, user=None, note=None):
        """Accept every proposed item at or above an agreement level, as one undoable batch.

        Parameters
        ----------
        dataset : Dataset
        min_agreement : float in [0, 1]
            Items whose ``agreement`` (mean pairwise IoU of the ensemble) is at least this.
        kind, criterion, split : str, optional
            Further filters (see `items`).
        max_disagreement : float, optional

        Returns
        -------
        accepted : list of str
            The tile ids accepted.
        """
        try:
            min_agreement = float(min_agreement)
        except (TypeError, ValueError):
            min_agreement = float("nan")
        if not 0 <= min_agreement <= 1:
            raise SaltviewerError(f"min_agreement must be a number in [0, 1], got {min_agreement!r}.")
        user = user or self.user
        detail = {"batch": f"accept all with agreement >= {min_agreement:g}"}
        if note is not None:
            detail["note"] = str(note)
        with self._lock:
            chosen = self.items(dataset, state="proposed", kind=kind, criterion=criterion, split=split,
                                min_agreement=min_agreement, max_disagreement=max_disagreement, order="tile")
            accepted = []
            with self._write() as db:
                at = _now()
                batch = self._next_batch(db)
                for item in chosen:
                    row = db.execute("SELECT state, proposed_mask, mask FROM items WHERE id = ?",
                                     (item.id,)).fetchone()
                    state, proposed, current = row
                    if state != "proposed" or proposed is None:   # changed since listed, or manual
                        continue
                    event = self._append(db, batch, item.id, "accept", state, "accepted", user, at,
                                         mask_before=current, mask_after=proposed, detail=detail)
                    db.execute("UPDATE items SET state = 'accepted', mask = ?, updated_at = ?, updated_by = ?, "
                               "revision = ? WHERE id = ?", (proposed, at, user, event, item.id))
                    accepted.append(item.tile)
        return accepted

    def undo(self, dataset=None, tile=None, kind=None, *, user=None):
        """Take back the last decision: of one tile, or the last of all (a whole batch).

        The undo is itself appended to the history; the item returns to the state and
        mask it had before the decision. Calling it again takes back the decision before.

        Parameters
        ----------
        dataset : Dataset, optional
            Needed with `tile`.
        tile : str, optional
            Undo this tile's last decision; by default the last decision in the store.

        Returns
        -------
        items : list of Item
            The items restored (empty when there was nothing to undo).
        """
        user = user or self.user
        if tile is not None:
            if dataset is None:
                raise SaltviewerError("undo: give the dataset along with the tile.")
            _, kind = self._resolve(dataset, tile, kind)
        live = ("e.action IN ('accept', 'reject', 'correct') AND NOT EXISTS "
                "(SELECT 1 FROM events u WHERE u.undoes = e.id)")
        with self._write() as db:
            if tile is None:
                row = db.execute(f"SELECT e.batch FROM events e WHERE {live} ORDER BY e.id DESC LIMIT 1").fetchone()
                if row is None:
                    return []
                targets = db.execute(f"SELECT e.id, e.item, e.state_before, e.state_after, e.mask_before, "
                                     f"e.mask_after FROM events e WHERE e.batch = ? AND {live} ORDER BY e.id DESC",
                                     (row[0],)).fetchall()
            else:
                targets = db.execute(f"SELECT e.id, e.item, e.state_before, e.state_after, e.mask_before, "
                                     f"e.mask_after FROM events e JOIN items i ON i.id = e.item WHERE i.tile = ? "
                                     f"AND i.kind = ? AND {live} ORDER BY e.id DESC LIMIT 1", (tile, kind)).fetchall()
                if not targets:
                    return []
            at = _now()
            batch = self._next_batch(db)
            restored = []
            for event_id, item_id, state_before, state_after, mask_before, mask_after in targets:
                state, current = db.execute("SELECT state, mask FROM items WHERE id = ?", (item_id,)).fetchone()
                if state != state_after or current != mask_after:
                    raise SaltviewerError(f"curation store {self.path}: item {item_id} does not match its history "
                                          "(run CurationStore.verify); nothing was undone.")
                event = self._append(db, batch, item_id, "undo", state, state_before, user, at,
                                     mask_before=current, mask_after=mask_before, undoes=event_id)
                db.execute("UPDATE items SET state = ?, mask = ?, updated_at = ?, updated_by = ?, revision = ? "
                           "WHERE id = ?", (state_before, mask_before, at, user, event, item_id))
                restored.append(item_id)
            return [self._fetch(db, item_id) for item_id in restored]

    # ------------------------------------------------------------------ checking
    def verify(self):
        """Check the file and that every item equals the replay of its history.

        Returns
        -------
        problems : list of str
            Empty when all is well.
        """
        problems = []
        with self._read() as db:
            integrity = [row[0] for row in db.execute("PRAGMA integrity_check").fetchall()]
            if integrity != ["ok"]:
                problems.extend(f"integrity: {line}" for line in integrity)
            replay = {}
            decisions = {}
            for event_id, item_id, action, before, after, mask_after, proposed, undoes in db.execute(
                    "SELECT id, item, action, state_before, state_after, mask_after, proposed_mask, undoes "
                    "FROM events ORDER BY id"):
                state, mask, proposal = replay.get(item_id, (None, None, None))
                if before != state:
                    problems.append(f"event {event_id}: starts from state {before!r}, "
                                    f"but item {item_id} was {state!r}.")
                if action in ("propose", "repropose"):
                    proposal = proposed
                elif action == "undo":
                    target = decisions.get(undoes)
                    if target is None or target[0] != item_id:
                        problems.append(f"event {event_id}: undoes {undoes}, "
                                        f"which is not a decision on item {item_id}.")
                    elif target[1] != after:
                        problems.append(f"event {event_id}: undo restores {after!r}, the undone decision started "
                                        f"from {target[1]!r}.")
                else:
                    decisions[event_id] = (item_id, before)
                replay[item_id] = (after, mask_after, proposal)
            for item_id, state, mask, proposal in db.execute("SELECT id, state, mask, proposed_mask FROM items"):
                expected = replay.get(item_id)
                if expected is None:
                    problems.append(f"item {item_id}: has no history.")
                elif expected != (state, mask, proposal):
                    problems.append(f"item {item_id}: is {state!r}, its history says {expected[0]!r} "
                                    "(or its masks differ).")
        return problems


# ---------------------------------------------------------------------------- export
def export_labels(store, dataset, out, kinds=("pseudo",), images=True):
    """Write the masks in force of accepted and corrected items in the competition layout.

    Writes ``OUT/train/masks/<id>.png`` (0 and 255), ``OUT/train/images/<id>.png`` (when
    `images`), ``OUT/train.csv`` (``id,rle_mask``), ``OUT/depths.csv`` (known depths) and
    ``OUT/export.json`` (store, revision, dataset, counts, time). The folder is built beside
    `out` and renamed into place, so a crash never leaves half an export; a previous export
    (a folder with ``export.json``) is replaced, any other non-empty folder is refused.

    Parameters
    ----------
    store : CurationStore
    dataset : Dataset
    out : str or Path
    kinds : sequence of {"pseudo", "label"}
    images : bool

    Returns
    -------
    summary : dict
        ``masks``, ``empty``, ``revision``, ``out``.
    """
    import csv
    import os
    import shutil
    import tempfile

    from ._atomic import _fsync_dir
    from .rle import rle_encode
    from .tiles import write_image, write_mask

    out = Path(out)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / "export.json").is_file())):
        raise SaltviewerError(f"{out}: exists and is not an earlier export; choose a new or empty folder.")
    revision = store.revision()
    labels = {}
    for kind in kinds:
        labels.update(store.pseudo_labels(dataset, kinds=(kind,)))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        (tmp / "train" / "masks").mkdir(parents=True)
        if images:
            (tmp / "train" / "images").mkdir(parents=True)
        rows, depths = [], []
        for tile, mask in labels.items():
            write_mask(tmp / "train" / "masks" / f"{tile}.png", mask)
            if images:
                write_image(tmp / "train" / "images" / f"{tile}.png", dataset.image(tile))
            rows.append((tile, rle_encode(mask)))
            depth = dataset.depths[dataset.index(tile)]
            if np.isfinite(depth):
                depths.append((tile, f"{depth:g}"))
        for name, header, table in (("train.csv", ("id", "rle_mask"), rows), ("depths.csv", ("id", "z"), depths)):
            with open(tmp / name, "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(header)
                writer.writerows(table)
        summary = {"masks": len(rows), "empty": sum(1 for _, rle in rows if not rle), "revision": revision,
                   "kinds": list(kinds), "store": str(store.path), "dataset": str(dataset.root),
                   "dataset_key": dataset.key, "images": bool(images), "exported": _now()}
        (tmp / "export.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        if out.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{out.name}-old-", dir=out.parent))
            os.replace(out, trash / "old")
            os.replace(tmp, out)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(tmp, out)
        _fsync_dir(out.parent)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    summary["out"] = str(out)
    return summary
