"""The loop simulation's parts: the split and the simulated reviewer, on a real store."""

import numpy as np
import pytest

from saltviewer import SaltviewerError, open_dataset
from saltviewer.explore import coverage_classes as coverage_class
from saltviewer.loop import loop_split, simulate_review
from saltviewer.store import CurationStore, Proposal


def _masks(n, seed=0):
    rng = np.random.default_rng(seed)
    masks = np.zeros((n, 101, 101), bool)
    for k in range(n):
        if rng.random() < 0.6:
            masks[k, :int(rng.integers(1, 101))] = True
    return masks


def test_split_parts_never_overlap_and_keep_the_coverage_mix():
    masks = _masks(400)
    ids = [f"{k:010x}" for k in range(400)]
    parts = loop_split(ids, masks, n_labelled=60, n_eval=100, seed=3)
    sets = {name: set(v) for name, v in parts.items()}
    assert not sets["labelled"] & sets["pool"] and not sets["labelled"] & sets["eval"]
    assert not sets["pool"] & sets["eval"]
    assert sets["labelled"] | sets["pool"] | sets["eval"] == set(ids)
    assert abs(len(parts["labelled"]) - 60) <= 6 and abs(len(parts["eval"]) - 100) <= 6
    index = {i: k for k, i in enumerate(ids)}
    empty_all = np.mean(coverage_class(masks) == 0)
    for name in parts:
        share = np.mean(coverage_class(masks[[index[i] for i in parts[name]]]) == 0)
        assert abs(share - empty_all) < 0.06, name
    # seeded: the same split again, another with another seed
    assert loop_split(ids, masks, 60, 100, seed=3) == parts
    assert loop_split(ids, masks, 60, 100, seed=4) != parts
    capped = loop_split(ids, masks, 60, 100, seed=3, n_pool=50)
    assert abs(len(capped["pool"]) - 50) <= 6 and set(capped["pool"]) <= sets["pool"]


def test_split_rejects_sizes_that_do_not_fit():
    with pytest.raises(SaltviewerError, match="n_labelled"):
        loop_split(["a", "b"], np.zeros((2, 4, 4), bool), n_labelled=3, n_eval=0)
    with pytest.raises(SaltviewerError, match="more than"):
        loop_split(["a", "b"], np.zeros((2, 4, 4), bool), n_labelled=2, n_eval=1)


def test_simulated_reviewer_accepts_good_proposals_and_corrects_the_rest(sample_dir, tmp_path):
    dataset = open_dataset(sample_dir)
    tiles = [dataset.ids[i] for i in dataset.indices("test")[:3]]
    truth = {t: np.zeros((101, 101), bool) for t in tiles}
    truth[tiles[0]][20:60, 20:60] = True          # proposal exact: accepted
    truth[tiles[1]][20:60, 20:60] = True          # proposal far off: corrected to the truth
    proposals = [Proposal(tile=tiles[0], mask=truth[tiles[0]].copy(), criterion="confident-salt", reason="r"),
                 Proposal(tile=tiles[1], mask=np.roll(truth[tiles[1]], 30, axis=1), criterion="confident-salt",
                          reason="r")]
    with CurationStore(tmp_path / "store.sqlite") as store:
        store.propose(dataset, proposals)
        tally = simulate_review(store, dataset, tiles, truth, accept_at=0.8)
        assert tally == {"reviewed": 2, "accepted": 1, "corrected": 1, "skipped": 1}
        labels = store.pseudo_labels(dataset)
        assert store.item(dataset, tiles[0], "pseudo").state == "accepted"
        assert store.item(dataset, tiles[1], "pseudo").state == "corrected"
    assert set(labels) == set(tiles[:2])
    np.testing.assert_array_equal(labels[tiles[1]], truth[tiles[1]])
    np.testing.assert_array_equal(labels[tiles[0]], truth[tiles[0]])
    with pytest.raises(SaltviewerError, match="accept_at"):
        simulate_review(None, dataset, [], truth, accept_at=2)
