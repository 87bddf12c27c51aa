"""The Retrain widget with real (tiny) Keras training in its child process, under a real napari viewer."""

import time

import numpy as np
import pytest
from qtpy.QtCore import Qt, QTimer


#: A model small enough to train an epoch on the 60 labelled sample tiles in seconds.
TINY = {"width": 4, "batch_size": 16, "seed": 1}


@pytest.fixture
def retrain(make_napari_viewer, sample_dir, tmp_path):
    viewer = make_napari_viewer()
    from saltviewer.plugins.common.session import session_for

    session_for(viewer).open(sample_dir, tmp_path / "ws")
    _, widget = viewer.window.add_plugin_dock_widget("saltviewer", "Retrain")
    widget.extra_options = dict(TINY)
    widget.encoder_combo.setCurrentText("small")
    widget.folds_spin.setValue(1)
    return viewer, widget


def _wait_finished(qtbot, widget, timeout=240):
    outcomes = []
    widget.finished.connect(outcomes.append)
    qtbot.waitUntil(lambda: bool(outcomes), timeout=timeout * 1000)
    return outcomes[0]


@pytest.mark.slow
def test_one_epoch_retrain_registers_predicts_and_keeps_the_viewer_responsive(retrain, qtbot):
    viewer, widget = retrain
    _, review = viewer.window.add_plugin_dock_widget("saltviewer", "Review", tabify=True)
    workspace = widget.session.workspace
    batches = []
    widget._relay.event.connect(lambda event: batches.append(event) if event.kind == "batch" else None)
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(25)
    widget.epochs_spin.setValue(1)
    started = time.monotonic()
    widget.start()
    assert widget.running and not widget.train_button.isEnabled() and widget.cancel_button.isEnabled()
    outcome = _wait_finished(qtbot, widget)
    elapsed = time.monotonic() - started
    timer.stop()

    assert outcome.status == "done", outcome.message
    assert workspace.versions() == [outcome.version]
    card = workspace.card(outcome.version)
    assert card["epochs"] == 1 and card["folds"] == 1
    # the pool was predicted, so the review widget now sees the version
    assert workspace.has_predictions(outcome.version, widget.session.dataset)
    assert review.reviewer.versions == (outcome.version,)
    # progress: one event per batch (48 training tiles / 16), then prediction, and the curve
    train_batches = [e for e in batches if e.n_epochs]
    assert [e.batch for e in train_batches] == list(range(train_batches[0].n_batches))
    assert len(widget.plot.points) == 1 and "loss" in widget.plot.series()
    assert widget.result_label.text().startswith(f"{outcome.version}: validation")
    assert not widget.running and widget.train_button.isEnabled()
    # the event loop kept running: the timer fired through the whole run and never stalled
    # long (training holding the GUI thread would stop it for the whole run)
    assert len(ticks) > 0.3 * elapsed / 0.025
    gaps = np.diff(ticks)
    assert gaps.max() < 2.0, f"the viewer froze for {gaps.max():.2f} s"


@pytest.mark.slow
def test_cancel_midway_writes_nothing(retrain, qtbot):
    viewer, widget = retrain
    workspace = widget.session.workspace
    widget.epochs_spin.setValue(50)
    seen = []
    widget._relay.event.connect(seen.append)
    widget.start()
    qtbot.waitUntil(lambda: any(e.kind == "batch" for e in seen), timeout=180_000)
    clicked = time.monotonic()
    qtbot.mouseClick(widget.cancel_button, Qt.MouseButton.LeftButton)   # PyQt6 takes no int for an enum
    assert widget.cancel_event.is_set()
    outcome = _wait_finished(qtbot, widget, timeout=120)
    stopped = time.monotonic() - clicked
    assert outcome.status == "cancelled"
    assert stopped < 3.0, f"cancel took {stopped:.1f} s"
    assert "nothing was written" in widget.status_label.text()
    assert workspace.versions() == []
    assert [p.name for p in workspace.models_dir.iterdir()] == []     # no half-written version
    epochs_seen = {e.epoch for e in seen if e.kind == "batch"}
    assert max(epochs_seen) < 49                                         # stopped long before the end


def test_failure_ends_in_one_line_notification(make_napari_viewer, qtbot, sample_dir, tmp_path):
    import shutil

    from napari.utils.notifications import notification_manager

    from saltviewer.plugins.common.session import session_for

    data = tmp_path / "data"
    shutil.copytree(sample_dir, data)
    viewer = make_napari_viewer()
    session_for(viewer).open(data, tmp_path / "ws")
    _, widget = viewer.window.add_plugin_dock_widget("saltviewer", "Retrain")
    shutil.rmtree(data)                         # the folder goes away before training starts
    before = len(notification_manager.records)
    widget.start()
    outcome = _wait_finished(qtbot, widget, timeout=120)
    assert outcome.status == "failed"
    assert "cannot open the data" in outcome.message and "no such folder" in outcome.message
    assert "Traceback" not in outcome.message and "\n" not in outcome.message
    errors = [n for n in notification_manager.records[before:] if "cannot open the data" in str(n.message)]
    assert errors and errors[-1].severity == "error"
    assert widget.session.workspace.versions() == []
    assert widget.train_button.isEnabled() and widget.status_label.text() == outcome.message


def test_scores_are_shown_beside_the_parents(workspace):
    from saltviewer.plugins.retrain.retraining import compare_scores, version_score

    first = workspace.add_version({"encoder": "small", "oof_score": 0.795})
    assert compare_scores(workspace, first) == f"{first}: validation 0.795  ·  first version"
    child = workspace.add_version({"encoder": "small", "oof_score": 0.812, "parent": first})
    assert compare_scores(workspace, child) == f"{child}: validation 0.812  ·  parent {first}: 0.795  (+0.017)"
    same = workspace.add_version({"encoder": "small", "oof_score": 0.81, "parent": first,
                                  "parent_oof_score": {"score": 0.8, "tiles": 3200}})
    assert compare_scores(workspace, same) == (f"{same}: validation 0.810  ·  parent {first} on the same 3,200 tiles: "
                                               "0.800  (+0.010)")
    worse = workspace.add_version({"encoder": "small", "oof_score": 0.7})
    assert compare_scores(workspace, worse).endswith(f"best earlier {child}: 0.812  (-0.112)")
    assert version_score({"oof_score": float("nan")}) is None


def test_progress_counts_batches_over_folds_and_epochs():
    from types import SimpleNamespace

    from saltviewer.plugins.retrain.retraining import progress_position

    def event(fold, epoch, batch):
        return SimpleNamespace(fold=fold, n_folds=2, epoch=epoch, n_epochs=3, batch=batch, n_batches=4)

    positions = [progress_position(event(f, e, b)) for f in range(2) for e in range(3) for b in range(4)]
    assert positions == [(k + 1, 24) for k in range(24)]


@pytest.mark.slow
def test_cancel_while_tensorflow_loads_ends_the_process_at_once(retrain, qtbot):
    """Progress shows at once; a cancel before the first batch ends the child process, writing nothing."""
    viewer, widget = retrain
    workspace = widget.session.workspace
    seen = []
    widget._relay.event.connect(seen.append)
    started = time.monotonic()
    widget.start()
    assert widget.progress is not None                    # napari's activity dock shows it before any event
    qtbot.waitUntil(lambda: bool(seen), timeout=30_000)
    first = time.monotonic() - started
    assert seen[0].kind == "phase" and "TensorFlow" in seen[0].message
    assert first < 6.0, f"first progress after {first:.1f} s"
    clicked = time.monotonic()
    widget.cancel()
    outcome = _wait_finished(qtbot, widget, timeout=60)
    assert outcome.status == "cancelled", outcome.message
    assert time.monotonic() - clicked < 3.0
    assert workspace.versions() == [] and not any(workspace.models_dir.glob(".training-*"))


def test_the_form_offers_a_fine_tune_of_the_newest_version_with_its_time(make_napari_viewer, sample_dir, tmp_path):
    """With a version in the workspace the dock defaults to the fine-tune recipe (the CLI's defaults too)."""
    import json
    import shutil

    from saltviewer import Workspace
    from saltviewer.plugins.retrain.retraining import RetrainOptions, estimate_line, training_data_line
    from saltviewer.plugins.common.session import session_for
    from saltviewer.recipe import TrainingRecipe

    workspace = Workspace(tmp_path / "ws")
    card = {"encoder": "small", "folds": 3, "input_size": 128, "oof_score": 0.7, "ids_count": 60,
            "fold_details": [{"epoch_tiles": 40, "epochs_run": 24, "seconds": 60.0}] * 3,
            "pseudo_labels": {"count": 12}, "label_corrections": None, "timings": {"total_s": 200}}
    version = workspace.add_version(card)
    viewer = make_napari_viewer()
    session_for(viewer).open(sample_dir, workspace.path)
    _, widget = viewer.window.add_plugin_dock_widget("saltviewer", "Retrain")
    assert widget.base_combo.currentData() == version
    assert widget.epochs_spin.value() == TrainingRecipe.fine_tune().epochs
    assert widget.folds_spin.value() == 3 and not widget.folds_spin.isEnabled()
    assert widget.train_button.text() == f"Fine-tune {version}"
    options = widget.options()
    assert options.recipe() == TrainingRecipe.fine_tune(folds=3)
    text = widget.estimate_label.text()
    assert text.startswith("About ") and f"fine-tune of {version}" in text and "measured here" in text
    widget.base_combo.setCurrentIndex(widget.base_combo.findData(None))
    assert widget.epochs_spin.value() == TrainingRecipe.from_scratch().epochs and widget.folds_spin.isEnabled()
    assert widget.train_button.text() == "Train from scratch"
    assert "training from scratch" in widget.estimate_label.text()
    # context: the fine-tune took its parent's (none), from scratch it is the user's choice
    assert widget.context_check.isEnabled()
    widget.context_check.setChecked(True)
    assert widget.options().recipe().context is True
    widget.base_combo.setCurrentIndex(widget.base_combo.findData(version))
    assert not widget.context_check.isChecked() and not widget.context_check.isEnabled()
    assert widget.options().recipe().context is None        # train_model takes the parent's
    widget.base_combo.setCurrentIndex(widget.base_combo.findData(None))
    assert widget.context_check.isChecked()                 # the choice for a run from scratch comes back
    # the estimate follows the measured speed: 40 tiles x 24 epochs x 3 folds in 180 s
    dataset = widget.session.dataset
    slow = json.loads(json.dumps(card))
    for fold in slow["fold_details"]:
        fold["seconds"] = 600.0
    shutil.rmtree(workspace.models_dir)
    workspace.add_version(slow)
    fast_line = estimate_line(RetrainOptions(base_version=None, epochs=24, folds=3), dataset, Workspace(tmp_path / "x"), 0)
    slow_line = estimate_line(RetrainOptions(base_version=None, epochs=24, folds=3), dataset, workspace, 0)
    assert "benchmark speed" in fast_line and "measured here" in slow_line
    assert training_data_line(card) == ("trained on 60 labelled tiles, 0 reviewed tiles as labels, 12 pseudo-labels "
                                        "and 0 corrected training masks in 3.3 min")


def test_the_dock_recommends_a_fine_tune_or_a_retrain_from_what_was_reviewed_since_the_parent(
        make_napari_viewer, sample_dir, tmp_path):
    """Few tiles reviewed since the parent: a fine-tune, preselected; many: a retrain from scratch,
    preselected, with both choices' minutes and the reason in the dock."""
    from saltviewer import CurationStore, Workspace, open_dataset
    from saltviewer.plugins.common.session import session_for

    dataset = open_dataset(sample_dir)
    pool = [dataset.ids[i] for i in dataset.indices("test")]
    drawn = np.zeros((101, 101), bool)
    drawn[50:] = True

    def dock(reviewed, folder):
        workspace = Workspace(tmp_path / folder)
        workspace.add_version({"encoder": "small", "folds": 3, "input_size": 128, "oof_score": 0.7, "ids_count": 60,
                               "fold_details": [{"epoch_tiles": 40, "epochs_run": 24, "seconds": 60.0}] * 3,
                               "pseudo_labels": None, "label_corrections": None, "timings": {"total_s": 200}})
        with CurationStore(workspace.store_path) as store:
            for tile in pool[:reviewed]:
                store.correct(dataset, tile, drawn)               # drawn while shown: reviewed
        viewer = make_napari_viewer()
        session_for(viewer).open(sample_dir, workspace.path)
        _, widget = viewer.window.add_plugin_dock_widget("saltviewer", "Retrain")
        return widget

    few = dock(5, "few")
    text = few.advice_label.text()
    assert text.startswith("Recommended: fine-tune v0001.") and "5 tiles reviewed since the parent" in text
    assert "fine-tune of v0001 about" in text and "from scratch about" in text
    assert few.base_combo.currentData() == "v0001"
    assert few.pseudo_check.text() == "use 5 reviewed tiles, 0 pseudo-labels"
    assert "5 reviewed tiles as labels" in few.estimate_label.text()
    many = dock(20, "many")                                  # 20 new on the parent's 60 labels: a third...
    assert many.advice_label.text().startswith("Recommended: fine-tune")
    more = dock(20, "more")
    more.session.workspace.add_version(dict(more.session.workspace.card("v0001"), ids_count=30))
    more._on_session_changed()                               # ...but on a parent of 30 labels, two thirds
    text = more.advice_label.text()
    assert text.startswith("Recommended: retrain from scratch.") and "add 67% to its 30 labels" in text
