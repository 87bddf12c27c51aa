"""Which mask is in force for a tile (saltviewer.store.masks_in_force), on a real SQLite store; no Qt."""

import numpy as np
import pytest

from saltviewer.store import CurationStore, MasksInForce, Proposal, masks_in_force


def _square(top, left, size=30):
    mask = np.zeros((101, 101), bool)
    mask[top:top + size, left:left + size] = True
    return mask


@pytest.fixture
def decided(workspace, sample_dataset):
    """A store with every kind of decision on two pseudo and three label items."""
    unlabelled = [sample_dataset.ids[i] for i in sample_dataset.indices("test")]
    labelled = [sample_dataset.ids[i] for i in sample_dataset.indices("train")]
    proposals = [Proposal(tile=t, mask=_square(5 * k, 5 * k), criterion="confident-salt", reason="test",
                          models=("v0001",), kind="pseudo") for k, t in enumerate(unlabelled[:3])]
    proposals += [Proposal(tile=t, mask=_square(50, 5 * k), criterion="label-error", reason="test",
                           models=("v0001",), kind="label") for k, t in enumerate(labelled[:3])]
    with CurationStore(workspace.store_path, user="ana") as store:
        store.propose(sample_dataset, proposals)
        store.accept(sample_dataset, unlabelled[0])                        # pseudo accepted
        store.correct(sample_dataset, unlabelled[1], _square(0, 70))       # pseudo corrected
        # unlabelled[2] stays proposed: nothing in force
        store.accept(sample_dataset, labelled[0], kind="label")             # training mask replaced
        store.reject(sample_dataset, labelled[1], kind="label")             # training mask kept
        store.correct(sample_dataset, labelled[2], _square(10, 10), kind="label")
        yield store, unlabelled, labelled


def test_a_curated_mask_is_in_force_else_the_ground_truth_else_none(decided, sample_dataset):
    store, unlabelled, labelled = decided
    in_force = masks_in_force(store, sample_dataset)
    assert np.array_equal(in_force(unlabelled[0]), _square(0, 0))
    assert np.array_equal(in_force(unlabelled[1]), _square(0, 70))
    assert in_force(unlabelled[2]) is None                                   # proposed only
    assert in_force(unlabelled[3]) is None                                   # never proposed
    assert np.array_equal(in_force(labelled[0]), _square(50, 0))
    assert np.array_equal(in_force(labelled[1]), sample_dataset.mask(labelled[1]))   # rejected: the truth
    assert not np.array_equal(in_force(labelled[1]), _square(50, 5))
    assert np.array_equal(in_force(labelled[2]), _square(10, 10))
    assert np.array_equal(in_force(labelled[5]), sample_dataset.mask(labelled[5]))
    position = sample_dataset.index(labelled[2])
    assert np.array_equal(in_force(position), in_force(labelled[2]))         # a dataset position works too
    assert [in_force.source(t) for t in (unlabelled[0], unlabelled[2], labelled[1], labelled[2])] == [
        "curated", None, "truth", "curated"]


def test_items_walk_every_tile_with_a_mask_in_dataset_order(decided, sample_dataset):
    store, unlabelled, labelled = decided
    in_force = masks_in_force(store, sample_dataset)
    items = list(in_force.items())
    tiles = [t for t, _, _ in items]
    assert tiles == sorted(tiles, key=sample_dataset.index)
    assert set(tiles) == set(labelled) | {unlabelled[0], unlabelled[1]}
    for tile, mask, source in items:
        assert source == in_force.source(tile)
        assert np.array_equal(mask, in_force(tile))
    assert sum(source == "curated" for _, _, source in items) == 4


def test_training_reads_the_same_rule_as_arrays(decided, sample_dataset):
    store, unlabelled, labelled = decided
    in_force = masks_in_force(store, sample_dataset)
    ids, masks = in_force.pseudo_label_arrays()
    assert ids == sorted(unlabelled[:2]) and masks.shape == (2, 101, 101) and masks.dtype == bool
    for tile, mask in zip(ids, masks):
        assert np.array_equal(mask, in_force(tile))
    corrections = in_force.label_corrections()
    assert list(corrections) == [labelled[0], labelled[2]]
    assert all(np.array_equal(mask, in_force(tile)) for tile, mask in corrections.items())


def test_without_a_store_only_the_training_masks_are_in_force(sample_dataset):
    in_force = MasksInForce(sample_dataset, {}, {})
    labelled = set(sample_dataset.ids[i] for i in np.flatnonzero(sample_dataset.has_mask))
    assert {t for t, _, _ in in_force.items()} == labelled
    ids, masks = in_force.pseudo_label_arrays()
    assert ids == [] and masks.shape == (0, 101, 101)
    assert in_force.label_corrections() == {}
