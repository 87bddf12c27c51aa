"""Undo and redo in a shared curation store, and the check that the items equal their history.

The rule, for the CLI and the GUI alike:

- **Undo** takes back the person's own last decision (a batch as a whole), never
  someone else's, unless asked with ``any=True`` (then: the last decision in the store,
  whoever made it). With a tile, it takes back that tile's last decision, again only when
  it is the person's own unless ``any=True``.
- A decision someone changed since (another person decided the same tile later) is
  *superseded*: undo leaves it, and the later decision, as they are. An undo of one's own
  skips batches all of whose decisions are superseded.
- **Redo** makes again what the person's last undo took back, as long as the person made
  no new decision since and nobody changed those tiles meanwhile.
- Both are appended to the history (an ``undo`` event names the decision it takes back;
  a decision made again names the undo in ``redoes``); nothing is ever deleted.

`CurationStore.undo_plan` and `CurationStore.redo_plan` say what would happen, so that a
person can be asked first ("undo 78 decisions?"); `undo` and `redo` take that plan and do
exactly it (what changed meanwhile is left alone).
"""

from .._errors import SaltviewerError
from .base import now
from .records import UndoPlan

__all__ = ["UndoRedo"]

_DECISION = "e.action IN ('accept', 'reject', 'correct')"
_LIVE = f"{_DECISION} AND NOT EXISTS (SELECT 1 FROM events u WHERE u.undoes = e.id)"
#: the item is still as the event left it (nobody changed it since)
_CURRENT = "i.state = e.state_after AND i.mask IS e.mask_after"


class UndoRedo:
    """Undo, redo and verify for `CurationStore` (which provides the connection)."""

    # ------------------------------------------------------------------ undo
    def undo_plan(self, dataset=None, tile=None, kind=None, *, user=None, any=False):
        """What `undo` would take back, without changing anything.

        Parameters
        ----------
        dataset : Dataset, optional
            Needed with `tile`.
        tile : str, optional
            That tile's last decision; by default the person's last decision (batch).
        user : str, optional
            Whose decisions; by default the store's user.
        any : bool
            Anyone's decisions (the last one in the store).

        Returns
        -------
        plan : UndoPlan
        """
        user = user or self.user
        with self._read() as db:
            return self._undo_plan(db, dataset, tile, kind, user, any)

    def _undo_plan(self, db, dataset, tile, kind, user, any):
        whose = None if any else user
        if tile is not None:
            if dataset is None:
                raise SaltviewerError("undo: give the dataset along with the tile.")
            _, kind = self._resolve(dataset, tile, kind)
            last = self._events(f"WHERE i.tile = ? AND i.kind = ? AND {_LIVE} AND {_CURRENT}", (tile, kind),
                                tail="DESC LIMIT 1", db=db)
            if last and not any and last[0].user != user:
                raise SaltviewerError(
                    f"the last decision on tile {tile} is {last[0].user}'s ({last[0].action} at "
                    f"{last[0].at[:16].replace('T', ' ')}), not {user}'s; undo it with any=True "
                    "(`saltviewer decide ... undo --any`) if you mean to.")
            return UndoPlan("undo", events=last, user=whose)
        mine = "" if any else "AND e.user = ?"
        values = () if any else (user,)
        row = db.execute(f"SELECT e.batch FROM events e JOIN items i ON i.id = e.item WHERE {_LIVE} AND {_CURRENT} "
                         f"{mine} ORDER BY e.id DESC LIMIT 1", values).fetchone()
        if row is None:
            others = 0
            if not any:
                others = db.execute(f"SELECT count(*) FROM events e JOIN items i ON i.id = e.item WHERE {_LIVE} "
                                    f"AND {_CURRENT} AND e.user != ?", (user,)).fetchone()[0]
            return UndoPlan("undo", user=whose, others=int(others))
        batch = self._events(f"WHERE e.batch = ? AND {_LIVE} {mine}",
                             (row[0], *values), tail="DESC", db=db)
        current = {e.id for e in self._events(f"WHERE e.batch = ? AND {_LIVE} AND {_CURRENT} {mine}",
                                              (row[0], *values), db=db)}
        return UndoPlan("undo", events=[e for e in batch if e.id in current],
                        skipped=[e for e in batch if e.id not in current], user=whose)

    def undo(self, dataset=None, tile=None, kind=None, *, user=None, any=False, plan=None):
        """Take back the person's last decision (a whole batch), or that of one tile.

        The undo is itself appended to the history; each item returns to the state and
        mask it had before the decision. Calling it again takes back the decision before.
        See the module's notes for whose decisions are taken back.

        Parameters
        ----------
        dataset, tile, kind, user, any
            As `undo_plan`.
        plan : UndoPlan, optional
            A plan from `undo_plan` (what a person was asked about): exactly its
            decisions are taken back, those changed meanwhile are left.

        Returns
        -------
        items : list of Item
            The items restored (empty when there was nothing to undo).

        Raises
        ------
        SaltviewerError
            When `tile`'s last decision is someone else's and `any` is False.
        """
        user = user or self.user
        with self._write() as db:
            if plan is None:
                plan = self._undo_plan(db, dataset, tile, kind, user, any)
            if plan.action != "undo":
                raise SaltviewerError(f"undo: expected an undo plan, got a {plan.action} plan.")
            at = now()
            batch = self._next_batch(db)
            restored = []
            for event in plan.events:
                row = db.execute("SELECT e.item, e.state_before, e.mask_before, i.state, i.mask FROM events e JOIN "
                                 f"items i ON i.id = e.item WHERE e.id = ? AND {_LIVE} AND {_CURRENT}",
                                 (event.id,)).fetchone()
                if row is None:            # undone or changed since the plan was made
                    continue
                item_id, state_before, mask_before, state, current = row
                undo = self._append(db, batch, item_id, "undo", state, state_before, user, at, mask_before=current,
                                    mask_after=mask_before, undoes=event.id)
                self._set_state(db, item_id, state_before, mask_before, user, at, undo)
                restored.append(item_id)
            return [self._fetch(db, item_id) for item_id in restored]

    # ------------------------------------------------------------------ redo
    def redo_plan(self, *, user=None, any=False):
        """What `redo` would make again, without changing anything.

        Returns
        -------
        plan : UndoPlan
            ``events``: the undone decisions; ``undos``: their undo events.
        """
        user = user or self.user
        with self._read() as db:
            return self._redo_plan(db, user, any)

    def _redo_plan(self, db, user, any):
        whose = None if any else user
        mine = "" if any else "AND e.user = ?"
        values = () if any else (user,)
        # a new decision (not itself a redo) ends what can be redone
        fresh = db.execute(f"SELECT COALESCE(MAX(e.id), 0) FROM events e WHERE {_DECISION} AND e.redoes IS NULL "
                           f"{mine}", values).fetchone()[0]
        open_undo = (f"e.action = 'undo' AND e.id > ? {mine} AND NOT EXISTS "
                     "(SELECT 1 FROM events r WHERE r.redoes = e.id)")
        row = db.execute(f"SELECT e.batch FROM events e WHERE {open_undo} ORDER BY e.id DESC LIMIT 1",
                         (fresh, *values)).fetchone()
        if row is None:
            return UndoPlan("redo", user=whose)
        undos = self._events(f"WHERE e.batch = ? AND {open_undo}", (row[0], fresh, *values), tail="DESC", db=db)
        current = {e.id for e in self._events(f"WHERE e.batch = ? AND {open_undo} AND {_CURRENT}",
                                              (row[0], fresh, *values), db=db)}
        decisions = {e.id: e for e in self._events(
            "WHERE e.id IN (SELECT value FROM json_each(?))", (_json_ids(u.undoes for u in undos),), db=db)}
        plan = UndoPlan("redo", user=whose)
        for undo in undos:
            if undo.id in current:
                plan.events.append(decisions[undo.undoes])
                plan.undos.append(undo)
            else:
                plan.skipped.append(decisions[undo.undoes])
        return plan

    def redo(self, *, user=None, any=False, plan=None):
        """Make again the decisions the person's last undo took back (see the module's notes).

        Parameters
        ----------
        user, any
            As `redo_plan`.
        plan : UndoPlan, optional
            A plan from `redo_plan`: exactly its decisions are made again, those whose tile
            changed meanwhile are left.

        Returns
        -------
        items : list of Item
            The items whose decision was made again.
        """
        user = user or self.user
        with self._write() as db:
            if plan is None:
                plan = self._redo_plan(db, user, any)
            if plan.action != "redo":
                raise SaltviewerError(f"redo: expected a redo plan, got an {plan.action} plan.")
            at = now()
            batch = self._next_batch(db)
            restored = []
            for decision, undo in zip(plan.events, plan.undos):
                row = db.execute("SELECT d.action, d.state_after, d.mask_after, d.detail, d.how, i.id, i.state, i.mask "
                                 "FROM events e JOIN events d ON d.id = e.undoes JOIN items i ON i.id = e.item "
                                 f"WHERE e.id = ? AND {_CURRENT} AND NOT EXISTS "
                                 "(SELECT 1 FROM events r WHERE r.redoes = e.id)", (undo.id,)).fetchone()
                if row is None:
                    continue
                action, state_after, mask_after, detail, how, item_id, state, current = row
                event = self._append(db, batch, item_id, action, state, state_after, user, at, mask_before=current,
                                     mask_after=mask_after, redoes=undo.id, detail=_redo_detail(detail, decision),
                                     how=how)
                self._set_state(db, item_id, state_after, mask_after, user, at, event)
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
            replay, decisions, undos = {}, {}, {}
            for event_id, item_id, action, before, after, mask_after, proposed, undoes, redoes in db.execute(
                    "SELECT id, item, action, state_before, state_after, mask_after, proposed_mask, undoes, redoes "
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
                    undos[event_id] = item_id
                else:
                    decisions[event_id] = (item_id, before)
                    if redoes is not None and undos.get(redoes) != item_id:
                        problems.append(f"event {event_id}: redoes {redoes}, which is not an undo on item {item_id}.")
                replay[item_id] = (after, mask_after, proposal)
            for item_id, state, mask, proposal in db.execute("SELECT id, state, mask, proposed_mask FROM items"):
                expected = replay.get(item_id)
                if expected is None:
                    problems.append(f"item {item_id}: has no history.")
                elif expected != (state, mask, proposal):
                    problems.append(f"item {item_id}: is {state!r}, its history says {expected[0]!r} "
                                    "(or its masks differ).")
        return problems


def _json_ids(ids):
    import json

    return json.dumps([int(i) for i in ids])


def _redo_detail(detail, decision):
    import json

    detail = json.loads(detail) if isinstance(detail, str) else dict(detail or {})
    detail["redo_of"] = decision.id
    return detail
