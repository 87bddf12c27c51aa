"""The queue part of the Review dock: filters, the table of items (why each is there, in colour), counts."""

import numpy as np
from qtpy.QtCore import Qt, QTimer, Signal
from qtpy.QtWidgets import (QAbstractItemView, QComboBox, QDoubleSpinBox, QGridLayout, QHBoxLayout, QHeaderView,
                            QLabel, QPushButton, QTableView, QToolButton, QVBoxLayout, QWidget)

from .queue_model import COLUMNS, QueueModel
from .reviewer import REASON_FILTERS, STATE_FILTERS
from ..common.settings import load_settings, save_settings

__all__ = ["QueuePanel", "SPLITS"]

SPLITS = {"all splits": None, "unlabelled (test)": "test", "labelled (train)": "train"}


def _fraction_box(value, tip):
    box = QDoubleSpinBox()
    box.setRange(0.0, 1.0)
    box.setSingleStep(0.05)
    box.setDecimals(2)
    box.setValue(value)
    box.setToolTip(tip)
    return box


class QueuePanel(QWidget):
    """Filters, the queue table and its count line.

    Signals
    -------
    filters_changed()
    tile_chosen(str)
        A row was clicked or selected with the keyboard.
    """

    filters_changed = Signal()
    tile_chosen = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        settings = load_settings()
        self._quiet = False
        self.state_combo = QComboBox()
        self.state_combo.addItems(list(STATE_FILTERS))
        self.state_combo.setCurrentText(settings.get("review_state", "to review"))
        self.state_combo.setToolTip("Which items to list: proposed ones awaiting review, decided ones, or all")
        self.split_combo = QComboBox()
        self.split_combo.addItems(list(SPLITS))
        self.split_combo.setCurrentText(settings.get("review_split", "all splits"))
        self.split_combo.setToolTip("Unlabelled tiles (pseudo-labels) or labelled tiles (training masks the "
                                    "models contradict)")
        self.reason_combo = QComboBox()
        self.reason_combo.addItems(list(REASON_FILTERS))
        self.reason_combo.setCurrentText(settings.get("review_reason", "every reason"))
        self.reason_combo.setToolTip("Why the item is queued: confident (the models agree), disputed (they "
                                     "disagree), label check, mosaic edge")
        for combo in (self.state_combo, self.reason_combo):      # never cut the chosen word
            longest = max((combo.itemText(k) for k in range(combo.count())), key=combo.fontMetrics().horizontalAdvance)
            combo.setMinimumWidth(combo.fontMetrics().horizontalAdvance(longest) + 44)   # text, arrow, padding
        self.min_score = _fraction_box(0.0, "Least disagreement listed")
        self.max_score = _fraction_box(1.0, "Most disagreement listed")
        for widget in (self.state_combo, self.split_combo, self.reason_combo):
            widget.currentTextChanged.connect(self._on_filters_changed)
        for widget in (self.min_score, self.max_score):
            widget.valueChanged.connect(self._on_filters_changed)
        filters = QGridLayout()
        filters.setHorizontalSpacing(6)
        filters.addWidget(QLabel("Show"), 0, 0)
        filters.addWidget(self.state_combo, 0, 1)
        filters.addWidget(self.split_combo, 0, 2, 1, 3)
        filters.addWidget(QLabel("Why"), 1, 0)
        filters.addWidget(self.reason_combo, 1, 1)
        filters.addWidget(QLabel("1−IoU"), 1, 2)
        filters.addWidget(self.min_score, 1, 3)
        filters.addWidget(self.max_score, 1, 4)
        filters.setColumnStretch(1, 2)
        filters.setColumnStretch(3, 1)
        filters.setColumnStretch(4, 1)
        # a filter in force is said (one restored from last time most of all), with a way back to everything
        self.filter_label = QLabel("")
        self.filter_label.setWordWrap(True)
        self.filter_label.setStyleSheet("color: #ffb74d;")
        self.clear_filters_button = QToolButton()
        self.clear_filters_button.setText("Show all")
        self.clear_filters_button.setToolTip("Every item to review: every reason, every split, any disagreement")
        self.clear_filters_button.clicked.connect(self.clear_filters)
        self.filter_note = QWidget()
        note = QHBoxLayout(self.filter_note)
        note.setContentsMargins(0, 0, 0, 0)
        note.addWidget(self.filter_label, 1)
        note.addWidget(self.clear_filters_button)
        self._restored = any(settings.get(key, value) != value for key, value in (
            ("review_state", "to review"), ("review_split", "all splits"), ("review_reason", "every reason")))

        self.model = QueueModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        header = self.table.horizontalHeader()
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        header.setSortIndicatorShown(True)
        header.setSortIndicator([c[1] for c in COLUMNS].index("disagreement"), Qt.DescendingOrder)
        self.table.setSortingEnabled(True)     # sorts at once: most disagreement first
        metrics = self.table.fontMetrics()
        samples = {"tile": "0123456789", "why": "mosaic edge", "depth": "Depth", "coverage": "Cover",
                   "disagreement": "1−IoU▼"}             # room for the sort arrow where it is now
        for column, (_, field, _) in enumerate(COLUMNS):
            if field in samples:
                header.setSectionResizeMode(column, QHeaderView.Interactive)
                header.resizeSection(column, metrics.horizontalAdvance(samples[field]) + 16)
        header.setStretchLastSection(True)
        header.setMinimumSectionSize(30)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(20)
        self.table.setMinimumHeight(120)
        self.table.setWordWrap(False)
        self.table.selectionModel().currentRowChanged.connect(self._on_row_changed)
        self.table.setToolTip("Click a row to show the tile; click a header to sort")
        header.sortIndicatorChanged.connect(self._on_sorted)

        self.count_label = QLabel("")
        self.refresh_button = QToolButton()
        self.refresh_button.setText("Refresh")
        self.refresh_button.setToolTip("Reload the queue from the curation store (decisions made elsewhere also "
                                       "arrive by themselves within a few seconds)")
        self.propose_button = QPushButton("Find candidates")
        self.propose_button.setToolTip("Score the ensemble of model versions and propose confident tiles "
                                       "as pseudo-labels (decisions already taken are kept)")
        status = QHBoxLayout()
        status.addWidget(self.count_label, 1)
        status.addWidget(self.refresh_button)
        status.addWidget(self.propose_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(filters)
        layout.addWidget(self.filter_note)
        layout.addWidget(self.table, 1)
        layout.addLayout(status)

    # ------------------------------------------------------------------ filters
    def filters(self):
        """The filters in force as keyword arguments of `Reviewer.queue`."""
        low, high = self.min_score.value(), self.max_score.value()
        return {"state": self.state_combo.currentText(), "split": SPLITS[self.split_combo.currentText()],
                "reason": self.reason_combo.currentText(),
                "min_disagreement": low if low > 0 else None, "max_disagreement": high if high < 1 else None}

    def widen(self):
        """Every state and reason listed (to find a tile the filters hide); True when something changed."""
        changed = False
        for combo, text in ((self.state_combo, "all"), (self.reason_combo, "every reason"),
                            (self.split_combo, "all splits")):
            if combo.currentText() != text:
                combo.blockSignals(True)
                combo.setCurrentText(text)
                combo.blockSignals(False)
                changed = True
        for box, value in ((self.min_score, 0.0), (self.max_score, 1.0)):
            if box.value() != value:
                box.blockSignals(True)
                box.setValue(value)
                box.blockSignals(False)
                changed = True
        return changed

    def _on_filters_changed(self, *_):
        save_settings(review_state=self.state_combo.currentText(), review_split=self.split_combo.currentText(),
                      review_reason=self.reason_combo.currentText())
        self._restored = False
        self.filters_changed.emit()

    def filters_in_force(self):
        """The filters that hide items, in words (``["why: disputed", "1−IoU ≥ 0.20"]``); empty when none."""
        parts = []
        if self.state_combo.currentText() != "to review":
            parts.append(f"show: {self.state_combo.currentText()}")
        if self.reason_combo.currentText() != "every reason":
            parts.append(f"why: {self.reason_combo.currentText()}")
        if self.split_combo.currentText() != "all splits":
            parts.append(self.split_combo.currentText())
        if self.min_score.value() > 0:
            parts.append(f"1−IoU ≥ {self.min_score.value():.2f}")
        if self.max_score.value() < 1:
            parts.append(f"1−IoU ≤ {self.max_score.value():.2f}")
        return parts

    def clear_filters(self):
        """Every item to review listed (the filters' defaults)."""
        for combo, text in ((self.state_combo, "to review"), (self.reason_combo, "every reason"),
                            (self.split_combo, "all splits")):
            combo.blockSignals(True)
            combo.setCurrentText(text)
            combo.blockSignals(False)
        for box, value in ((self.min_score, 0.0), (self.max_score, 1.0)):
            box.blockSignals(True)
            box.setValue(value)
            box.blockSignals(False)
        self._on_filters_changed()

    # ------------------------------------------------------------------ rows
    def set_table(self, table):
        self.model.set_table(table)
        self.update_count()

    def update_count(self):
        table = self.model.table
        n = len(table)
        decided = int(np.isin(table.state, ("accepted", "corrected", "rejected")).sum()) if n else 0
        text = f"{n:,} item{'s' if n != 1 else ''}"
        if decided and self.state_combo.currentText() == "to review":
            text += f", {decided:,} done"
        filters = self.filters_in_force()
        if filters:
            text += " (filtered)"
        self.count_label.setText(text)
        self.filter_label.setText(("Filters kept from last time: " if self._restored else "Filtered: ")
                                  + " · ".join(filters))
        self.filter_note.setVisible(bool(filters))
        self.count_label.setToolTip(f"{n:,} items match the filters" + (
            f"; {decided:,} of them were decided since the queue was loaded" if decided else ""))

    def select(self, tile):
        """Select a tile's row without showing it again; False when the filters hide it."""
        row = self.model.row_of(tile)
        if row is None:
            self.table.clearSelection()
            return False
        if self.table.currentIndex().row() != row:
            self._quiet = True
            try:
                self.table.selectRow(row)
            finally:
                self._quiet = False
        self._scroll_to(row)
        QTimer.singleShot(0, lambda: self._scroll_to(row))   # again once the tile's text has resized the box
        return True

    def _scroll_to(self, row):
        try:
            if 0 <= row < self.model.rowCount():
                self.table.scrollTo(self.model.index(row, 0), QAbstractItemView.EnsureVisible)
        except RuntimeError:        # the dock was closed before the deferred call came
            pass

    def _on_row_changed(self, current, _previous):
        if self._quiet or not current.isValid():
            return
        tile = self.model.tile_at(current.row())
        if tile is not None:
            self.tile_chosen.emit(tile)

    def _on_sorted(self, *_):
        index = self.table.currentIndex()
        if index.isValid():
            self.table.scrollTo(index)

    def set_enabled(self, enabled):
        for widget in (self.table, self.state_combo, self.split_combo, self.reason_combo, self.min_score,
                       self.max_score, self.refresh_button, self.propose_button):
            widget.setEnabled(enabled)
