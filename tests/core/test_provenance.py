"""How a decision was made (one tile, a grid page, a mosaic, an unseen batch): the store records it,
keeps it through undo and redo, and reads old stores' decisions by the rule of `legacy_how`."""

import sqlite3

import numpy as np
import pytest

from saltviewer import SaltviewerError
from saltviewer.store import MIGRATIONS, CurationStore, Proposal, masks_in_force, migrate


def _proposals(dataset, n=8):
    rng = np.random.default_rng(3)
    out = []
    for k, i in enumerate(dataset.indices("test")[:n]):
        mask = np.zeros((101, 101), bool)
        if k % 2:
            mask[rng.integers(0, 50):, :rng.integers(20, 90)] = True
        out.append(Proposal(dataset.ids[i], mask, "confident-salt" if k % 2 else "confident-empty", "agree",
                            ("v0001", "v0002"), {"agreement": 0.95}, agreement=0.95))
    return out


@pytest.fixture
def proposed(workspace, sample_dataset):
    store = CurationStore(workspace.store_path, user="ana")
    store.propose(sample_dataset, _proposals(sample_dataset))
    yield store
    store.close()


def _tiles(dataset, n=8):
    return [dataset.ids[i] for i in dataset.indices("test")[:n]]


def test_each_way_of_deciding_is_recorded_and_says_whether_the_tile_was_reviewed(proposed, sample_dataset):
    t = _tiles(sample_dataset)
    proposed.accept(sample_dataset, t[0])                                     # shown on its own
    proposed.decide_batch(sample_dataset, [(t[1], None, "accept", None)], how="grid")
    proposed.decide_batch(sample_dataset, [(t[2], None, "accept", None)], how="mosaic")
    proposed.accept_all(sample_dataset, 0.9, tiles=[t[3], t[4]])             # unseen: "batch" by default
    drawn = np.zeros((101, 101), bool)
    drawn[40:, :30] = True
    proposed.decide_batch(sample_dataset, [(t[5], None, "correct", drawn)])   # a correction in a batch
    curated = proposed.curated(sample_dataset)
    assert {tile: c[3] for tile, c in curated.items()} == {t[0]: "tile", t[1]: "grid", t[2]: "mosaic",
                                                           t[3]: "batch", t[4]: "batch", t[5]: "batch"}
    assert {tile for tile, c in curated.items() if c[4]} == {t[0], t[1], t[2], t[5]}
    assert np.array_equal(curated[t[5]][0], drawn) and curated[t[5]][2] == "correct"
    events = {e.tile: e for e in proposed.events() if e.action in ("accept", "correct")}
    assert events[t[3]].how == "batch" and not events[t[3]].reviewed
    assert events[t[1]].how == "grid" and events[t[1]].reviewed and events[t[5]].reviewed
    # the masks in force split the same way: reviewed tiles train as labels, the rest as pseudo-labels
    in_force = masks_in_force(proposed, sample_dataset)
    assert in_force.pseudo_label_arrays(reviewed=True)[0] == sorted([t[0], t[1], t[2], t[5]])
    assert in_force.pseudo_label_arrays(reviewed=False)[0] == sorted([t[3], t[4]])
    assert in_force.pseudo_label_arrays()[0] == sorted(t[:6])


def test_an_unknown_way_is_refused_with_its_name_and_nothing_is_written(proposed, sample_dataset):
    t = _tiles(sample_dataset)
    before = proposed.revision()
    with pytest.raises(SaltviewerError, match="how must be one of tile, grid, mosaic, batch.*'glance'"):
        proposed.accept(sample_dataset, t[0], how="glance")
    with pytest.raises(SaltviewerError, match="'seen'"):
        proposed.decide_batch(sample_dataset, [(t[0], None, "accept", None)], how="seen")
    assert proposed.revision() == before


def test_the_decision_in_force_is_the_last_one_not_undone(proposed, sample_dataset):
    t = _tiles(sample_dataset)
    proposed.accept_all(sample_dataset, 0.9, tiles=[t[1]])                   # unseen
    drawn = np.ones((101, 101), bool)
    proposed.correct(sample_dataset, t[1], drawn)                            # then looked at and redrawn
    assert proposed.curated(sample_dataset)[t[1]][2:] == ("correct", "tile", True)
    proposed.undo()                                                          # back to the unseen accept
    assert proposed.curated(sample_dataset)[t[1]][2:] == ("accept", "batch", False)
    proposed.redo()                                                          # the correction again, as made
    assert proposed.curated(sample_dataset)[t[1]][2:] == ("correct", "tile", True)
    redone = [e for e in proposed.events() if e.redoes is not None]
    assert len(redone) == 1 and redone[0].how == "tile"
    proposed.undo()
    proposed.undo()                                                          # and the batch too: nothing in force
    assert t[1] not in proposed.curated(sample_dataset)
    assert proposed.verify() == []


def test_decisions_of_a_version_2_store_are_read_by_the_legacy_rule(workspace, sample_dataset):
    t = _tiles(sample_dataset)
    with CurationStore(workspace.store_path, user="old") as store:
        store.propose(sample_dataset, _proposals(sample_dataset))
        store.accept(sample_dataset, t[1])
        store.accept_all(sample_dataset, 0.9, tiles=[t[3]])
        store.decide_batch(sample_dataset, [(t[5], None, "accept", None)], how="grid",
                           detail={"batch": "triage grid page 2: 1 accepted, 0 rejected"})
    # a store migrated from schema 2 has the column, empty: what its decisions were is forgotten
    db = sqlite3.connect(workspace.store_path, isolation_level=None)
    db.execute("DROP TRIGGER events_are_never_changed")
    db.execute("UPDATE events SET how = NULL")
    db.close()
    with CurationStore(workspace.store_path) as store:
        curated = store.curated(sample_dataset)
        assert {tile: (c[3], c[4]) for tile, c in curated.items()} == {
            t[1]: ("tile", True), t[3]: ("batch", False), t[5]: ("grid", True)}
        assert {e.tile: e.how for e in store.events() if e.action == "accept"} == {
            t[1]: "tile", t[3]: "batch", t[5]: "grid"}


def test_a_version_2_store_gains_the_column_and_keeps_its_rows(workspace, sample_dataset):
    db = sqlite3.connect(workspace.store_path, isolation_level=None)
    assert migrate(db, workspace.store_path, MIGRATIONS[:2]) == [1, 2]
    assert "how" not in [row[1] for row in db.execute("PRAGMA table_info(events)")]
    db.close()
    with CurationStore(workspace.store_path, user="ana") as store:
        assert store.schema_version == 3
        store.propose(sample_dataset, _proposals(sample_dataset))
        store.accept(sample_dataset, _tiles(sample_dataset)[0], how="grid")
        assert store.verify() == []
    db = sqlite3.connect(workspace.store_path, isolation_level=None)
    assert db.execute("SELECT how FROM events WHERE action = 'accept'").fetchall() == [("grid",)]
    with pytest.raises(sqlite3.IntegrityError):                 # the column takes the four ways only
        db.execute("DROP TRIGGER events_are_never_changed")
        db.execute("UPDATE events SET how = 'glance'")
    db.close()


def test_the_recommended_preset_follows_the_share_of_labels_reviewed_since_the_parent():
    from saltviewer.recipe import SCRATCH_WHEN_LABELS_GROW, recommend_retrain

    speeds = {"train_speed": 50.0, "predict_speed": 200.0}
    parent = {"folds": 3, "ids_count": 400, "encoder": "small",
              "reviewed_labels": {"tiles": {f"old{i}": i % 3 for i in range(100)}}}   # 500 labels in all
    old = [f"old{i}" for i in range(100)]
    assert recommend_retrain(400, [], None, **speeds).preset == "scratch"              # nothing to fine-tune
    quiet = recommend_retrain(400, old, parent, **speeds)
    assert quiet.preset == "fine-tune" and quiet.new_reviewed == 0 and "Nothing reviewed" in quiet.reason
    just_under = recommend_retrain(400, old + [f"n{i}" for i in range(249)], parent, **speeds)
    at = recommend_retrain(400, old + [f"n{i}" for i in range(250)], parent, **speeds)
    assert 250 / 500 == SCRATCH_WHEN_LABELS_GROW
    assert just_under.preset == "fine-tune" and at.preset == "scratch" and at.new_reviewed == 250
    assert "250 tiles reviewed since the parent add 50% to its 500 labels" in at.reason
    # the minutes grow with what is new: a fine-tune draws every new label twice per pass
    assert at.minutes["fine-tune"] > just_under.minutes["fine-tune"] - 1e-9
    assert at.minutes["fine-tune"] < at.minutes["scratch"]
