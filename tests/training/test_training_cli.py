"""The train and predict verbs end to end: sample -> train -> predict -> submission -> score."""

import subprocess
import sys

import pytest

from saltviewer import Workspace, read_submission
from saltviewer.cli import main


def test_train_predict_submission_score(sample_dir, tmp_path, capsys):
    ws = tmp_path / "ws"
    code = main(["train", str(sample_dir), "--workspace", str(ws), "--encoder", "small", "--epochs", "1",
                 "--folds", "2", "--width", "4", "--batch-size", "16"])
    out = capsys.readouterr().out
    assert code == 0
    assert "version: v0001" in out and "oof score: " in out
    card = Workspace(ws).card("v0001")
    assert card["epochs"] == 1 and card["folds"] == 2 and len(card["fold_models"]) == 2

    submission = tmp_path / "submission.csv"
    code = main(["predict", str(sample_dir), "--workspace", str(ws), "--models", "latest",
                 "--submission", str(submission)])
    out = capsys.readouterr().out
    assert code == 0 and "v0001:" in out and "submission:" in out
    assert len(read_submission(submission)) == 20            # the sample's test tiles

    # `saltviewer score` accepts a submission of the labelled tiles.
    train_csv = tmp_path / "train_pred.csv"
    assert main(["predict", str(sample_dir), "--workspace", str(ws), "--split", "train", "--no-tta",
                 "--submission", str(train_csv)]) == 0
    capsys.readouterr()
    assert len(read_submission(train_csv)) == 60             # the sample's labelled tiles
    assert main(["score", str(train_csv), "--truth", str(sample_dir)]) == 0
    out = capsys.readouterr().out
    assert "scored 60 tiles" in out and "(scored as empty): 0" in out and "score: " in out


def test_errors_are_one_line(sample_dir, tmp_path, capsys):
    assert main(["train", str(sample_dir), "--workspace", str(tmp_path / "ws"), "--encoder", "xception",
                 "--encoder-weights", "imagenet", "--epochs", "1"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and ("--encoder-weights none" in err or "imagenet" in err)
    assert main(["predict", str(sample_dir), "--workspace", str(tmp_path / "empty")]) == 1
    assert "no model versions yet" in capsys.readouterr().err


def test_help_lists_the_verbs_without_importing_keras():
    code = ("import sys; from saltviewer.cli import build_parser; build_parser(); "
            "import saltviewer.training; print('keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_train_base_fine_tunes_with_the_accepted_pseudo_labels(tiny_version, sample_dir, tmp_path, capsys):
    """`train --base latest --pseudo-labels accepted`: the card names the parent, what was used, the recipe.
    The parent v0001 is the session's tiny version (2 folds; tests/training/conftest.py)."""
    import numpy as np

    from saltviewer import CurationStore, open_dataset
    from saltviewer.recipe import TrainingRecipe
    from tiny_versions import copy_version

    ws = copy_version(tiny_version, tmp_path / "ws").path
    assert Workspace(ws).versions() == ["v0001"] and tiny_version.card["folds"] == 2
    tiny = ["--width", "4", "--batch-size", "16"]
    dataset = open_dataset(sample_dir)
    drawn = np.zeros((101, 101), bool)
    drawn[60:] = True
    from saltviewer.store import Proposal

    unseen = dataset.ids[int(dataset.indices("test")[2])]
    with CurationStore(Workspace(ws).store_path) as store:
        for i in dataset.indices("test")[:2]:
            store.correct(dataset, dataset.ids[i], drawn)                       # reviewed: labels
        store.correct(dataset, dataset.ids[int(dataset.indices("train")[0])], drawn, kind="label")
        store.propose(dataset, [Proposal(unseen, drawn, "confident-salt", "agree", ("v0001",))])
        assert store.accept_all(dataset, 0.0, tiles=[unseen]) == [unseen]       # unseen: a pseudo-label
    code = main(["train", str(sample_dir), "-w", str(ws), "--base", "latest", "--pseudo-labels", "accepted",
                 "--epochs", "1", "--swa-epochs", "0", *tiny])
    out = capsys.readouterr().out
    assert code == 0
    assert "version: v0002 (fine-tuned from v0001)" in out
    assert ("trained on: 60 labelled tiles, 2 reviewed tiles as labels, 1 unreviewed pseudo-labels, "
            "1 corrected training masks") in out
    assert "reviewed tiles joined the labels: 2 (in their folds, full weight; 2 new since the parent" in out
    assert "unreviewed pseudo-labels (accepted unseen): 1, weight 0.5" in out
    assert "parent v0001 on the same 60 tiles:" in out and ", this version " in out
    card = Workspace(ws).card("v0002")
    assert card["parent"] == "v0001" and card["folds"] == 2 and card["epochs"] == 1
    assert card["pseudo_labels"]["count"] == 1 and card["label_corrections"]["count"] == 1
    reviewed = [dataset.ids[i] for i in dataset.indices("test")[:2]]
    from saltviewer.training.labels import stable_fold

    assert card["reviewed_labels"]["tiles"] == {tile: stable_fold(tile, 2) for tile in reviewed}
    with np.load(Workspace(ws).version_dir("v0002") / "oof.npz") as oof:       # they validate in their folds
        folds = dict(zip(oof["ids"], oof["folds"]))
    assert {tile: int(folds[tile]) for tile in reviewed} == card["reviewed_labels"]["tiles"]
    recipe = TrainingRecipe.from_card(card)
    assert recipe.epoch_tiles == "labelled" and recipe.max_lr == TrainingRecipe.fine_tune().max_lr
    assert card["parent_oof_score"]["tiles"] == 60


def test_train_names_the_flag_of_a_bad_setting(sample_dir, tmp_path, capsys):
    assert main(["train", str(sample_dir), "-w", str(tmp_path / "ws"), "--pseudo-fraction", "1.5"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--pseudo-fraction: pseudo_fraction must be a number in [0, 1)" in err
    assert main(["train", str(sample_dir), "-w", str(tmp_path / "ws"), "--epochs", "0"]) == 1
    assert "--epochs: epochs must be an integer of at least 1, got 0" in capsys.readouterr().err
    assert main(["train", str(sample_dir), "-w", str(tmp_path / "ws"), "--context", "--resize-mode", "resize"]) == 1
    assert "--resize-mode: resize_mode must be 'pad' with context" in capsys.readouterr().err
