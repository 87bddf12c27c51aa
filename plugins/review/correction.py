"""Assisted corrections: start the edit from a model's mask, the consensus at a chosen threshold or
the current mask, then clean it up in one key (fill holes, remove specks, smooth, clear).

`CorrectionTools` is the row of controls in the Review dock; it only says what the person
asked for (signals). The dock applies it to the editable labels layer with `set_mask`,
which writes through napari's labels history, so each start and each cleanup is one step
of Ctrl+Z, like a brush stroke.
"""

import numpy as np
from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import (QGridLayout, QHBoxLayout, QLabel, QPushButton, QSlider, QSpinBox, QToolButton,
                            QWidget)

from ..common.style import version_colour

__all__ = ["CorrectionTools", "set_mask", "BRUSH_SIZE", "THRESHOLD_COLOUR"]

#: Brush diameter for a 101-pixel tile: a salt boundary is traced in a few strokes, a speck erased in one click.
BRUSH_SIZE = 5
#: Colour of the consensus outline at the slider's threshold (the outline follows the slider).
THRESHOLD_COLOUR = "#00e5ff"


def set_mask(layer, mask):
    """Put `mask` into a labels layer as one undoable step (Ctrl+Z takes it back).

    Parameters
    ----------
    layer : napari.layers.Labels
    mask : (H, W) ndarray of bool

    Returns
    -------
    changed : int
        Pixels that changed.
    """
    new = np.asarray(mask, bool).astype(np.asarray(layer.data).dtype)
    changed = np.nonzero(np.asarray(layer.data) != new)
    if len(changed[0]):
        layer.data_setitem(changed, new[changed])
    return int(len(changed[0]))


class CorrectionTools(QWidget):
    """Start-from buttons, the consensus threshold slider and the cleanup buttons.

    Signals
    -------
    start_from(str)
        A model version's name, ``"consensus"`` (at the slider's threshold) or ``"current"``.
    threshold_changed(float)
    cleanup(str)
        ``"fill_holes"``, ``"remove_specks"``, ``"smooth"`` or ``"clear"``.
    """

    start_from = Signal(str)
    threshold_changed = Signal(float)
    cleanup = Signal(str)

    def __init__(self, keys=None, parent=None):
        super().__init__(parent)
        keys = keys or {}
        self.sources = QHBoxLayout()
        self.sources.setSpacing(4)
        self.sources.addWidget(QLabel("Start from"))
        self.source_buttons = {}
        self._versions = ()
        self.current_button = self._source_button("current", "the mask in force (or the proposal, the "
                                                  "training mask) as the tile was shown")
        self.sources.addStretch(1)

        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(5, 95)
        self.slider.setValue(50)
        self.slider.setToolTip("Threshold of the consensus probability; its outline (cyan) follows the slider")
        self.slider.valueChanged.connect(self._on_slider)
        self.threshold_label = QLabel("0.50")
        self.threshold_label.setMinimumWidth(self.threshold_label.fontMetrics().horizontalAdvance("0.00") + 4)
        self.use_consensus = QPushButton(f"Use consensus [{keys.get('use_consensus', 'T')}]")
        self.use_consensus.setToolTip("Put the consensus at this threshold into the edited mask (Ctrl+Z takes it back)")
        self.use_consensus.clicked.connect(lambda: self.start_from.emit("consensus"))
        threshold = QHBoxLayout()
        label = QLabel("Consensus ≥")
        label.setStyleSheet(f"color: {THRESHOLD_COLOUR};")
        threshold.addWidget(label)
        threshold.addWidget(self.slider, 1)
        threshold.addWidget(self.threshold_label)
        threshold.addWidget(self.use_consensus)

        self.speck_size = QSpinBox()
        self.speck_size.setRange(1, 2000)
        self.speck_size.setValue(20)
        self.speck_size.setSuffix(" px")
        self.speck_size.setToolTip("Remove specks: salt regions smaller than this many pixels")
        self.cleanup_buttons = {}
        cleanups = QGridLayout()
        cleanups.setHorizontalSpacing(4)
        cleanups.setVerticalSpacing(3)
        for action, text, tip, row, column in (
                ("fill_holes", "Fill holes", "Fill the holes enclosed by salt", 0, 0),
                ("smooth", "Smooth", "Round off a ragged outline", 0, 1),
                ("clear", "Clear", "Clear the edited mask", 0, 2),
                ("remove_specks", "Remove specks", "Remove salt regions smaller than the size beside", 1, 0)):
            key = keys.get(action, "")
            button = QPushButton(f"{text} [{key}]" if key else text)
            button.setToolTip(f"{tip} (Ctrl+Z takes it back)")
            button.setFocusPolicy(Qt.NoFocus)
            button.clicked.connect(lambda _=False, action=action: self.cleanup.emit(action))
            self.cleanup_buttons[action] = button
            cleanups.addWidget(button, row, column)
        smaller = QHBoxLayout()
        smaller.addWidget(QLabel("smaller than"))
        smaller.addWidget(self.speck_size, 1)
        cleanups.addLayout(smaller, 1, 1, 1, 2)

        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setVerticalSpacing(3)
        layout.addLayout(self.sources, 0, 0)
        layout.addLayout(threshold, 1, 0)
        layout.addLayout(cleanups, 2, 0)
        for button in (self.use_consensus,):
            button.setFocusPolicy(Qt.NoFocus)

    def _source_button(self, name, tip, colour=None):
        button = QToolButton()
        button.setText(name)
        button.setToolTip(f"Start the edit from {tip} (Ctrl+Z takes it back)")
        button.setFocusPolicy(Qt.NoFocus)
        if colour:
            button.setStyleSheet(f"QToolButton {{ color: {colour}; }}")
        button.clicked.connect(lambda _=False, name=name: self.start_from.emit(name))
        self.sources.addWidget(button)
        self.source_buttons[name] = button
        return button

    @property
    def threshold(self):
        return self.slider.value() / 100

    def set_threshold(self, value, quiet=True):
        """Move the slider (by default without emitting `threshold_changed`)."""
        self.slider.blockSignals(quiet)
        self.slider.setValue(int(round(float(value) * 100)))
        self.slider.blockSignals(False)
        self.threshold_label.setText(f"{self.threshold:.2f}")

    def set_versions(self, versions):
        """One start-from button per model version, in its outline's colour."""
        versions = tuple(versions)
        if versions == self._versions:
            return
        for name in self._versions:
            button = self.source_buttons.pop(name)
            self.sources.removeWidget(button)
            button.setParent(None)
            button.deleteLater()
        for position, name in enumerate(versions):
            button = self._source_button(name, f"{name}'s mask", version_colour(position))
            self.sources.insertWidget(1 + position, button)
        self._versions = versions
        self.use_consensus.setEnabled(bool(versions))
        self.slider.setEnabled(bool(versions))

    def _on_slider(self, value):
        self.threshold_label.setText(f"{value / 100:.2f}")
        self.threshold_changed.emit(value / 100)
