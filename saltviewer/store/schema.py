"""The curation store's SQLite schema and its migrations.

Version 1: the ``datasets``, ``items`` and ``events`` tables; the history is append-only
(triggers refuse updates and deletes of events and deletes of items).
Version 2: ``events.redoes`` (a decision made again by redo names the undo it takes back)
and an index of events by user (undo takes back a person's own last decision).
Version 3: ``events.how``: how a decision was made (``tile``: one tile shown; ``grid``: on a
page of tiles a person looked at; ``mosaic``: in a mosaic shown stitched; ``batch``: in a batch
accepted unseen). A reviewed tile trains as a label, an unseen one as a pseudo-label
(`saltviewer.store.decision_how`). Decisions written before version 3 keep NULL; their way
is read from the event (`legacy_how`).

A store is brought up to date when it is opened, in one transaction; a store written by
a newer schema is refused, unchanged.
"""

from .._errors import SaltviewerError

__all__ = ["SCHEMA_VERSION", "APPLICATION_ID", "MIGRATIONS", "migrate"]

#: Schema version written by this saltviewer; stores from a newer one are refused.
SCHEMA_VERSION = 3
APPLICATION_ID = 0x53564331            # "SVC1": marks an SQLite file as a saltviewer curation store


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


def _schema_2(db):
    """Redo, and undo per person: a decision made again names the undo it takes back
    (``redoes``), and events are found by user quickly."""
    db.execute("ALTER TABLE events ADD COLUMN redoes INTEGER REFERENCES events(id)")
    db.execute("CREATE UNIQUE INDEX events_redoes ON events (redoes) WHERE redoes IS NOT NULL")
    db.execute("CREATE INDEX events_user ON events (user, id)")


def _schema_3(db):
    """How each decision was made (one tile, a grid page, a mosaic, an unseen batch)."""
    db.execute("ALTER TABLE events ADD COLUMN how TEXT CHECK (how IS NULL OR how IN ('tile', 'grid', 'mosaic', 'batch'))")


#: ``(version, function)`` pairs; function(db) moves a store from ``version - 1`` to ``version``.
MIGRATIONS = ((1, _schema_1), (2, _schema_2), (3, _schema_3))


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
