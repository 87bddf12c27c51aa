"""The demo: the whole loop on a small synthetic sample, with a tiny recipe."""

import pytest

from saltviewer import Workspace, open_dataset
from saltviewer.recipe import TrainingRecipe

#: Two one-fold versions on 64-pixel inputs: what costs is tracing each fold's step, not the epochs.
TINY = tuple(TrainingRecipe.from_scratch(folds=1, epochs=1, width=4, seed=seed, input_size=64, resize_mode="resize")
             for seed in (1, 2))


def test_demo_trains_predicts_proposes_and_finds_mosaics_then_reuses_them(tmp_path):
    from saltviewer.training.demo import run_demo
    from saltviewer.mosaic import load_mosaics
    from saltviewer.store import CurationStore

    said = []
    result = run_demo(tmp_path / "demo", n_train=40, n_test=24, seed=3, recipe=TINY, say=said.append)
    assert said[0].startswith("1/5 making a synthetic sample")
    assert any(line.endswith(f"of {40 + 24} tiles") and "mosaics covering" in line for line in said)
    dataset = open_dataset(result.data)
    assert len(dataset) == 64
    workspace = Workspace(result.workspace)
    assert workspace.versions() == result.versions and len(result.versions) == 2
    for version, recipe in zip(result.versions, TINY):
        assert workspace.has_predictions(version, dataset)
        assert TrainingRecipe.from_card(workspace.card(version)).seed == recipe.seed
        assert 0.0 <= result.scores[version] <= 1.0
    store = CurationStore(workspace.store_path)
    counts = store.counts(dataset)
    assert sum(n for states in counts.values() for n in states.values()) > 0, counts   # items were queued
    mosaics = load_mosaics(workspace, dataset)
    assert len(mosaics) == result.n_mosaics and result.n_mosaics > 0
    assert result.seconds["total"] > 0

    said.clear()
    again = run_demo(tmp_path / "demo", n_train=40, n_test=24, seed=3, recipe=TINY, say=said.append)
    assert again.versions == result.versions                  # nothing retrained
    assert said[0].startswith("1/5 using the synthetic sample already")
    assert not any(line.startswith("2/5") or line.startswith("3/5") for line in said)


def test_demo_refuses_a_folder_that_is_not_its_own(tmp_path):
    from saltviewer._errors import SaltviewerError
    from saltviewer.training.demo import run_demo

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "notes.txt").write_text("mine")
    with pytest.raises(SaltviewerError, match="not a demo sample"):
        run_demo(tmp_path, recipe=TINY, say=None)
    assert (tmp_path / "data" / "notes.txt").read_text() == "mine"
    (tmp_path / "file").write_text("x")
    with pytest.raises(SaltviewerError, match="is a file"):
        run_demo(tmp_path / "file", recipe=TINY, say=None)


def test_demo_verb_checks_its_arguments_and_opens_the_viewer_in_its_own_process(tmp_path, monkeypatch, capsys):
    import shutil
    import sys

    from saltviewer.cli import main
    from saltviewer.cli.demo import view_command

    assert main(["demo", "--out", str(tmp_path), "--epochs", "0"]) == 1
    assert "--epochs must be at least 1" in capsys.readouterr().err

    command = view_command("D", "W", "shot.png", display=":1")
    assert command[:3] == [sys.executable, "-m", "saltviewer"]
    assert command[3:] == ["view", "D", "--workspace", "W", "--screenshot", "shot.png"]
    if shutil.which("xvfb-run"):
        headless = view_command("D", "W", display="")
        assert headless[0].endswith("xvfb-run") and headless[-4:] == ["view", "D", "--workspace", "W"]
    monkeypatch.setenv("PATH", str(tmp_path))               # no xvfb-run to be found
    from saltviewer._errors import SaltviewerError

    with pytest.raises(SaltviewerError, match="no display"):
        view_command("D", "W", display="")
