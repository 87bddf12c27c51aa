"""The curation store's connection: opening and checking the file, transactions, retries, rows.

`StoreConnection` is what `CurationStore` stands on; it knows SQLite, not decisions.
"""

import contextlib
import getpass
import json
import sqlite3
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from .._errors import SaltviewerError
from .codec import decode_mask
from .provenance import legacy_how
from .records import Event, Item
from .schema import APPLICATION_ID, SCHEMA_VERSION, _newer_schema, migrate

__all__ = ["StoreConnection", "default_user", "KINDS", "STATES", "DECISIONS"]

KINDS = ("pseudo", "label")
STATES = ("proposed", "accepted", "rejected", "corrected")
DECISIONS = ("accept", "reject", "correct")
_SQLITE_HEADER = b"SQLite format 3\x00"
ITEM_COLUMNS = ("id, tile, kind, split, state, criterion, reason, models, scores, disagreement, agreement, "
                "coverage, uncertain, dataset, created_at, created_by, updated_at, updated_by, revision")
EVENT_COLUMNS = ("e.id, e.batch, e.item, i.tile, i.kind, e.action, e.state_before, e.state_after, e.undoes, "
                 "e.detail, e.user, e.at, e.redoes, e.how")


def default_user():
    """The login name (``getpass.getuser()``), or ``"unknown"`` where the system has none."""
    try:
        return getpass.getuser() or "unknown"
    except Exception:   # no USER variable and no password entry (some containers)
        return "unknown"


def now():
    """The time as ISO 8601 UTC with milliseconds (what the history records)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _is_busy(error):
    text = str(error).lower()
    return "locked" in text or "busy" in text


class StoreConnection:
    """An open curation store file (see `CurationStore` for the parameters)."""

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

    def revision(self):
        """The number of the last change (0 for an empty store): poll it to see changes cheaply."""
        with self._lock:
            row = self.db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
            return int(row[0]) if row else 0

    # ------------------------------------------------------------------ tiles
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

    # ------------------------------------------------------------------ rows
    @staticmethod
    def _register(db, dataset, at):
        db.execute("INSERT OR IGNORE INTO datasets (key, root, tiles, first_seen) VALUES (?, ?, ?, ?)",
                   (dataset.key, str(dataset.root), len(dataset), at))

    @staticmethod
    def _next_batch(db):
        return db.execute("SELECT COALESCE(MAX(batch), 0) + 1 FROM events").fetchone()[0]

    @staticmethod
    def _append(db, batch, item, action, state_before, state_after, user, at, *, mask_before=None,
                mask_after=None, proposed_mask=None, undoes=None, redoes=None, detail=None, how=None):
        cursor = db.execute(
            "INSERT INTO events (batch, item, action, state_before, state_after, mask_before, mask_after, "
            "proposed_mask, undoes, redoes, detail, user, at, how) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (batch, item, action, state_before, state_after, mask_before, mask_after, proposed_mask, undoes, redoes,
             json.dumps(detail or {}, sort_keys=True), user, at, how))
        return cursor.lastrowid

    @staticmethod
    def _set_state(db, item_id, state, mask, user, at, event):
        db.execute("UPDATE items SET state = ?, mask = ?, updated_at = ?, updated_by = ?, revision = ? WHERE id = ?",
                   (state, mask, at, user, event, item_id))

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

    def _fetch(self, db, item_id):
        row = db.execute(f"SELECT {ITEM_COLUMNS}, proposed_mask, mask FROM items WHERE id = ?",
                         (item_id,)).fetchone()
        return self._make_item(row[:-2], row[-2:])

    def _events(self, where, values, masks=False, tail="", db=None):
        columns = EVENT_COLUMNS + (", e.mask_after" if masks else "")
        sql = f"SELECT {columns} FROM events e JOIN items i ON i.id = e.item {where} ORDER BY e.id {tail}"
        if db is None:
            with self._lock:
                rows = self.db.execute(sql, values).fetchall()
        else:
            rows = db.execute(sql, values).fetchall()
        events = []
        for row in rows:
            detail = json.loads(row[9])
            event = Event(*row[:9], detail, row[10], row[11], row[12],
                          how=row[13] or (legacy_how(row[5], detail) if row[5] in DECISIONS else None))
            if masks:
                event.mask = decode_mask(row[14])
            events.append(event)
        return events
