"""Reviewed tiles are labels: in a fold's training and validation tiles, at full weight, in a fold that
stays put from version to version; tiles accepted unseen stay pseudo-labels (train only, down-weighted).

The rows of a run are checked where they are made (`build_training_set`), without training; the
training CLI test checks the same on a real (tiny) fine-tune's card and out-of-fold file."""

import numpy as np
import pytest

from saltviewer import CurationStore, Workspace
from saltviewer.recipe import TrainingRecipe
from saltviewer.store import Proposal
from saltviewer.training.labels import load_training_labels, stable_fold
from saltviewer.training.trainset import build_training_set


def _inputs(dataset):
    return lambda rows: dataset.images(np.asarray(rows, int))[..., None]


@pytest.fixture
def decided(sample_dataset, tmp_path):
    """A workspace whose store holds tiles decided every way: corrected, accepted shown, on a grid page,
    in a mosaic (reviewed), and accepted unseen in a batch."""
    workspace = Workspace(tmp_path / "ws")
    pool = [sample_dataset.ids[i] for i in sample_dataset.indices("test")]
    drawn = np.zeros((101, 101), bool)
    drawn[60:, :40] = True
    proposals = [Proposal(tile, drawn, "confident-salt", "agree", ("v0001", "v0002"), agreement=0.95)
                 for tile in pool[1:7]]
    with CurationStore(workspace.store_path, user="ana") as store:
        store.propose(sample_dataset, proposals)
        store.correct(sample_dataset, pool[0], drawn)                                   # reviewed
        store.accept(sample_dataset, pool[1])                                           # reviewed (shown)
        store.decide_batch(sample_dataset, [(pool[2], None, "accept", None)], how="grid")    # reviewed
        store.decide_batch(sample_dataset, [(pool[3], None, "accept", None)], how="mosaic")  # reviewed
        store.accept_all(sample_dataset, 0.9, tiles=pool[4:6])                           # unseen
    return workspace, pool


def test_a_reviewed_tile_trains_and_validates_in_its_fold_and_an_unseen_one_only_trains(decided, sample_dataset):
    workspace, pool = decided
    labels = load_training_labels("accepted", sample_dataset, workspace)
    assert labels.reviewed_ids == sorted(pool[:4]) and labels.pseudo_ids == sorted(pool[4:6])
    labelled = np.flatnonzero(sample_dataset.has_mask)
    recipe = TrainingRecipe.from_scratch(folds=3)
    data = build_training_set(sample_dataset, labelled, sample_dataset.masks(labelled), labels, recipe,
                              _inputs(sample_dataset))
    assert data.n_given == len(labelled) and data.n_labelled == len(labelled) + 4 and len(data.ids) == data.n_labelled + 2
    row = {tile: k for k, tile in enumerate(data.ids)}
    for tile in labels.reviewed_ids:
        fold = data.fold_of[row[tile]]
        assert fold == stable_fold(tile, 3) and data.weight[row[tile]] == 1.0
        for k in range(3):
            train, pseudo, validation = data.fold_rows(k)
            assert (row[tile] in validation) == (k == fold) and (row[tile] in train) == (k != fold)
            assert row[tile] not in pseudo
    for tile in labels.pseudo_ids:
        assert data.fold_of[row[tile]] == -1 and data.weight[row[tile]] == recipe.pseudo_weight == 0.5
        for k in range(3):
            train, pseudo, validation = data.fold_rows(k)
            assert row[tile] in pseudo and row[tile] not in train and row[tile] not in validation
    # the masks are the ones in force: the reviewer's
    np.testing.assert_array_equal(data.y[row[pool[0]]], labels.reviewed_masks[labels.reviewed_ids.index(pool[0])])


def test_folds_stay_put_across_versions_and_new_tiles_move_nothing(decided, sample_dataset, tmp_path):
    workspace, pool = decided
    labels = load_training_labels("accepted", sample_dataset, workspace)
    labelled = np.flatnonzero(sample_dataset.has_mask)
    masks = sample_dataset.masks(labelled)
    recipe = TrainingRecipe.from_scratch(folds=3, seed=4)
    first = build_training_set(sample_dataset, labelled, masks, labels, recipe, _inputs(sample_dataset))
    # the same tiles with more reviewed since, and another seed: a reviewed tile's fold is its own
    drawn = np.ones((101, 101), bool)
    with CurationStore(workspace.store_path) as store:
        for tile in pool[7:10]:
            store.correct(sample_dataset, tile, drawn)
    more = load_training_labels("accepted", sample_dataset, workspace)
    second = build_training_set(sample_dataset, labelled, masks, more, recipe.replace(seed=9),
                                _inputs(sample_dataset))
    fold_first = dict(zip(first.ids[:first.n_labelled], first.fold_of))
    fold_second = dict(zip(second.ids[:second.n_labelled], second.fold_of))
    assert all(fold_second[tile] == fold_first[tile] for tile in labels.reviewed_ids)

    # a fine-tune keeps its parent's folds, for the dataset's tiles and for tiles reviewed before it
    parent_ws = Workspace(tmp_path / "parent")
    ids = first.ids[:first.n_labelled]
    parent_fold = (np.arange(len(ids)) % 3).astype(int)            # not the folds either rule would give
    card = {"folds": 3, "reviewed_labels": {"tiles": {tile: int(parent_fold[ids.index(tile)])
                                                      for tile in labels.reviewed_ids}}}
    version = parent_ws.add_version(card, lambda folder: np.savez_compressed(
        f"{folder}/oof.npz", ids=np.array(ids), folds=parent_fold,
        probabilities=np.zeros((len(ids), 101, 101), np.uint8)))
    child = build_training_set(sample_dataset, labelled, masks, more, TrainingRecipe.fine_tune(card, seed=1),
                               _inputs(sample_dataset), parent=(parent_ws, version, parent_ws.card(version)))
    fold_child = dict(zip(child.ids[:child.n_labelled], child.fold_of))
    assert all(fold_child[tile] == parent_fold[k] for k, tile in enumerate(ids))
    # the tiles reviewed since the parent take their own fold, and are the new ones drawn twice
    new = sorted(pool[7:10])
    assert [fold_child[tile] for tile in new] == [stable_fold(tile, 3) for tile in new]
    assert [child.ids[k] for k in np.flatnonzero(child.new)] == new
    train, _, _ = child.fold_rows(0)
    draws = child.repeated(train, TrainingRecipe.fine_tune().new_label_repeat)
    counts = {child.ids[r]: int((draws == r).sum()) for r in train}
    assert {t: counts[t] for t in new if t in counts} == {t: 2 for t in new if stable_fold(t, 3) != 0}
    assert all(counts[t] == 1 for t in ids if t in counts)


def test_a_fine_tune_epoch_grows_with_the_new_labels_and_says_how_often_each_is_seen():
    recipe = TrainingRecipe.fine_tune()
    assert (recipe.times_seen(), recipe.times_seen(new=True)) == (4, 8)
    assert recipe.continue_loss and recipe.warmup_epochs == 0.5 and recipe.schedule("lovasz") == [("lovasz", 4)]
    assert TrainingRecipe.from_scratch().schedule("lovasz") == [("bce_dice", 12), ("lovasz", 12)]
    # 300 old labels in a fold and 200 new drawn twice: 700 draws; pseudo-labels a third at most
    assert recipe.epoch_size(300 + 2 * 200, 5000) == (700, 233)
    minutes = [recipe.estimate_seconds(1000, 0, new=n, train_speed=50, predict_speed=200) for n in (0, 500, 1000)]
    assert minutes[0] < minutes[1] < minutes[2]
