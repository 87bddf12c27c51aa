"""The curation store: every review decision, with provenance and a full history, in SQLite.

One store per workspace (``Workspace.store_path``, ``curation.sqlite``). It holds *items*:
a tile, a kind, a state and the mask in force.

Kinds
    ``"pseudo"``: an unlabelled tile proposed as a pseudo-label (or drawn by hand);
    ``"label"``: a labelled tile whose training mask the ensemble contradicts (a likely
    label error) or that a mosaic edge questions. Accepting a ``"label"`` item replaces
    the training mask with the proposed one; rejecting it keeps the training mask.
States
    ``proposed`` (awaiting review), ``accepted`` (the proposed mask is in force),
    ``rejected`` (no mask in force), ``corrected`` (a mask drawn by a person is in force).

Why an item is there (its criterion) decides what may be done with it (`reasons`): a
*disputed* proposal (the models disagree) is never accepted as it is, one by one or in
a batch; a person takes one model's mask or draws one (`CurationStore.correct`).

Every change is an *event* appended to the history, with who and when (and a person's
note); the ``events`` table refuses updates and deletes (SQLite triggers), so nothing a
person did is ever lost. The ``items`` table is the current state, and
`CurationStore.verify` checks that it equals a replay of the history. Undo appends an
``undo`` event that restores the state before the decision it undoes; it takes back the
person's own last decision (a batch as a whole), never someone else's unless asked
(``any=True``); redo makes an undone decision again (`history.UndoRedo`).

Items are keyed by (tile id, kind): tile ids are unique in the competition layout, so the
decisions survive adding tiles to the data folder or moving it. Every method that names a
tile takes the `Dataset` so that the id is checked against it; its ``kind`` defaults to what
the tile is (``"label"`` for a tile with a ground-truth mask, ``"pseudo"`` otherwise).

Safety: WAL journal with ``synchronous=FULL``; each save is one transaction, so a process
killed mid-save loses at most that save; writers take the write lock up front
(``BEGIN IMMEDIATE``) and wait for each other (busy timeout plus retries), so the GUI and a
command line can share a store. A store written by a newer schema is refused, unchanged.
"""

import json

import numpy as np

from .._errors import SaltviewerError
from .base import ITEM_COLUMNS, KINDS, STATES, StoreConnection, now
from .codec import check_mask, decode_mask, encode_mask
from .history import UndoRedo
from .provenance import check_how, is_reviewed, legacy_how
from .reasons import REASONS, accept_refusal, batch_acceptable, reason_of
from .records import Proposal, ProposeReport

__all__ = ["CurationStore"]

ORDERS = {
    "disagreement": "disagreement DESC, uncertain DESC, tile",
    "agreement": "agreement DESC, uncertain, tile",
    "tile": "tile",
    "recent": "revision DESC",
}


class CurationStore(UndoRedo, StoreConnection):
    """The curation store of a workspace (created on first use).

    Parameters
    ----------
    path : str, Path or Workspace
        The SQLite file, usually ``workspace.store_path`` (a workspace stands for it).
    user : str, optional
        Recorded with each change, and whose decisions `undo` takes back; by default the
        login name (`default_user`).
    timeout : float
        Seconds to wait for another process's write before giving up.

    Raises
    ------
    SaltviewerError
        If the file is not a curation store, or was written by a newer schema (the file
        is left untouched).

    Examples
    --------
    >>> store = CurationStore(workspace.store_path, user="alice")   # doctest: +SKIP
    >>> store.queue(dataset, limit=10)                             # doctest: +SKIP
    >>> store.accept(dataset, "a1b2c3d4e5", note="clear body")     # doctest: +SKIP
    >>> store.undo()                                               # doctest: +SKIP
    >>> labels = store.pseudo_labels(dataset)                      # doctest: +SKIP
    """

    # ------------------------------------------------------------------ reading
    def item(self, dataset, tile, kind=None):
        """The item of a tile, with its masks, or None when the tile has none.

        Returns
        -------
        item : Item or None
        """
        _, kind = self._resolve(dataset, tile, kind)
        with self._lock:
            row = self.db.execute(f"SELECT {ITEM_COLUMNS}, proposed_mask, mask FROM items "
                                  "WHERE tile = ? AND kind = ?", (tile, kind)).fetchone()
        return None if row is None else self._make_item(row[:-2], row[-2:])

    def items(self, dataset=None, *, state=None, kind=None, split=None, criterion=None, reason=None, tiles=None,
              min_disagreement=None, max_disagreement=None, min_agreement=None, max_agreement=None,
              order="disagreement", limit=None, offset=0, masks=False, proposed_only=False, scores=True):
        """Items matching filters, sorted (most disagreement first by default).

        Parameters
        ----------
        dataset : Dataset, optional
            Only tiles of this dataset.
        state, kind, split, criterion : str or sequence of str, optional
            Keep items whose field is one of these.
        reason : str or sequence of str, optional
            Keep items whose reason (`saltviewer.store.reason_of` of the criterion:
            ``"confident salt"``, ``"disputed"``, ...) is one of these.
        tiles : sequence of str, optional
            Only these tile ids.
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
        scores : bool
            Read each item's scores (False leaves ``Item.scores`` empty: a long queue loads
            several times faster).

        Returns
        -------
        items : list of Item
        """
        if order not in ORDERS:
            raise SaltviewerError(f"order must be one of {', '.join(ORDERS)}, got {order!r}.")
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
        if tiles is not None:
            tiles = [str(t) for t in tiles]
            if not tiles:
                return []
            clauses.append("tile IN (SELECT value FROM json_each(?))")
            values.append(json.dumps(tiles))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        columns = (ITEM_COLUMNS if scores else ITEM_COLUMNS.replace(" scores,", " '{}',")) + \
            (", proposed_mask, mask" if masks else "")
        sql = f"SELECT {columns} FROM items {where} ORDER BY {ORDERS[order]}"
        page = dataset is None and reason is None
        if page and limit is not None:
            sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
        with self._lock:
            rows = self.db.execute(sql, values).fetchall()
        if not page:
            if dataset is not None:
                known = self._dataset_ids(dataset)
                rows = [row for row in rows if row[1] in known]
            if reason is not None:
                reasons = {reason} if isinstance(reason, str) else set(reason)
                bad = sorted(reasons - set(REASONS))
                if bad:
                    raise SaltviewerError(f"reason must be among {', '.join(REASONS)}, got {bad[0]!r}.")
                rows = [row for row in rows if reason_of(row[5]) in reasons]
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

    def curated(self, dataset, kinds=("pseudo", "label")):
        """Masks in force of accepted and corrected items, with how each was decided.

        The decision in force on an item is its last decision not taken back by an undo.

        Parameters
        ----------
        dataset : Dataset
        kinds : sequence of str

        Returns
        -------
        curated : dict of str to (mask, kind, action, how, reviewed)
            Tile id to its (101, 101) bool mask in force, the item's kind, the decision
            (``"accept"`` or ``"correct"``), how it was made (`HOWS`) and whether that makes
            the tile a reviewed label (`is_reviewed`); in dataset order.
        """
        kinds = [kinds] if isinstance(kinds, str) else list(kinds)
        bad = [k for k in kinds if k not in KINDS]
        if bad:
            raise SaltviewerError(f"kinds must be among {', '.join(KINDS)}, got {bad[0]!r}.")
        with self._read() as db:
            rows = db.execute(
                "SELECT i.tile, i.kind, i.mask, e.action, e.how, e.detail FROM items i LEFT JOIN events e ON e.id = ("
                "SELECT MAX(d.id) FROM events d WHERE d.item = i.id AND d.action IN ('accept', 'reject', 'correct') "
                "AND NOT EXISTS (SELECT 1 FROM events u WHERE u.undoes = d.id)) "
                f"WHERE i.state IN ('accepted', 'corrected') AND i.kind IN ({', '.join('?' * len(kinds))})",
                kinds).fetchall()
        known = self._dataset_ids(dataset)
        out = {}
        for _, tile, kind, blob, action, how, detail in sorted(
                (dataset.index(row[0]), *row) for row in rows if row[0] in known):
            action = action or ("correct" if kind == "pseudo" else "accept")
            how = how or legacy_how(action, json.loads(detail) if detail else {})
            out[tile] = (decode_mask(blob), kind, action, how, is_reviewed(action, how))
        return out

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
            at = now()
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

    def accept(self, dataset, tile, kind=None, *, user=None, note=None, how="tile"):
        """Accept the proposed mask of a tile; it becomes the mask in force.

        Accepting an item that is already accepted with the same mask changes nothing. A
        disputed proposal (`reasons.is_disputed`) is refused: take one model's mask or
        draw one with `correct`.

        Parameters
        ----------
        how : {"tile", "grid", "mosaic", "batch"}
            How the person decided (`saltviewer.store.provenance`): ``"tile"`` when the tile
            was shown on its own. A tile decided while seen trains as a label, one accepted
            unseen (``"batch"``) as a pseudo-label.

        Returns
        -------
        item : Item
        """
        return self._decide(dataset, tile, kind, "accept", None, user, note, how=how)

    def reject(self, dataset, tile, kind=None, *, user=None, note=None, how="tile"):
        """Reject a tile's proposal: no mask in force (for ``"label"``: keep the training mask)."""
        return self._decide(dataset, tile, kind, "reject", None, user, note, how=how)

    def correct(self, dataset, tile, mask, kind=None, *, user=None, note=None, source=None, how="tile"):
        """Put a mask drawn (or chosen) by a person in force.

        A tile with no item yet gets one (criterion ``"manual"``), so any unlabelled tile
        can be labelled by hand. A corrected tile is always a reviewed one.

        Parameters
        ----------
        mask : (101, 101) ndarray of bool (or of integers 0/1)
        source : str, optional
            Where the mask came from (``"v0002"`` for a model's mask, ``"consensus at 0.40"``),
            kept in the history.
        how : {"tile", "grid", "mosaic", "batch"}
            Where the person drew it (see `accept`).
        """
        mask = check_mask(mask, f"mask for tile {tile!r}")
        return self._decide(dataset, tile, kind, "correct", mask, user, note, source, how=how)

    def _decide(self, dataset, tile, kind, action, mask, user, note, source=None, how="tile"):
        how = check_how(how)
        index, kind = self._check_tile(dataset, tile, kind)
        user = user or self.user
        detail = {} if note is None or not str(note).strip() else {"note": str(note).strip()}
        if source:
            detail["source"] = str(source)
        with self._write() as db:
            at = now()
            row = db.execute("SELECT id, state, proposed_mask, mask, criterion FROM items WHERE tile = ? AND kind = ?",
                             (tile, kind)).fetchone()
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
                row = (cursor.lastrowid, "proposed", None, None, "manual")
            item_id, state, proposed, current, criterion = row
            if action == "accept":
                if proposed is None:
                    raise SaltviewerError(f"tile {tile!r}: nothing was proposed to accept; draw a mask instead.")
                refusal = accept_refusal(tile, criterion)
                if refusal is not None:
                    raise SaltviewerError(refusal)
                new_state, new_mask = "accepted", proposed
            elif action == "reject":
                new_state, new_mask = "rejected", None
            else:
                new_state, new_mask = "corrected", encode_mask(mask)
            if new_state == state and new_mask == current:
                return self._fetch(db, item_id)
            event = self._append(db, batch, item_id, action, state, new_state, user, at, mask_before=current,
                                 mask_after=new_mask, detail=detail, how=how)
            self._set_state(db, item_id, new_state, new_mask, user, at, event)
            return self._fetch(db, item_id)

    def batch_candidates(self, dataset, min_agreement, *, kind="pseudo", criterion=None, reason=None, split=None,
                         max_disagreement=None, masks=False):
        """What `accept_all` would take: proposed, confident items at or above an agreement level.

        Disputed items, items drawn by hand and label checks are never among them
        (`reasons.batch_acceptable`).

        Parameters
        ----------
        dataset : Dataset
        min_agreement : float in [0, 1]
            Items whose ``agreement`` (mean pairwise IoU of the ensemble) is at least this.
        kind, criterion, reason, split : str, optional
            Further filters (see `items`).
        max_disagreement : float, optional
        masks : bool
            Load the proposed masks (for a preview).

        Returns
        -------
        items : list of Item
            In queue order (most disagreement first).
        """
        try:
            min_agreement = float(min_agreement)
        except (TypeError, ValueError):
            min_agreement = float("nan")
        if not 0 <= min_agreement <= 1:
            raise SaltviewerError(f"min_agreement must be a number in [0, 1], got {min_agreement!r}.")
        chosen = self.items(dataset, state="proposed", kind=kind, criterion=criterion, reason=reason, split=split,
                            min_agreement=min_agreement, max_disagreement=max_disagreement, proposed_only=True,
                            masks=masks, scores=False)
        return [item for item in chosen if batch_acceptable(item.criterion, item.kind)]

    def accept_all(self, dataset, min_agreement, *, kind="pseudo", criterion=None, reason=None, split=None,
                   max_disagreement=None, tiles=None, user=None, note=None, how="batch"):
        """Accept every `batch_candidates` item (or those of `tiles` among them), as one undoable batch.

        Parameters
        ----------
        tiles : sequence of str, optional
            Only these tiles (what a person saw in a preview); any that changed since, or
            that the rule does not allow, are left out.
        how : {"batch", "grid", "mosaic", "tile"}
            ``"batch"`` (the default): accepted unseen, so the tiles train as pseudo-labels.

        Returns
        -------
        accepted : list of str
            The tile ids accepted.
        """
        chosen = self.batch_candidates(dataset, min_agreement, kind=kind, criterion=criterion, reason=reason,
                                       split=split, max_disagreement=max_disagreement)
        if tiles is not None:
            wanted = set(tiles)
            chosen = [item for item in chosen if item.tile in wanted]
        detail = {"batch": f"accept all with agreement >= {float(min_agreement):g}"}
        decisions = [(item.tile, item.kind, "accept", None) for item in chosen]
        return [tile for tile, _ in self.decide_batch(dataset, decisions, user=user, note=note, detail=detail,
                                                      how=how)]

    def decide_batch(self, dataset, decisions, *, user=None, note=None, detail=None, how="batch"):
        """Several decisions as one batch: one transaction, one undo.

        Parameters
        ----------
        dataset : Dataset
        decisions : iterable of (tile, kind, action, mask)
            `action` is ``"accept"`` or ``"reject"`` (mask None) or ``"correct"`` (a mask);
            `kind` None means what the tile is.
        note : str, optional
        detail : dict, optional
            Recorded with each event (``{"batch": "triage grid page 3"}``).
        how : {"batch", "grid", "mosaic", "tile"}
            How the person decided them (`saltviewer.store.provenance`): ``"grid"`` for a
            page of tiles looked at, ``"mosaic"`` for tiles shown in a mosaic, ``"batch"``
            (the default) for tiles accepted unseen. Corrections are reviewed whatever it is.

        Returns
        -------
        decided : list of (str, str)
            ``(tile, state)`` of each item the batch changed. Items whose state already
            is the one asked, and disputed items asked to be accepted, are left out.

        Raises
        ------
        SaltviewerError
            For an unknown tile, a tile with no item, or a bad mask: before anything is
            written.
        """
        user = user or self.user
        how = check_how(how)
        detail = dict(detail or {})
        if note is not None and str(note).strip():
            detail["note"] = str(note).strip()
        prepared = []
        for tile, kind, action, mask in decisions:
            _, kind = self._check_tile(dataset, tile, kind)
            if action not in ("accept", "reject", "correct"):
                raise SaltviewerError(f"tile {tile!r}: action must be accept, reject or correct, got {action!r}.")
            blob = encode_mask(mask, f"mask for tile {tile!r}") if action == "correct" else None
            prepared.append((tile, kind, action, blob))
        decided = []
        with self._write() as db:
            at = now()
            batch = self._next_batch(db)
            for tile, kind, action, blob in prepared:
                row = db.execute("SELECT id, state, proposed_mask, mask, criterion FROM items "
                                 "WHERE tile = ? AND kind = ?", (tile, kind)).fetchone()
                if row is None:
                    raise SaltviewerError(f"tile {tile!r} has no {kind} item to {action}; nothing was written.")
                item_id, state, proposed, current, criterion = row
                if action == "accept":
                    if proposed is None or accept_refusal(tile, criterion) is not None:
                        continue
                    new_state, new_mask = "accepted", proposed
                elif action == "reject":
                    new_state, new_mask = "rejected", None
                else:
                    new_state, new_mask = "corrected", blob
                if new_state == state and new_mask == current:
                    continue
                event = self._append(db, batch, item_id, action, state, new_state, user, at, mask_before=current,
                                     mask_after=new_mask, detail=detail, how=how)
                self._set_state(db, item_id, new_state, new_mask, user, at, event)
                decided.append((tile, new_state))
        return decided
