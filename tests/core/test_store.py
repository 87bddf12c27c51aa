"""The curation store: real SQLite files, real subprocesses killed mid-save, real concurrent writers."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from saltviewer import SaltviewerError, open_dataset
from saltviewer.store import (SCHEMA_VERSION, CurationStore, Proposal, decode_mask, encode_mask, export_labels,
                              migrate)

WRITER = Path(__file__).with_name("store_writer.py")


def _blob(rng, share=0.3):
    return rng.random((101, 101)) < share


def _proposals(dataset, seed=0, kind="pseudo"):
    rng = np.random.default_rng(seed)
    split = "test" if kind == "pseudo" else "train"
    out = []
    for k, i in enumerate(dataset.indices(split)):
        empty = k % 3 == 0
        mask = np.zeros((101, 101), bool) if empty else _blob(rng)
        agreement = float(np.round(rng.uniform(0.5, 1.0), 4))
        out.append(Proposal(tile=dataset.ids[i], mask=mask, criterion="confident-empty" if empty else "confident-salt",
                            reason=f"test proposal {k}", models=("v0001", "v0002"), scores={"k": k}, kind=kind,
                            disagreement=round(1 - agreement, 4), agreement=agreement,
                            uncertain=float(np.round(rng.random() * 0.05, 4))))
    return out


@pytest.fixture
def store(workspace):
    with CurationStore(workspace.store_path, user="ana") as store:
        yield store


@pytest.fixture
def filled(store, sample_dataset):
    store.propose(sample_dataset, _proposals(sample_dataset))
    store.propose(sample_dataset, _proposals(sample_dataset, kind="label"))
    return store


def test_a_new_store_is_a_wal_sqlite_file_with_the_current_schema(store):
    assert store.schema_version == SCHEMA_VERSION
    assert store.journal_mode == "wal"
    assert store.revision() == 0
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA application_id").fetchone()[0] == 0x53564331


@pytest.mark.parametrize("mask", [np.zeros((101, 101), bool), np.ones((101, 101), bool),
                                  np.random.default_rng(1).random((101, 101)) < 0.5,
                                  np.eye(101, dtype=bool)])
def test_masks_round_trip_compactly(mask):
    blob = encode_mask(mask)
    assert np.array_equal(decode_mask(blob), mask)
    assert len(blob) <= 1300
    if not mask.any() or mask.all():
        assert len(blob) < 40


def test_queue_lists_proposals_most_disagreement_first_with_filters(filled, sample_dataset):
    queue = filled.queue(sample_dataset)
    assert len(queue) == 80
    keys = [(-q.disagreement, -q.uncertain, q.tile) for q in queue]
    assert keys == sorted(keys)
    assert all(q.state == "proposed" and q.models == ("v0001", "v0002") and q.created_by == "ana" for q in queue)
    pseudo = filled.queue(sample_dataset, kind="pseudo")
    assert {q.tile for q in pseudo} == {sample_dataset.ids[i] for i in sample_dataset.indices("test")}
    assert {q.split for q in filled.queue(sample_dataset, split="train")} == {"train"}
    ranged = filled.queue(sample_dataset, min_disagreement=0.1, max_disagreement=0.3)
    assert ranged and all(0.1 <= q.disagreement <= 0.3 for q in ranged)
    assert len(ranged) == sum(0.1 <= q.disagreement <= 0.3 for q in queue)
    assert [q.tile for q in filled.queue(sample_dataset, limit=5, offset=3)] == [q.tile for q in queue[3:8]]
    assert all(q.criterion == "confident-empty" for q in filled.queue(sample_dataset, criterion="confident-empty"))
    by_agreement = filled.items(sample_dataset, order="agreement")
    assert [q.agreement for q in by_agreement] == sorted((q.agreement for q in queue), reverse=True)


def test_decisions_masks_in_force_and_pseudo_labels(filled, sample_dataset):
    tiles = [sample_dataset.ids[i] for i in sample_dataset.indices("test")]
    proposed = filled.item(sample_dataset, tiles[1])
    assert proposed.mask is None and proposed.proposed_mask is not None
    accepted = filled.accept(sample_dataset, tiles[1], note="clear salt body")
    assert accepted.state == "accepted" and np.array_equal(accepted.mask, proposed.proposed_mask)
    assert filled.reject(sample_dataset, tiles[2]).mask is None
    drawn = np.zeros((101, 101), np.uint8)
    drawn[10:40, 20:90] = 1                                   # integer 0/1, as a labels layer gives
    corrected = filled.correct(sample_dataset, tiles[3], drawn, user="bo")
    assert corrected.state == "corrected" and corrected.updated_by == "bo"
    labels = filled.pseudo_labels(sample_dataset)
    assert list(labels) == [tiles[1], tiles[3]]               # dataset order
    assert np.array_equal(labels[tiles[3]], drawn.astype(bool))
    assert np.array_equal(labels[tiles[1]], proposed.proposed_mask)
    assert filled.label_corrections(sample_dataset) == {}
    history = filled.history(sample_dataset, tiles[3], masks=True)
    assert [e.action for e in history] == ["propose", "correct"]
    assert history[-1].user == "bo" and history[-1].at.endswith("+00:00")
    assert np.array_equal(history[-1].mask, drawn.astype(bool))
    assert filled.history(sample_dataset, tiles[1])[-1].detail == {"note": "clear salt body"}
    revision = filled.revision()
    filled.accept(sample_dataset, tiles[1])                    # already accepted: nothing new
    assert filled.revision() == revision
    assert filled.counts(sample_dataset)["pseudo"] == {"proposed": 17, "accepted": 1, "rejected": 1, "corrected": 1}
    assert filled.verify() == []


def test_any_unlabelled_tile_can_be_drawn_by_hand(store, sample_dataset):
    tile = sample_dataset.ids[sample_dataset.indices("test")[0]]
    mask = np.zeros((101, 101), bool)
    mask[50:, :] = True
    item = store.correct(sample_dataset, tile, mask)
    assert (item.state, item.criterion) == ("corrected", "manual")
    assert [e.action for e in store.history(sample_dataset, tile)] == ["propose", "correct"]
    with pytest.raises(SaltviewerError, match="nothing was proposed to accept"):
        store.accept(sample_dataset, tile)
    other = sample_dataset.ids[sample_dataset.indices("test")[1]]
    with pytest.raises(SaltviewerError, match="has no pseudo item to accept"):
        store.accept(sample_dataset, other)
    assert [i.tile for i in store.items(sample_dataset, state="corrected")] == [tile]
    assert store.undo()[0].state == "proposed"
    assert store.queue(sample_dataset) == []                     # nothing left to review
    assert [e.action for e in store.history(sample_dataset, tile)] == ["propose", "correct", "undo"]
    assert store.verify() == []


class _Reference:
    """The obvious model of the store: a list of decisions per tile and a global stack."""

    def __init__(self, items):
        self.state = {tile: ("proposed", None) for tile in items}
        self.proposed = dict(items)
        self.stack = []          # batches of (tile, state before, mask before), last first to undo

    def decide(self, tiles, action, mask=None):
        batch = []
        for tile in tiles:
            before = self.state[tile]
            after = {"accept": ("accepted", self.proposed[tile]), "reject": ("rejected", None),
                     "correct": ("corrected", mask)}[action]
            if _same(after, before):
                continue
            batch.append((tile, before))
            self.state[tile] = after
        if batch:
            self.stack.append(batch)

    def undo(self, tile=None):
        if tile is None:
            while self.stack and not self.stack[-1]:
                self.stack.pop()
            if not self.stack:
                return
            for t, before in reversed(self.stack.pop()):
                self.state[t] = before
            return
        for batch in reversed(self.stack):
            for k in range(len(batch) - 1, -1, -1):
                if batch[k][0] == tile:
                    self.state[tile] = batch.pop(k)[1]
                    return


def _same(a, b):
    return a[0] == b[0] and ((a[1] is None and b[1] is None)
                             or (a[1] is not None and b[1] is not None and np.array_equal(a[1], b[1])))


def test_random_decisions_and_undos_match_a_reference_model(filled, sample_dataset):
    rng = np.random.default_rng(5)
    pseudo = {q.tile: filled.item(sample_dataset, q.tile).proposed_mask for q in filled.queue(sample_dataset,
                                                                                                kind="pseudo")}
    reference = _Reference(pseudo)
    tiles = sorted(pseudo)
    for step in range(120):
        roll = rng.random()
        tile = tiles[rng.integers(len(tiles))]
        if roll < 0.25:
            filled.accept(sample_dataset, tile)
            reference.decide([tile], "accept")
        elif roll < 0.4:
            filled.reject(sample_dataset, tile)
            reference.decide([tile], "reject")
        elif roll < 0.55:
            mask = _blob(rng, 0.2)
            filled.correct(sample_dataset, tile, mask)
            reference.decide([tile], "correct", mask)
        elif roll < 0.6:
            level = float(rng.uniform(0.6, 1.0))
            chosen = [q.tile for q in filled.queue(sample_dataset, kind="pseudo", min_agreement=level)]
            assert sorted(filled.accept_all(sample_dataset, level)) == sorted(chosen)
            reference.decide(chosen, "accept")
        elif roll < 0.85:
            filled.undo()
            reference.undo()
        else:
            filled.undo(sample_dataset, tile)
            reference.undo(tile)
        for t in tiles:
            item = filled.item(sample_dataset, t)
            assert _same((item.state, item.mask), reference.state[t]), (step, t)
    assert filled.verify() == []
    undos = [e for e in filled.events() if e.action == "undo"]
    assert undos and all(e.undoes for e in undos)


def test_undo_any_takes_back_the_last_decision_first_across_tiles(filled, sample_dataset):
    t = [sample_dataset.ids[i] for i in sample_dataset.indices("test")]
    filled.accept(sample_dataset, t[0])
    filled.reject(sample_dataset, t[1])
    filled.accept(sample_dataset, t[1])
    filled.correct(sample_dataset, t[2], np.ones((101, 101), bool))
    steps = []
    while True:
        assert filled.undo(user="cy") == []                     # cy made none of them
        restored = filled.undo(user="cy", any=True)
        if not restored:
            break
        steps.append([(i.tile, i.state) for i in restored])
    assert steps == [[(t[2], "proposed")], [(t[1], "rejected")], [(t[1], "proposed")], [(t[0], "proposed")]]
    events = filled.events()
    assert [e.action for e in events[-4:]] == ["undo"] * 4 and events[-1].user == "cy"
    assert filled.pseudo_labels(sample_dataset) == {}
    assert filled.verify() == []


def test_accept_all_is_one_batch_undone_as_a_whole(filled, sample_dataset):
    level = 0.8
    expected = sorted(q.tile for q in filled.queue(sample_dataset, kind="pseudo") if q.agreement >= level)
    assert expected
    accepted = filled.accept_all(sample_dataset, level)
    assert sorted(accepted) == expected
    assert set(filled.pseudo_labels(sample_dataset)) == set(expected)
    assert len({e.batch for e in filled.events() if e.action == "accept"}) == 1
    assert filled.accept_all(sample_dataset, level) == []        # nothing proposed is left above it
    restored = filled.undo()
    assert sorted(i.tile for i in restored) == expected and {i.state for i in restored} == {"proposed"}
    assert filled.pseudo_labels(sample_dataset) == {}
    with pytest.raises(SaltviewerError, match="min_agreement"):
        filled.accept_all(sample_dataset, 1.5)


def test_proposing_again_never_overrides_a_decision(filled, sample_dataset):
    t = [sample_dataset.ids[i] for i in sample_dataset.indices("test")]
    filled.reject(sample_dataset, t[1])
    again = _proposals(sample_dataset)
    report = filled.propose(sample_dataset, again)
    assert (report.added, report.updated, report.unchanged, report.kept_decided) == (0, 0, 19, 1)
    changed = _proposals(sample_dataset, seed=9)
    for p in changed:
        p.models = ("v0003", "v0004")
    report = filled.propose(sample_dataset, changed)
    assert (report.updated, report.kept_decided) == (19, 1)
    assert filled.item(sample_dataset, t[1]).state == "rejected"
    refreshed = filled.item(sample_dataset, t[2])
    assert refreshed.models == ("v0003", "v0004")
    assert np.array_equal(refreshed.proposed_mask, changed[2].mask)
    assert [e.action for e in filled.history(sample_dataset, t[2])] == ["propose", "repropose"]
    assert filled.verify() == []


@pytest.mark.parametrize("mask, rule", [
    (np.zeros((100, 101), bool), "must be 101x101"),
    (np.zeros((101, 101), np.float32), "dtype float32"),
    (np.full((101, 101), 255, np.uint8), "only 0 and 1"),
    (None, "got None"),
])
def test_a_bad_mask_is_refused_and_nothing_is_written(filled, sample_dataset, mask, rule):
    tile = sample_dataset.ids[sample_dataset.indices("test")[1]]
    revision = filled.revision()
    with pytest.raises(SaltviewerError, match=rule):
        filled.correct(sample_dataset, tile, mask)
    bad = _proposals(sample_dataset)
    bad[5].mask = mask
    with pytest.raises(SaltviewerError, match=rule):
        filled.propose(sample_dataset, bad)
    assert filled.revision() == revision and filled.item(sample_dataset, tile).state == "proposed"


def test_unknown_ids_and_wrong_kinds_are_refused(filled, sample_dataset):
    revision = filled.revision()
    with pytest.raises(SaltviewerError, match="'nope' is not in the dataset"):
        filled.accept(sample_dataset, "nope")
    bad = _proposals(sample_dataset)
    bad.append(Proposal(tile="nope", mask=np.zeros((101, 101), bool), criterion="x", reason="y"))
    with pytest.raises(SaltviewerError, match="'nope' is not in the dataset"):
        filled.propose(sample_dataset, bad)
    train_tile, test_tile = sample_dataset.ids[0], sample_dataset.ids[-1]
    with pytest.raises(SaltviewerError, match="has a ground-truth mask"):
        filled.correct(sample_dataset, train_tile, np.zeros((101, 101), bool), kind="pseudo")
    with pytest.raises(SaltviewerError, match="has no ground-truth mask"):
        filled.reject(sample_dataset, test_tile, kind="label")
    with pytest.raises(SaltviewerError, match="kind must be one of"):
        filled.accept(sample_dataset, train_tile, kind="other")
    with pytest.raises(SaltviewerError, match="expected a tile id"):
        filled.accept(sample_dataset, 3)
    assert filled.revision() == revision
    # without a kind, a labelled tile's item is its label check, an unlabelled tile's its pseudo-label
    assert filled.reject(sample_dataset, train_tile).kind == "label"
    assert filled.reject(sample_dataset, test_tile).kind == "pseudo"


def test_the_history_cannot_be_rewritten(filled):
    db = sqlite3.connect(filled.path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE events SET user = 'mallory'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM events")
    with pytest.raises(sqlite3.DatabaseError, match="never deleted"):
        db.execute("DELETE FROM items")
    db.close()


def test_a_store_from_a_newer_schema_is_refused_untouched(workspace):
    CurationStore(workspace.store_path).close()
    with sqlite3.connect(workspace.store_path) as db:
        db.execute("PRAGMA user_version = 7")
    db.close()
    before = workspace.store_path.read_bytes()
    with pytest.raises(SaltviewerError, match="schema version 7 is newer than this saltviewer reads"):
        CurationStore(workspace.store_path)
    assert workspace.store_path.read_bytes() == before


def test_migrations_run_in_order_and_then_the_store_is_newer(workspace):
    CurationStore(workspace.store_path).close()

    def add_tags(db):
        db.execute("ALTER TABLE items ADD COLUMN tags TEXT NOT NULL DEFAULT ''")

    db = sqlite3.connect(workspace.store_path, isolation_level=None)
    from saltviewer.store import MIGRATIONS

    assert migrate(db, workspace.store_path, MIGRATIONS + ((SCHEMA_VERSION + 1, add_tags),)) == [SCHEMA_VERSION + 1]
    assert migrate(db, workspace.store_path, MIGRATIONS + ((SCHEMA_VERSION + 1, add_tags),)) == []
    assert "tags" in [row[1] for row in db.execute("PRAGMA table_info(items)")]
    db.close()
    with pytest.raises(SaltviewerError, match="newer than this saltviewer"):
        CurationStore(workspace.store_path)


def test_files_that_are_not_stores_are_refused(tmp_path):
    text = tmp_path / "notes.sqlite"
    text.write_text("hello")
    with pytest.raises(SaltviewerError, match="is not an SQLite database"):
        CurationStore(text)
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE t (x)")
    db.close()
    with pytest.raises(SaltviewerError, match="not a saltviewer curation store"):
        CurationStore(other)
    with pytest.raises(SaltviewerError, match="is a folder"):
        CurationStore(tmp_path)


def _spawn(*args):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, str(WRITER), *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def _read_until(process, count, timeout=60):
    lines = []
    deadline = time.monotonic() + timeout
    while len(lines) < count:
        line = process.stdout.readline()
        assert line, f"writer ended early: {process.stderr.read()}"
        lines.append(line.strip())
        assert time.monotonic() < deadline, "writer too slow"
    return lines


def test_a_writer_killed_mid_save_loses_only_that_save(filled, sample_dir, sample_dataset):
    filled.accept(sample_dataset, sample_dataset.ids[sample_dataset.indices("test")[1]])
    before = {q.tile: q.state for q in filled.items(sample_dataset)}
    revision = filled.revision()
    wal = filled.path.with_name(filled.path.name + "-wal")
    wal_before = wal.stat().st_size
    writer = _spawn("hold", sample_dir, filled.path)
    assert _read_until(writer, 2) == ["ready", "inside"]
    assert wal.stat().st_size > wal_before                      # part of the batch reached the disk, uncommitted
    writer.send_signal(signal.SIGKILL)
    writer.wait(30)
    assert writer.returncode == -signal.SIGKILL
    with CurationStore(filled.path) as reopened:
        assert reopened.verify() == []
        assert reopened.revision() == revision
        assert {q.tile: q.state for q in reopened.items(sample_dataset)} == before
        tile = sample_dataset.ids[sample_dataset.indices("test")[2]]
        assert reopened.accept(sample_dataset, tile).state == "accepted"   # still writable


def test_a_writer_killed_at_a_random_moment_keeps_every_reported_decision(filled, sample_dir, sample_dataset):
    writer = _spawn("decide", sample_dir, filled.path, 400)
    lines = _read_until(writer, 1 + 25)[1:]
    time.sleep(np.random.default_rng().uniform(0, 0.05))
    writer.send_signal(signal.SIGKILL)
    writer.wait(30)
    lines += [line.strip() for line in writer.stdout.read().splitlines()]
    with CurationStore(filled.path) as reopened:
        assert reopened.verify() == []
        decisions = [e for e in reopened.events() if e.action in ("accept", "reject", "correct")]
        # every decision the writer saw committed is there, in order; at most one more was in flight
        assert len(lines) <= len(decisions) <= len(lines) + 1
        for step, (line, event) in enumerate(zip(lines, decisions)):
            _, tile, kind, state, number = line.split()
            assert (event.tile, event.kind, event.state_after, event.detail["note"]) == (
                tile, kind, state, f"step {number}") and int(number) == step


def test_two_processes_writing_at_once_do_not_corrupt_the_store(filled, sample_dir, sample_dataset, tmp_path):
    test_tiles = [sample_dataset.ids[i] for i in sample_dataset.indices("test")]
    train_tiles = [sample_dataset.ids[i] for i in sample_dataset.indices("train")]
    (tmp_path / "a").write_text("\n".join(test_tiles))
    (tmp_path / "b").write_text("\n".join(train_tiles))
    revision = filled.revision()
    writers = [_spawn("race", sample_dir, filled.path, tmp_path / tag, 240) for tag in ("a", "b")]
    for writer in writers:
        assert _read_until(writer, 1) == ["ready"]
    (tmp_path / "go").touch()
    outputs = []
    for writer in writers:
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
        outputs.append(out.split("\n"))
    with CurationStore(filled.path) as reopened:
        assert reopened.verify() == []
        events = reopened.events(since=revision)
        assert len(events) == 480
        assert len({e.user for e in events}) == 2
        assert sum(1 for e in events if e.kind == "pseudo") == 240
        for out in outputs:                                        # every decision reported is there
            for line in filter(None, out):
                _, tile, kind, state, step = line.split()
                assert any(e.tile == tile and e.state_after == state and e.detail["note"] == f"step {step}"
                           for e in events)


def test_a_writer_waits_for_another_process_holding_the_store(filled, sample_dir, sample_dataset):
    tile = sample_dataset.ids[sample_dataset.indices("test")[3]]
    holder = _spawn("hold", sample_dir, filled.path, 2.0)
    assert _read_until(holder, 2) == ["ready", "inside"]          # it holds the write lock now
    start = time.monotonic()
    item = filled.reject(sample_dataset, tile)                    # waits for the holder, then saves
    waited = time.monotonic() - start
    out, err = holder.communicate(timeout=60)
    assert holder.returncode == 0, err
    assert out.strip() == "committed 80" and waited > 0.5
    assert item.state == "rejected"
    with CurationStore(filled.path) as reopened:
        assert reopened.verify() == []
        assert reopened.item(sample_dataset, tile).state == "rejected"             # the later decision
        assert reopened.counts(sample_dataset)["label"]["accepted"] == 60          # the holder's batch
        last = reopened.history(sample_dataset, tile)
        assert [e.action for e in last[-2:]] == ["accept", "reject"]


def test_export_writes_the_competition_layout(filled, sample_dataset, tmp_path):
    t = [sample_dataset.ids[i] for i in sample_dataset.indices("test")]
    filled.accept(sample_dataset, t[0])                        # an empty proposal
    filled.correct(sample_dataset, t[4], np.eye(101, dtype=bool))
    summary = export_labels(filled, sample_dataset, tmp_path / "out")
    assert summary["masks"] == 2 and summary["empty"] == 1
    exported = open_dataset(tmp_path / "out")
    assert sorted(exported.ids) == sorted([t[0], t[4]])
    labels = filled.pseudo_labels(sample_dataset)
    for tile in exported.ids:
        assert np.array_equal(exported.mask(tile), labels[tile])
        assert np.array_equal(exported.image(tile), sample_dataset.image(tile))
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "keep.txt").write_text("precious")
    with pytest.raises(SaltviewerError, match="not an earlier export"):
        export_labels(filled, sample_dataset, tmp_path / "mine")
    filled.undo()
    assert export_labels(filled, sample_dataset, tmp_path / "out")["masks"] == 1   # replaces the old export
    assert open_dataset(tmp_path / "out").ids == (t[0],)


# ---------------------------------------------------------------------------- shared stores: whose undo, redo
def _tiles(dataset):
    return [dataset.ids[i] for i in dataset.indices("test")]


def test_undo_takes_back_the_persons_own_decision_never_anothers(filled, sample_dataset):
    t = _tiles(sample_dataset)
    filled.accept(sample_dataset, t[0], user="alice")
    filled.accept(sample_dataset, t[1], user="bob")
    assert [i.tile for i in filled.undo(user="alice")] == [t[0]]
    assert filled.item(sample_dataset, t[0]).state == "proposed"
    assert filled.item(sample_dataset, t[1]).state == "accepted"                 # bob's stays
    plan = filled.undo_plan(user="alice")
    assert not plan and plan.others == 1                                         # only bob's is left
    assert filled.undo(user="alice") == []
    # one tile: refused when its last decision is someone else's, unless asked
    with pytest.raises(SaltviewerError, match="is bob's .* not alice's; undo it with any=True"):
        filled.undo(sample_dataset, t[1], user="alice")
    assert filled.item(sample_dataset, t[1]).state == "accepted"
    assert [i.state for i in filled.undo(sample_dataset, t[1], user="alice", any=True)] == ["proposed"]
    assert filled.history(sample_dataset, t[1])[-1].user == "alice"
    assert filled.verify() == []


def test_a_decision_changed_by_someone_else_is_not_undone(filled, sample_dataset):
    t = _tiles(sample_dataset)
    filled.accept(sample_dataset, t[0], user="alice")
    filled.accept(sample_dataset, t[1], user="alice")
    filled.reject(sample_dataset, t[1], user="bob")                              # bob changed t1 after alice
    filled.accept(sample_dataset, t[2], user="bob")
    undone = filled.undo(user="alice")                                           # her last current: t0
    assert [i.tile for i in undone] == [t[0]]
    assert filled.item(sample_dataset, t[1]).state == "rejected"
    assert filled.undo(user="alice") == []                                       # her t1 was superseded
    # a batch of hers in which bob changed one tile: the others are undone, his stays
    level = 0.0
    accepted = filled.accept_all(sample_dataset, level, user="alice")
    assert len(accepted) > 3
    filled.reject(sample_dataset, accepted[0], user="bob")
    plan = filled.undo_plan(user="alice")
    assert len(plan) == len(accepted) - 1 and [e.tile for e in plan.skipped] == [accepted[0]]
    assert "changed since by someone else" in plan.describe()
    filled.undo(user="alice", plan=plan)
    assert filled.item(sample_dataset, accepted[0]).state == "rejected"
    assert all(filled.item(sample_dataset, tile).state == "proposed" for tile in accepted[1:])
    assert filled.verify() == []


def test_an_undo_plan_is_what_the_person_was_asked_about(filled, sample_dataset):
    accepted = filled.accept_all(sample_dataset, 0.0, user="alice")
    plan = filled.undo_plan(user="alice")
    assert len(plan) == len(accepted) and plan.batch is not None
    assert plan.describe().startswith(f"undo {len(accepted)} decisions (accept all with agreement >= 0) by alice")
    other = sample_dataset.ids[sample_dataset.indices("train")[0]]
    filled.reject(sample_dataset, other, user="alice")                           # a newer decision meanwhile
    filled.undo(user="alice", plan=plan)                                         # still the batch asked about
    assert filled.item(sample_dataset, other).state == "rejected"
    assert all(filled.item(sample_dataset, tile).state == "proposed" for tile in accepted)


def test_redo_makes_undone_decisions_again_until_a_new_decision(filled, sample_dataset):
    t = _tiles(sample_dataset)
    drawn = np.zeros((101, 101), bool)
    drawn[5:50, 5:50] = True
    filled.correct(sample_dataset, t[0], drawn, user="alice", note="from v0002", source="v0002")
    accepted = filled.accept_all(sample_dataset, 0.8, user="alice")
    assert len(accepted) > 3 and filled.redo_plan(user="alice").events == []                            # nothing undone yet
    filled.undo(user="alice")                                                    # the batch
    filled.undo(user="alice")                                                    # the correction
    assert filled.item(sample_dataset, t[0]).state == "proposed"
    redone = filled.redo(user="alice")                                           # last undone first
    assert [i.tile for i in redone] == [t[0]] and redone[0].state == "corrected"
    assert np.array_equal(filled.item(sample_dataset, t[0]).mask, drawn)
    event = filled.history(sample_dataset, t[0])[-1]
    assert event.redoes is not None and event.note == "from v0002" and event.detail["source"] == "v0002"
    plan = filled.redo_plan(user="alice")
    assert sorted(plan.tiles) == sorted(accepted) and plan.describe().startswith(f"redo {len(accepted)} decision")
    assert filled.redo_plan(user="bob").events == []                             # not bob's to redo
    assert sorted(i.tile for i in filled.redo(user="alice")) == sorted(accepted)
    assert filled.redo(user="alice") == []
    # undo, then a new decision: the undone one can no longer be redone
    filled.undo(user="alice")
    filled.reject(sample_dataset, t[1], user="alice")
    assert filled.redo(user="alice") == []
    # redone decisions are undone like any other
    filled.undo(user="alice")
    filled.redo(user="alice")
    assert filled.item(sample_dataset, t[1]).state == "rejected"
    assert filled.verify() == []


def test_disputed_proposals_are_never_accepted_as_they_are(store, sample_dataset):
    t = _tiles(sample_dataset)
    proposals = _proposals(sample_dataset)
    for p in proposals[:4]:
        p.criterion, p.agreement, p.disagreement = "disagreement", 0.99, 0.01      # high agreement, still disputed
    proposals[4].criterion = "confident-salt+pixel-confidence"
    store.propose(sample_dataset, proposals)
    with pytest.raises(SaltviewerError, match="is disputed .* take one model's mask or draw one"):
        store.accept(sample_dataset, t[0])
    assert store.item(sample_dataset, t[0]).state == "proposed"
    candidates = store.batch_candidates(sample_dataset, 0.0)
    assert candidates and not {t[0], t[1], t[2], t[3]} & {i.tile for i in candidates}
    assert t[4] in {i.tile for i in candidates}
    assert not {t[0], t[1], t[2], t[3]} & set(store.accept_all(sample_dataset, 0.0))
    assert store.decide_batch(sample_dataset, [(t[1], None, "accept", None), (t[2], None, "reject", None)]) == [
        (t[2], "rejected")]                                                       # the disputed accept is left out
    item = store.correct(sample_dataset, t[0], proposals[0].mask, note="took v0001's mask", source="v0001")
    assert item.state == "corrected" and item.disputed and item.why == "disputed"
    assert store.pseudo_labels(sample_dataset).keys() >= {t[0]}
    assert [i.tile for i in store.items(sample_dataset, reason="disputed")] == sorted(
        [t[0], t[1], t[2], t[3]], key=lambda tile: [i.tile for i in store.items(sample_dataset)].index(tile))


def test_items_by_tiles_and_reason_and_without_scores(filled, sample_dataset):
    t = _tiles(sample_dataset)
    chosen = filled.items(sample_dataset, tiles=[t[3], t[1], "not-there"], masks=True)
    assert sorted(i.tile for i in chosen) == sorted([t[1], t[3]]) and all(i.masks_loaded for i in chosen)
    assert filled.items(sample_dataset, tiles=[]) == []
    empty = filled.items(sample_dataset, reason="confident empty")
    assert empty and all(i.criterion == "confident-empty" for i in empty)
    light = filled.items(sample_dataset, scores=False)
    assert [i.tile for i in light] == [i.tile for i in filled.items(sample_dataset)] and light[0].scores == {}
    with pytest.raises(SaltviewerError, match="reason must be among"):
        filled.items(sample_dataset, reason="sure")


@pytest.mark.parametrize("criterion, reason, batch", [
    ("confident-salt", "confident salt", True), ("pixel-confidence", "confident salt", True),
    ("confident-salt+pixel-confidence", "confident salt", True), ("confident-empty", "confident empty", True),
    ("disagreement", "disputed", False), ("confident-salt+disagreement", "disputed", False),
    ("label-error", "label check", False), ("mosaic-edge", "mosaic edge", False), ("manual", "drawn by hand", False),
    ("ranked-agreement", "other", True),
])
def test_reasons_of_criterion_codes(criterion, reason, batch):
    from saltviewer.store import batch_acceptable, reason_of

    assert reason_of(criterion) == reason
    assert batch_acceptable(criterion, "pseudo") == batch
    assert not batch_acceptable(criterion, "label")


def test_a_version_1_store_is_migrated_and_keeps_its_history(workspace, sample_dataset):
    from saltviewer.store import MIGRATIONS

    db = sqlite3.connect(workspace.store_path, isolation_level=None)
    assert migrate(db, workspace.store_path, MIGRATIONS[:1]) == [1]
    db.close()
    # write with the version-1 columns only, as an older saltviewer did
    db = sqlite3.connect(workspace.store_path, isolation_level=None)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 1
    assert "redoes" not in [row[1] for row in db.execute("PRAGMA table_info(events)")]
    db.close()
    with CurationStore(workspace.store_path, user="ana") as store:
        assert store.schema_version == SCHEMA_VERSION == 3
        store.propose(sample_dataset, _proposals(sample_dataset))
        tile = _tiles(sample_dataset)[1]
        store.accept(sample_dataset, tile)
        store.undo()
        assert store.redo()[0].state == "accepted"
        assert store.verify() == []


class _SharedReference:
    """The obvious model of undo and redo per person in a shared store (see saltviewer.store.history)."""

    def __init__(self, proposed):
        self.proposed = dict(proposed)
        self.state = {tile: ("proposed", None) for tile in proposed}
        self.events = []          # dicts: id, batch, user, kind ("decision"/"undo"), tile, before, after, ...
        self.batch = 0

    def _new(self, **event):
        event["id"] = len(self.events) + 1
        event["batch"] = self.batch
        self.events.append(event)
        return event

    def decide(self, user, tiles, action, mask=None):
        self.batch += 1
        for tile in tiles:
            after = {"accept": ("accepted", self.proposed[tile]), "reject": ("rejected", None),
                     "correct": ("corrected", mask)}[action]
            if _same(after, self.state[tile]):
                continue
            self._new(user=user, kind="decision", tile=tile, before=self.state[tile], after=after, undone=False,
                      redo_of=None)
            self.state[tile] = after

    def _current(self, event):
        return _same(self.state[event["tile"]], event["after"])

    def undo(self, user, any=False):
        live = [e for e in self.events if e["kind"] == "decision" and not e["undone"] and self._current(e)
                and (any or e["user"] == user)]
        if not live:
            return []
        batch = live[-1]["batch"]
        self.batch += 1
        done = []
        for event in sorted((e for e in live if e["batch"] == batch), key=lambda e: -e["id"]):
            event["undone"] = True
            self._new(user=user, kind="undo", tile=event["tile"], after=event["before"], decision=event,
                      redone=False)
            self.state[event["tile"]] = event["before"]
            done.append(event["tile"])
        return done

    def redo(self, user):
        fresh = max([e["id"] for e in self.events if e["kind"] == "decision" and e["redo_of"] is None
                     and e["user"] == user] or [0])
        open_undos = [e for e in self.events if e["kind"] == "undo" and e["user"] == user and e["id"] > fresh
                      and not e["redone"]]
        if not open_undos:
            return []
        batch = open_undos[-1]["batch"]
        self.batch += 1
        done = []
        for undo in sorted((e for e in open_undos if e["batch"] == batch), key=lambda e: -e["id"]):
            if not self._current(undo):
                continue
            undo["redone"] = True
            decision = undo["decision"]
            self._new(user=user, kind="decision", tile=undo["tile"], before=self.state[undo["tile"]],
                      after=decision["after"], undone=False, redo_of=undo["id"])
            self.state[undo["tile"]] = decision["after"]
            done.append(undo["tile"])
        return done


def test_random_decisions_of_two_people_with_undo_and_redo_match_a_reference_model(filled, sample_dataset):
    rng = np.random.default_rng(11)
    pseudo = {q.tile: filled.item(sample_dataset, q.tile).proposed_mask
              for q in filled.queue(sample_dataset, kind="pseudo")}
    reference = _SharedReference(pseudo)
    tiles = sorted(pseudo)
    for step in range(200):
        user = ("alice", "bob")[int(rng.integers(2))]
        roll = rng.random()
        chosen = [tiles[k] for k in rng.choice(len(tiles), size=int(rng.integers(1, 4)), replace=False)]
        if roll < 0.2:
            filled.decide_batch(sample_dataset, [(t, None, "accept", None) for t in chosen], user=user)
            reference.decide(user, chosen, "accept")
        elif roll < 0.35:
            filled.reject(sample_dataset, chosen[0], user=user)
            reference.decide(user, chosen[:1], "reject")
        elif roll < 0.5:
            mask = _blob(rng, 0.2)
            filled.correct(sample_dataset, chosen[0], mask, user=user)
            reference.decide(user, chosen[:1], "correct", mask)
        elif roll < 0.75:
            any_user = rng.random() < 0.2
            got = sorted(i.tile for i in filled.undo(user=user, any=any_user))
            assert got == sorted(reference.undo(user, any=any_user)), step
        else:
            got = sorted(i.tile for i in filled.redo(user=user))
            assert got == sorted(reference.redo(user)), step
        for t in tiles:
            item = filled.item(sample_dataset, t)
            assert _same((item.state, item.mask), reference.state[t]), (step, t)
    assert filled.verify() == []
    assert any(e.redoes for e in filled.events()) and any(e.action == "undo" for e in filled.events())


def test_cli_undo_takes_back_the_named_users_decision_and_leaves_the_others(filled, sample_dir, sample_dataset,
                                                                             capsys, monkeypatch):
    from saltviewer.cli import main

    workspace = filled.path.parent
    t = _tiles(sample_dataset)
    base = [str(sample_dir), "-w", str(workspace)]
    assert main(["decide", *base[:1], "accept", t[0], *base[1:], "--user", "alice", "--note", "clear body"]) == 0
    assert main(["decide", *base[:1], "accept", t[1], *base[1:], "--user", "bob"]) == 0
    capsys.readouterr()
    assert main(["decide", *base[:1], "undo", *base[1:], "--user", "alice"]) == 0
    out = capsys.readouterr().out
    assert f"undo 1 decision (accept) by alice" in out and f"undone: {t[0]} is proposed again" in out
    assert filled.item(sample_dataset, t[0]).state == "proposed"
    assert filled.item(sample_dataset, t[1]).state == "accepted"
    assert main(["decide", *base[:1], "undo", *base[1:], "--user", "alice"]) == 0
    assert "nothing of alice's to undo (1 decision by others" in capsys.readouterr().out
    # without --user: the login name, as decide itself records
    monkeypatch.setattr("saltviewer.store.base.default_user", lambda: "bob")
    assert main(["decide", *base[:1], "undo", *base[1:]]) == 0
    assert f"undone: {t[1]} is proposed again" in capsys.readouterr().out
    assert main(["decide", *base[:1], "redo", *base[1:], "--user", "bob"]) == 0
    assert filled.item(sample_dataset, t[1]).state == "accepted"
    assert main(["decide", *base[:1], "undo", *base[1:], "--user", "carl", "--any"]) == 0
    assert filled.item(sample_dataset, t[1]).state == "proposed"
    assert [e.user for e in filled.history(sample_dataset, t[1])][-1] == "carl"
    # a disputed tile cannot be accepted from the command line either
    filled.propose(sample_dataset, [Proposal(tile=t[5], mask=np.zeros((101, 101), bool), criterion="disagreement",
                                             reason="the models disagree", agreement=0.0, disagreement=1.0)])
    assert main(["decide", *base[:1], "accept", t[5], *base[1:]]) == 1
    assert "is disputed" in capsys.readouterr().err
    assert main(["decide", *base[:1], "redo", t[5], *base[1:]]) == 1
    assert filled.verify() == []
