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
