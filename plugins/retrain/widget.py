"""Retrain widget: train a new model version in a worker thread, watch it learn, compare scores.

Training runs from a napari worker thread, which drives a child Python process where
TensorFlow/Keras are imported (never in the viewer's process, see `train_process`):
napari's progress bar advances per batch, the plot adds loss and
validation score per epoch, and Cancel stops at the next batch without writing anything.
A finished version is registered, the unlabelled pool is re-predicted (in a second worker),
the review queue refreshes, and the widget shows the new score beside the parent's.
"""

import threading

from qtpy.QtCore import QObject, QSize, Qt, Signal
from qtpy.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
                            QPushButton, QSizePolicy, QSpinBox, QVBoxLayout, QWidget)

from ..common.data_bar import DataBar
from .plot import CurvePlot
from .retraining import RetrainOptions, compare_scores, encoder_names, progress_position, run_in_process
from ..common.session import notify_error, notify_info, session_for
from ..common.settings import load_settings, save_settings

__all__ = ["RetrainWidget"]


class _Relay(QObject):
    """Carries progress events from the worker thread to the GUI thread (queued signal)."""

    event = Signal(object)


class RetrainWidget(QWidget):
    """Retrain a model version (dock it from Plugins > saltviewer > Retrain).

    Parameters
    ----------
    napari_viewer : napari.Viewer

    Attributes
    ----------
    extra_options : dict
        More keyword arguments for `saltviewer.training.train_model` (tests set a tiny
        model here: ``{"width": 4, "input_size": 32}``).
    """

    #: Emitted with the `Outcome` when training (and prediction) ended, however it ended.
    finished = Signal(object)

    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)
        self.extra_options = {}
        self._fresh_combo = True
        self._pseudo_count = 0
        self._reviewed = set()
        self._advice = None
        self.predict_after = True
        self.worker = None
        self.cancel_event = None
        self.progress = None
        self._done = 0
        self._relay = _Relay(self)
        self._relay.event.connect(self._on_event)
        settings = load_settings().get("retrain", {})
        self._build(settings)
        self.session.changed.connect(self._on_session_changed)
        self.session.versions_changed.connect(self._on_session_changed)
        self.session.decisions_changed.connect(self._update_pseudo_count)
        if not self.session.is_open:
            self.session.open_remembered()
        self._on_session_changed()

    def _build(self, settings):
        self.data_bar = DataBar(self.session, self)
        self.encoder_combo = QComboBox()
        self.encoder_combo.addItems(encoder_names())
        self.encoder_combo.setCurrentText(settings.get("encoder", "small"))
        self.encoder_combo.setToolTip("small and resnet34 train from scratch; resnet50 and xception are "
                                      "keras.applications backbones")
        self.epochs_spin = QSpinBox()
        self.epochs_spin.setRange(1, 1000)
        self.epochs_spin.setToolTip("Epochs per fold (BCE + Dice for the first half, Lovasz hinge for the rest). "
                                    "A fine-tune's epoch is as long as the labelled tiles, a third of it "
                                    "pseudo-labels, so its time does not grow with the pool.")
        self.folds_spin = QSpinBox()
        self.folds_spin.setRange(1, 10)
        self.folds_spin.setToolTip("k-fold cross-validation; the version is the ensemble of its k fold models "
                                   "(1: one model, a fifth of the labelled tiles held out). A fine-tune keeps "
                                   "its parent's folds.")
        self.budget_spin = QDoubleSpinBox()
        self.budget_spin.setRange(0, 24 * 60)
        self.budget_spin.setDecimals(0)
        self.budget_spin.setSuffix(" min")
        self.budget_spin.setSpecialValueText("no limit")
        self.budget_spin.setValue(float(settings.get("budget", 0)))
        self.budget_spin.setToolTip("Wall-time budget: each fold stops when its share runs out and keeps its best weights")
        self.pseudo_check = QCheckBox("use reviewed tiles and pseudo-labels")
        self.pseudo_check.setToolTip("Tiles a person decided while seeing them (one by one, on a grid page, in a "
                                     "mosaic, or corrected) train as labels; tiles accepted unseen in a batch train "
                                     "as pseudo-labels, at half a label's weight and at most a third of an epoch.")
        self.pseudo_check.setChecked(bool(settings.get("pseudo_labels", True)))
        self.context_check = QCheckBox("context from the mosaics")
        self._scratch_context = bool(settings.get("context", False))
        self.context_check.setChecked(self._scratch_context)
        self.context_check.setToolTip("Context: each tile goes in with 14 pixels of its placed mosaic neighbours "
                                      "around it instead of mirrored (the mosaics are assembled first if the "
                                      "workspace has none). A fine-tune keeps its parent's choice.")
        self.base_combo = QComboBox()
        self.base_combo.setToolTip("Fine-tune from this version (the default: the newest; a short run that keeps "
                                   "its folds), or train from scratch (the long recipe)")
        self.estimate_label = QLabel("")
        self.estimate_label.setWordWrap(True)
        self.estimate_label.setStyleSheet("color: #c8c8c8;")
        self.advice_label = QLabel("")
        self.advice_label.setWordWrap(True)
        self.advice_label.setStyleSheet("color: #9fd3ff;")
        form = QFormLayout()
        form.addRow("Encoder", self.encoder_combo)
        form.addRow("Epochs", self.epochs_spin)
        form.addRow("Folds", self.folds_spin)
        form.addRow("Budget", self.budget_spin)
        form.addRow("Start from", self.base_combo)
        form.addRow("", self.pseudo_check)
        form.addRow("", self.context_check)

        self.base_combo.currentIndexChanged.connect(self._on_base_changed)
        for spin in (self.epochs_spin, self.folds_spin, self.budget_spin):
            spin.valueChanged.connect(self._update_estimate)
        self.pseudo_check.toggled.connect(self._update_estimate)
        self.encoder_combo.currentIndexChanged.connect(self._update_estimate)

        self.train_button = QPushButton("Retrain")
        self.train_button.setToolTip("Train a new model version; existing versions are never changed")
        self.train_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop at the next batch; nothing is written, every existing model is kept")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        buttons = QHBoxLayout()
        buttons.addWidget(self.train_button, 2)
        buttons.addWidget(self.cancel_button, 1)

        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        self.result_label = QLabel("")
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.result_label.setStyleSheet("font-weight: bold;")
        self.plot = CurvePlot(self)

        settings_box = QGroupBox("New version")
        # the settings, the estimate and the advice keep the height they need; the curve takes the rest
        settings_box.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Fixed)
        settings_layout = QVBoxLayout(settings_box)
        settings_layout.addLayout(form)
        # the estimate and the advice take the box's whole width and the lines they need
        settings_layout.addWidget(self.estimate_label)
        settings_layout.addWidget(self.advice_label)
        settings_layout.addLayout(buttons)
        progress_box = QGroupBox("Progress")
        progress_layout = QVBoxLayout(progress_box)
        progress_layout.addWidget(self.status_label)
        progress_layout.addWidget(self.plot, 1)
        progress_layout.addWidget(self.result_label)

        layout = QVBoxLayout(self)
        layout.addWidget(self.data_bar)
        layout.addWidget(settings_box)
        layout.addWidget(progress_box, 1)
        self.setMinimumWidth(360)

    def sizeHint(self):
        return QSize(420, 600)

    # ------------------------------------------------------------------ session
    def _on_session_changed(self, *_):
        from .retraining import version_score

        workspace = self.session.workspace
        current = self.base_combo.currentData()
        self._update_pseudo_count()          # what is new decides the recommended preset
        self.base_combo.blockSignals(True)
        self.base_combo.clear()
        self.base_combo.addItem("scratch (no parent)", None)
        if workspace is not None:
            for version in reversed(workspace.versions()):
                card = workspace.card(version)
                score = version_score(card)
                label = f"{version}  ({card.get('encoder', '?')}, {'n/a' if score is None else f'{score:.3f}'})"
                self.base_combo.addItem(label, version)
        index = self.base_combo.findData(current)
        if index < 0 or (current is None and self._fresh_combo):
            # what the dock recommends: a fine-tune of the newest version, unless enough is new
            index = 1 if self.base_combo.count() > 1 and self._recommended() != "scratch" else 0
        self._fresh_combo = self.base_combo.count() <= 1
        self.base_combo.setCurrentIndex(index)
        self.base_combo.blockSignals(False)
        self._on_base_changed()
        self._update_pseudo_count()
        running = self.worker is not None
        self.train_button.setEnabled(self.session.is_open and not running)
        if not self.session.is_open:
            self.status_label.setText("Open a data folder and a workspace (Open… above) to train.")
        elif not running and not self.status_label.text():
            n = int(self.session.dataset.has_mask.sum())
            self.status_label.setText(f"{n:,} labelled tiles to train on.")

    def _on_base_changed(self, *_):
        """Fill the form with the preset of the choice: a fine-tune of the version, or from scratch."""
        from saltviewer.recipe import TrainingRecipe

        version = self.base_combo.currentData()
        for spin in (self.epochs_spin, self.folds_spin):
            spin.blockSignals(True)
        if version and self.session.workspace is not None:
            card = self.session.workspace.card(version)
            preset = TrainingRecipe.fine_tune()
            if card.get("encoder"):
                self.encoder_combo.setCurrentText(card["encoder"])
            self.folds_spin.setValue(int(card.get("folds") or preset.folds))
            if self.context_check.isEnabled():        # the choice for a run from scratch, kept for later
                self._scratch_context = self.context_check.isChecked()
            self.context_check.setChecked(bool(card.get("context")))
        else:
            preset = TrainingRecipe.from_scratch()
            self.folds_spin.setValue(preset.folds)
            self.context_check.setChecked(self._scratch_context)
        self.epochs_spin.setValue(preset.epochs)
        for spin in (self.epochs_spin, self.folds_spin):
            spin.blockSignals(False)
        running = self.worker is not None
        self.encoder_combo.setEnabled(not version and not running)
        self.folds_spin.setEnabled(not version and not running)
        self.context_check.setEnabled(not version and not running)
        self.train_button.setText(f"Fine-tune {version}" if version else "Train from scratch")
        self._update_estimate()

    def _update_estimate(self, *_):
        from .retraining import estimate_line

        if not self.session.is_open:
            self.estimate_label.setText("")
            return
        try:
            text = estimate_line(self.options(), self.session.dataset, self.session.workspace, self._pseudo_count,
                                 getattr(self, "_reviewed", set()))
        except Exception as error:      # a setting the recipe refuses: say which
            text = f"Cannot train with these settings: {error}"
        self.estimate_label.setText(text)

    def _update_pseudo_count(self, *_):
        if not self.session.is_open:
            self.pseudo_check.setText("use reviewed tiles and pseudo-labels")
            self.advice_label.setText("")
            return
        try:
            curated = self.session.store.curated(self.session.dataset, kinds=("pseudo",))
            reviewed = {tile for tile, c in curated.items() if c[4]}
            unseen = len(curated) - len(reviewed)
        except Exception:   # a store another program holds locked: the counts are only a hint
            reviewed, unseen = None, None
        if reviewed is None:
            self.pseudo_check.setText("use reviewed tiles and pseudo-labels")
        else:
            self.pseudo_check.setText(f"use {len(reviewed):,} reviewed tiles, {unseen:,} pseudo-labels")
        self._reviewed = reviewed or set()
        self._pseudo_count = unseen or 0
        self._update_advice()
        self._update_estimate()

    def _recommended(self):
        """The preset the dock recommends now (``"fine-tune"`` or ``"scratch"``), or None."""
        return getattr(self, "_advice", None)

    def _update_advice(self):
        from .retraining import recommendation

        self._advice = None
        if not self.session.is_open:
            self.advice_label.setText("")
            return
        try:
            advice, _, text = recommendation(self.session.dataset, self.session.workspace,
                                             getattr(self, "_reviewed", set()), self._pseudo_count)
        except Exception as error:   # an unreadable card: the advice is only a hint
            self.advice_label.setText(f"No recommendation: {error}")
            return
        self._advice = advice.preset
        self.advice_label.setText(text)

    def options(self):
        """The `RetrainOptions` the form holds."""
        budget = self.budget_spin.value()
        base = self.base_combo.currentData()
        return RetrainOptions(encoder=None if base else self.encoder_combo.currentText(),
                              epochs=self.epochs_spin.value(), folds=self.folds_spin.value(),
                              pseudo_labels=self.pseudo_check.isChecked(), base_version=base,
                              budget_minutes=budget or None, context=None if base else self.context_check.isChecked(),
                              extra=dict(self.extra_options))

    # ------------------------------------------------------------------ running
    @property
    def running(self):
        return self.worker is not None

    def start(self):
        """Start training in a worker thread (returns at once)."""
        from napari.qt.threading import create_worker
        from napari.utils import progress

        if self.running or not self.session.is_open:
            return
        options = self.options()
        save_settings(retrain={"encoder": self.encoder_combo.currentText(), "pseudo_labels": options.pseudo_labels,
                               "budget": self.budget_spin.value(), "context": self.context_check.isChecked()})
        self.cancel_event = threading.Event()
        # closing the viewer mid-run stops the child at its next batch
        self.destroyed.connect(lambda *_, cancel=self.cancel_event: cancel.set())
        self._job = (self.session.dataset, self.session.workspace)
        self.plot.preload()
        self.plot.clear("Waiting for the first epoch…")
        self.result_label.setText("")
        self.status_label.setText("Starting: loading TensorFlow in a separate process (about 10 s)…")
        self._done = 0
        self._set_running(True)
        self._close_progress()
        self.progress = progress(total=0, desc="Retrain: loading TensorFlow")    # shown at once, indeterminate
        task = "retrain" if self.predict_after else "train"
        worker = create_worker(run_in_process, task, self.session.dataset, self.session.workspace,
                               options=options, on_progress=self._relay.event.emit, cancel=self.cancel_event,
                               _ignore_errors=True)
        worker.returned.connect(self._on_trained)
        worker.errored.connect(self._on_crashed)
        self.worker = worker
        worker.start()

    def cancel(self):
        """Stop the run: at the next batch, or by ending its process within about 3 s."""
        if self.cancel_event is not None and self.running:
            self.cancel_event.set()
            self.cancel_button.setEnabled(False)
            self.status_label.setText("Cancelling…")

    def _set_running(self, running):
        self.train_button.setEnabled(not running and self.session.is_open)
        self.cancel_button.setEnabled(running)
        for widget in (self.encoder_combo, self.epochs_spin, self.folds_spin, self.budget_spin, self.pseudo_check,
                       self.context_check, self.base_combo, self.data_bar.open_button):
            widget.setEnabled(not running)
        if not running:
            version = self.base_combo.currentData()
            self.encoder_combo.setEnabled(not version)
            self.folds_spin.setEnabled(not version)
            self.context_check.setEnabled(not version)

    def _on_event(self, event):
        from napari.utils import progress

        kind = event.kind
        if kind == "trained":
            self._on_version_written(event.message)
        elif kind == "phase":
            self.status_label.setText(f"{event.message[:1].upper()}{event.message[1:]}…")
        elif kind == "batch":
            if event.n_epochs:        # training: positions within folds and epochs
                done, total = progress_position(event)
                text = (f"fold {event.fold + 1}/{max(event.n_folds, 1)} · epoch {event.epoch + 1}/{event.n_epochs} · "
                        f"batch {event.batch + 1}/{event.n_batches}")
                desc = f"Training fold {event.fold + 1}/{max(event.n_folds, 1)}"
            else:                     # prediction: tiles done of tiles to do
                done, total = int(event.batch), int(event.n_batches)
                text = f"predicting {event.message}: {done:,}/{total:,} tiles"
                desc = f"Predicting with {event.message}"
            if self.progress is None or self.progress.total != total:
                self._close_progress()
                self.progress = progress(total=total, desc=desc)
                self._done = 0
            elif self.progress.desc != desc:
                self.progress.set_description(desc)
            if done > self._done:
                self.progress.update(done - self._done)
                self._done = done
            if "loss" in event.logs:
                text += f" · loss {event.logs['loss']:.3f}"
            self.status_label.setText(text)
        elif kind == "epoch":
            self.plot.add_epoch(event.logs, fold=event.fold, n_folds=event.n_folds)
        elif kind == "fold":
            score = event.logs.get("val_score")
            if score is not None:
                self.status_label.setText(f"fold {event.fold + 1}/{event.n_folds} done: validation {score:.3f}")

    def _close_progress(self):
        if self.progress is not None:
            self.progress.close()
            self.progress = None

    def _on_crashed(self, error):
        # train_version and predict_pool catch their errors; this is a last resort (traceback to WS/logs).
        from ..common.log import error_message
        from .retraining import Outcome

        line, _ = error_message(f"retraining failed: {type(error).__name__}: {error}", error,
                                (getattr(self, "_job", None) or (None, None))[1], "retrain")
        self._finish(Outcome("failed", message=line))

    def _on_trained(self, outcome):
        self._finish(outcome)

    def _on_version_written(self, version):
        """The new version exists (prediction may still run): show its score, tell the other widgets."""
        self._close_progress()
        self.result_label.setText(self._result_text(version))
        if self.session.workspace is self._job[1]:
            self.session.versions_changed.emit()
        if self.predict_after:
            self.status_label.setText(f"{version} written; predicting the unlabelled pool…")

    def _result_text(self, version):
        from .retraining import training_data_line

        workspace = self._job[1]
        return f"{compare_scores(workspace, version)}\n{training_data_line(workspace.card(version))}"

    def _finish(self, outcome):
        self._close_progress()
        self.worker = None
        self._set_running(False)
        if outcome.version is not None:
            self.result_label.setText(self._result_text(outcome.version))
            if self.session.workspace is self._job[1]:
                self.session.versions_changed.emit()
                self.session.decisions_changed.emit(None)
        if outcome.status == "done":
            self.status_label.setText(outcome.message[:1].upper() + outcome.message[1:] + ".")
            notify_info(f"saltviewer: {outcome.message}")
        elif outcome.status == "cancelled":
            self.status_label.setText(outcome.message[:1].upper() + outcome.message[1:])
            notify_info(f"saltviewer: {outcome.message}")
        else:
            self.status_label.setText(outcome.message)
            notify_error(f"saltviewer: {outcome.message}")
        self._on_session_changed()
        self.finished.emit(outcome)
