"""train_model, predict_dataset and submissions end to end on the small synthetic sample.

The models are tiny (``small`` encoder, width 4) and train for one or a few epochs: these
tests check the machinery (versions, cards, cancellation, budget, pseudo-labels, fine-tuning,
prediction files), not the quality. The version trained with the whole recipe is the session's
`tiny_version` (tests/training/conftest.py), shared with the CLI and SEG-Y tests.
"""

import threading

import numpy as np
import pytest

from saltviewer import SaltviewerError, Workspace, open_dataset, read_submission
from saltviewer.training import TrainingCancelled, predict_dataset, train_model, write_ensemble_submission

TINY = dict(encoder="small", width=4, batch_size=16, seed=1)


@pytest.fixture
def trained(tiny_version, tiny_workspace):
    """One version trained with the whole recipe: BCE+Dice, Lovasz, SWA and BatchNorm recomputation
    (2 folds x 3 epochs; the session's `tiny_version`), in a copy of its workspace for the test."""
    return tiny_workspace, tiny_version.result, tiny_version.events


def test_a_version_with_its_card_and_fold_models(trained, sample_dataset):
    workspace, result, events = trained
    assert workspace.versions() == [result.version] == ["v0001"]
    card = workspace.card(result.version)
    for field in ("encoder", "input_size", "resize_mode", "channels", "loss_schedule", "optimizer", "lr_schedule",
                  "epochs", "folds", "fold_models", "ids_hash", "ids_count", "pseudo_labels", "oof_score",
                  "threshold", "min_area", "parent", "timings", "cut_by_budget", "keras_backend",
                  "saltviewer_version"):
        assert field in card, field
    assert card["encoder"] == "small" and card["folds"] == 2 and card["epochs"] == 3
    assert card["loss_schedule"] == [{"loss": "bce_dice", "epochs": 1}, {"loss": "lovasz", "epochs": 2}]
    assert card["ids_count"] == int(sample_dataset.has_mask.sum()) == card["oof_count"]
    assert card["pseudo_labels"] is None and card["parent"] is None and card["cut_by_budget"] is False
    assert 0.0 <= card["oof_score"] <= 1.0 and 0.0 < card["threshold"] < 1.0
    assert all((result.path / name).is_file() for name in card["fold_models"])
    assert all(d["swa_averaged"] == 2 and d["swa_score"] is not None for d in card["fold_details"])
    assert all(d["epochs_run"] == 3 == len(d["history"]) for d in card["fold_details"])
    assert all(d["selected"] == "swa" and d["val_score"] == d["swa_score"] for d in card["fold_details"])
    with np.load(result.path / "oof.npz") as oof:
        assert oof["probabilities"].shape == (card["oof_count"], 101, 101)
        assert set(oof["folds"]) == {0, 1}


def test_progress_events(trained):
    _, result, events = trained
    kinds = [e.kind for e in events]
    assert set(kinds) == {"phase", "batch", "epoch", "fold", "done"}
    epochs = [e for e in events if e.kind == "epoch"]
    assert len(epochs) == 2 * 3 and all("val_score" in e.logs and "loss" in e.logs for e in epochs)
    assert [e.epoch for e in epochs[:3]] == [0, 1, 2] and {e.fold for e in epochs} == {0, 1}
    batches = [e for e in events if e.kind == "batch"]
    assert all(e.n_batches == batches[0].n_batches > 0 and e.n_folds == 2 for e in batches)
    assert events[-1].kind == "done" and events[-1].message == result.version


def test_predict_then_submission(trained, sample_dir, tmp_path):
    from saltviewer import score_submission

    workspace, result, _ = trained
    dataset = open_dataset(sample_dir)
    seen = []
    paths = predict_dataset(dataset, workspace, "latest", on_progress=seen.append, batch_size=16, chunk=32)
    maps = workspace.open_predictions(result.version, dataset)
    assert paths[result.version].is_file() and maps.shape == (len(dataset), 101, 101)
    assert maps.max() > 0 and seen[-1].kind == "done"
    batches = [e.batch for e in seen if e.kind == "batch"]
    assert batches == sorted(batches) and batches[-1] == len(dataset)
    info = write_ensemble_submission(dataset, workspace, [result.version], tmp_path / "sub.csv")
    rles = read_submission(tmp_path / "sub.csv")
    assert list(rles) == [dataset.ids[i] for i in dataset.indices("test")]
    assert info.threshold == result.card["threshold"] and info.tuned_on == "card"
    # On the labelled tiles the stored maps reproduce a score the metric accepts.
    info = write_ensemble_submission(dataset, workspace, [result.version], tmp_path / "train.csv", split="train")
    assert 0.0 <= score_submission(tmp_path / "train.csv", sample_dir).score <= 1.0


def test_prediction_split_keeps_other_tiles(trained, sample_dir):
    from saltviewer.training.predict import predicted_mask_path

    workspace, result, _ = trained
    dataset = open_dataset(sample_dir)
    predict_dataset(dataset, workspace, [result.version], split="all", tta=False)
    before = np.array(workspace.open_predictions(result.version, dataset))
    predict_dataset(dataset, workspace, [result.version], split="test", tta=True, folds=[0])
    after = np.array(workspace.open_predictions(result.version, dataset))
    train = dataset.indices("train")
    np.testing.assert_array_equal(after[train], before[train])
    assert np.load(predicted_mask_path(workspace, result.version, dataset)).all()


def test_cancel_writes_nothing(sample_dir, tmp_path):
    workspace = Workspace(tmp_path / "ws")
    cancel = threading.Event()

    def on_progress(event):
        if event.kind == "batch":
            cancel.set()

    with pytest.raises(TrainingCancelled):
        train_model(sample_dir, workspace, epochs=2, folds=2, cancel=cancel, on_progress=on_progress, **TINY)
    assert workspace.versions() == []
    assert [p.name for p in workspace.models_dir.iterdir()] == []


def test_budget_cut_still_writes_the_best_weights_and_pseudo_labels_only_train(sample_dir, sample_dataset, tmp_path):
    workspace = Workspace(tmp_path / "ws")
    test_ids = [sample_dataset.ids[i] for i in sample_dataset.indices("test")[:5]]
    pseudo = {tile_id: np.zeros((101, 101), bool) for tile_id in test_ids}
    pseudo[test_ids[0]][40:60, 40:60] = True
    labelled_id = sample_dataset.ids[int(sample_dataset.indices("train")[0])]
    pseudo[labelled_id] = np.ones((101, 101), bool)          # has ground truth: ignored
    result = train_model(sample_dir, workspace, epochs=20, folds=1, budget_minutes=0.03, pseudo_labels=pseudo,
                         channels=("sobel", "depth"), **TINY)
    card = result.card
    assert card["channels"] == ["sobel", "depth"] and card["in_channels"] == 3
    predict_dataset(sample_dir, workspace, [result.version], split="test", tta=False)   # reads the channels from the card
    assert workspace.open_predictions(result.version, sample_dataset)[sample_dataset.indices("test")].any()
    assert card["cut_by_budget"] is True and card["budget_minutes"] == 0.03
    assert card["pseudo_labels"]["count"] == 5
    assert all(1 <= d["epochs_run"] < 20 and d["cut_by_budget"] for d in card["fold_details"])
    assert all(d["epochs_run"] == sum(n for _, n in d["loss_schedule"]) == len(d["history"])
               for d in card["fold_details"])
    n_labelled = int(sample_dataset.has_mask.sum())
    (fold,) = card["fold_details"]                   # folds=1: one model, a fifth held out
    assert fold["val_tiles"] == card["oof_count"] == n_labelled // 5
    assert fold["train_tiles"] + fold["val_tiles"] == n_labelled
    assert fold["pseudo_tiles"] == 5


def test_fine_tuning_from_a_base_version_with_accepted_pseudo_labels(trained, sample_dir, sample_dataset, tmp_path):
    import shutil

    from saltviewer.store import CurationStore

    workspace, result, _ = trained
    copy = Workspace(tmp_path / "ws")
    shutil.copytree(result.path, copy.models_dir / result.version)
    store = CurationStore(copy.store_path)
    drawn = np.zeros((101, 101), bool)
    drawn[50:, :] = True
    for i in sample_dataset.indices("test")[:3]:
        store.correct(sample_dataset, sample_dataset.ids[i], drawn)
    disputed = sample_dataset.ids[int(sample_dataset.indices("train")[0])]
    store.correct(sample_dataset, disputed, drawn, kind="label")        # a training mask redrawn in review
    store.close()
    from saltviewer.training.fit import load_label_corrections

    corrections = load_label_corrections("accepted", sample_dataset, copy)
    assert list(corrections) == [disputed] and np.array_equal(corrections[disputed], drawn)
    assert load_label_corrections(None, sample_dataset, copy) == {}
    from saltviewer.training.labels import load_pseudo_labels, load_training_labels

    labels = load_training_labels("accepted", sample_dataset, copy)   # one read of the store
    alone_ids, alone_masks = load_pseudo_labels("accepted", sample_dataset, copy)
    # the three corrections were made on tiles shown: they join as labels, none is a pseudo-label
    assert labels.reviewed_ids == alone_ids and len(alone_ids) == 3 and np.array_equal(labels.reviewed_masks,
                                                                                        alone_masks)
    assert labels.pseudo_ids == [] and len(labels.pseudo_masks) == 0
    assert list(labels.corrections) == [disputed] and np.array_equal(labels.corrections[disputed], drawn)
    child = train_model(sample_dir, copy, epochs=1, folds=1, base_version=result.version, tta=False,
                        pseudo_labels="accepted", **dict(TINY, encoder=None))
    assert child.card["parent"] == result.version and child.card["encoder"] == "small"
    assert child.card["reviewed_labels"]["count"] == 3 and child.card["pseudo_labels"] is None
    assert child.card["label_corrections"]["count"] == 1
    assert copy.versions() == [result.version, child.version]
    with pytest.raises(SaltviewerError, match="keeps its parent's architecture"):
        train_model(sample_dir, copy, epochs=1, folds=2, base_version=result.version, input_size=96,
                    **dict(TINY, encoder=None))


def test_bad_arguments_are_one_line_errors_naming_the_setting(sample_dir, tmp_path):
    with pytest.raises(SaltviewerError, match="epochs must be an integer of at least 1, got 0"):
        train_model(sample_dir, tmp_path / "ws", epochs=0)
    with pytest.raises(SaltviewerError, match="encoder must be one of"):
        train_model(sample_dir, tmp_path / "ws", encoder="unet++")
    with pytest.raises(SaltviewerError, match="channels: unknown channel 'colour'"):
        train_model(sample_dir, tmp_path / "ws", channels=("colour",))
    with pytest.raises(SaltviewerError, match="pseudo_labels must be 'accepted'"):
        train_model(sample_dir, tmp_path / "ws", pseudo_labels="rejected", epochs=1)
    with pytest.raises(SaltviewerError, match="unknown setting 'epoch'"):
        train_model(sample_dir, tmp_path / "ws", epoch=3)
    with pytest.raises(SaltviewerError, match="pseudo_fraction must be a number in"):
        train_model(sample_dir, tmp_path / "ws", pseudo_fraction=1.0)
    assert not (tmp_path / "ws" / "models").exists() or not Workspace(tmp_path / "ws").versions()


def test_fine_tune_starts_from_the_parents_weights_and_keeps_its_folds(trained, sample_dir, sample_dataset, tmp_path):
    """With a learning rate of ~0 a fine-tuned fold keeps its parent's fold weights (checked, not assumed),
    every labelled tile keeps its parent's fold, and the card says where it came from."""
    import shutil

    import keras

    from saltviewer.recipe import TrainingRecipe
    from saltviewer.training.predict import load_version_models

    workspace, result, _ = trained
    copy = Workspace(tmp_path / "ws")
    shutil.copytree(result.path, copy.models_dir / result.version)
    pseudo = {sample_dataset.ids[i]: np.zeros((101, 101), bool) for i in sample_dataset.indices("test")[:4]}
    recipe = TrainingRecipe.fine_tune(epochs=1, max_lr=1e-12, swa_epochs=0, folds=2, **dict(TINY, seed=5))
    child = train_model(sample_dir, copy, recipe, base_version=result.version, pseudo_labels=pseudo)
    card = child.card
    assert card["parent"] == result.version
    assert card["recipe"]["epoch_tiles"] == "labelled" and card["recipe"]["seed"] == 5
    from saltviewer.training.fold import parent_last_loss

    # the fine-tune goes on with the loss its parent ended on (no restart of BCE + Dice)
    last = parent_last_loss(workspace.card(result.version))
    assert card["loss_schedule"] == [{"loss": last, "epochs": 1}]
    assert TrainingRecipe.from_card(card) == recipe.replace(encoder="small", input_size=64, resize_mode="resize",
                                                            context=False, loss_schedule=((last, 1),))
    assert card["pseudo_labels"]["count"] == 4 and card["label_corrections"] is None
    # an epoch is as long as the fold's labelled training tiles, a third of it pseudo-labels
    for fold in card["fold_details"]:
        assert fold["epoch_tiles"] == fold["train_tiles"]
        assert fold["epoch_pseudo_tiles"] == min(4, round(fold["train_tiles"] / 3))
    # the parent's folds, although the child's seed would split differently
    with np.load(result.path / "oof.npz") as parent_oof, np.load(child.path / "oof.npz") as child_oof:
        assert list(parent_oof["ids"]) == list(child_oof["ids"])
        np.testing.assert_array_equal(parent_oof["folds"], child_oof["folds"])
    assert card["parent_oof_score"]["tiles"] == card["oof_count"]
    assert card["parent_oof_score"]["score"] == pytest.approx(workspace.card(result.version)["oof_score"], abs=1e-9)
    parents, _ = load_version_models(workspace, result.version)
    children, _ = load_version_models(copy, child.version)
    assert len(parents) == len(children) == 2
    for parent, kid in zip(parents, children):
        kernels = [(p, k) for p, k, w in zip(parent.get_weights(), kid.get_weights(), kid.weights)
                   if w.trainable]
        assert kernels and all(np.allclose(p, k, atol=1e-5) for p, k in kernels)
    # ... its own fold's: the parent's two folds differ by more than that tolerance, so a child fold
    # started from the other fold (or every fold from fold 0) would fail the check above
    for k, kid in enumerate(children):
        other = parents[1 - k]
        assert not all(np.allclose(p, c, atol=1e-5) for p, c, w in zip(other.get_weights(), kid.get_weights(),
                                                                         kid.weights) if w.trainable)
    # ... and not where a run from scratch starts (the architecture's own initialisers, drawn afresh:
    # with a learning rate of ~0 a run that ignored its base would end about there)
    keras.utils.set_random_seed(5)
    scratch = keras.models.clone_model(parents[0])
    assert not all(np.allclose(s, c, atol=1e-5) for s, c, w in zip(scratch.get_weights(), children[0].get_weights(),
                                                                    scratch.weights) if w.trainable)


def test_epochs_draw_pseudo_labels_as_a_share_and_cycle_through_them():
    from saltviewer.training.data import TileBatches

    x = np.zeros((130, 101, 101, 1), np.uint8)
    y = np.zeros((130, 101, 101), bool)
    labelled, pseudo = np.arange(30), np.arange(30, 130)
    batches = TileBatches(x, y, batch_size=8, augment=False, indices=labelled, pseudo_indices=pseudo,
                          epoch_tiles=30, from_pseudo=10, seed=0)
    assert len(batches) == 4
    seen = []
    for _ in range(10):
        order = batches.order
        assert len(order) == 30 and np.isin(order, pseudo).sum() == 10
        assert len(set(order[np.isin(order, labelled)])) == 20          # no labelled tile twice in an epoch
        seen.extend(order[np.isin(order, pseudo)])
        batches.on_epoch_end()
    assert sorted(seen) == sorted(list(pseudo))                       # 10 epochs x 10: every pseudo-label once
    # the default: every tile once per epoch
    plain = TileBatches(x, y, batch_size=8, augment=False, indices=labelled, pseudo_indices=pseudo)
    assert sorted(plain.order) == list(range(130))
