"""Review widget: walk the queue of proposed pseudo-labels, see where models disagree, decide.

For the current tile the canvas shows the image, each model version's mask (a coloured
contour, toggled per version), the consensus (yellow contour), a disagreement heat map,
the training mask of a labelled tile (white contour) and an editable Labels layer with the
pseudo-label in force. Every decision goes to the curation store at once; undo takes back
the last one, whichever tile it was on.

Keys (shown on the buttons): A accept, R reject, S save the edited mask, N / Page Down
next, Shift+N / Page Up previous, U undo the last decision.
"""

import numpy as np
from qtpy.QtCore import QSize, Qt, QTimer, Signal
from qtpy.QtGui import QIcon, QImage, QKeySequence, QPixmap
from qtpy.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QDoubleSpinBox, QFrame, QGridLayout, QGroupBox,
                            QHBoxLayout, QHeaderView, QLabel, QLineEdit, QMessageBox, QPushButton, QShortcut,
                            QSizePolicy, QTableView, QToolButton, QVBoxLayout, QWidget)

from ._data_bar import DataBar
from ._layers import find_layer, group_layers, put_layer, remove_layers, show_only_group
from ._queue_model import COLUMNS, QueueModel
from ._review import STATE_FILTERS, Reviewer, outline_image
from ._workers import start_worker
from ._session import notify_error, notify_info, session_for
from ._settings import load_settings, save_settings
from ._style import CONSENSUS, SALT, STATE_COLOURS, label_colours, version_colour

__all__ = ["ReviewWidget"]

GROUP = "review"
SPLITS = {"all splits": None, "unlabelled (test)": "test", "labelled (train)": "train"}
KEYS = {
    "accept": ("A",),
    "reject": ("R",),
    "save": ("S",),
    "next": ("N", "PgDown"),
    "previous": ("Shift+N", "PgUp"),
    "undo": ("U",),
}


class ReviewWidget(QWidget):
    """Review predictions and curate pseudo-labels (dock it from Plugins > saltviewer > Review).

    Parameters
    ----------
    napari_viewer : napari.Viewer
    """

    #: Emitted with the tile id each time a tile is shown (tests and benchmarks wait on it).
    tile_shown = Signal(str)
    #: Emitted after the queue was rebuilt.
    queue_loaded = Signal()

    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)
        self.reviewer = None
        self.current = None            # TileDisplay
        self._dirty = False            # the edit layer was painted since the tile was shown
        self._loading_edit = False
        self._worker = None
        self._shown = {}               # outline or layer name -> shown (check boxes)
        settings = load_settings()
        self._build(settings)
        self._bind_keys()
        self.session.changed.connect(self._on_session_changed)
        self.session.versions_changed.connect(self._on_versions_changed)
        self.session.decisions_changed.connect(self._on_decisions_changed)
        self.session.tile_requested.connect(self._on_tile_requested)
        self.session.mosaics_changed.connect(self._on_mosaics_changed)
        self._set_enabled(False)
        QTimer.singleShot(0, self._on_first_show)

    # ================================================================= building
    def _build(self, settings):
        self.data_bar = DataBar(self.session, self)

        # ---- queue
        self.state_combo = QComboBox()
        self.state_combo.addItems(list(STATE_FILTERS))
        self.state_combo.setCurrentText(settings.get("review_state", "to review"))
        self.state_combo.setToolTip("Which items to list: proposed ones awaiting review, decided ones, or all")
        self.split_combo = QComboBox()
        self.split_combo.addItems(list(SPLITS))
        self.split_combo.setCurrentText(settings.get("review_split", "all splits"))
        self.split_combo.setToolTip("Unlabelled tiles (pseudo-labels) or labelled tiles (training masks the "
                                    "models contradict)")
        self.min_score = _fraction_box(0.0, "Least disagreement listed")
        self.max_score = _fraction_box(1.0, "Most disagreement listed")
        for widget in (self.state_combo, self.split_combo):
            widget.currentTextChanged.connect(self._on_filters_changed)
        for widget in (self.min_score, self.max_score):
            widget.valueChanged.connect(self._on_filters_changed)
        filters = QGridLayout()
        filters.addWidget(QLabel("Show"), 0, 0)
        filters.addWidget(self.state_combo, 0, 1)
        filters.addWidget(self.split_combo, 0, 2, 1, 2)
        filters.addWidget(QLabel("Disagreement"), 1, 0)
        filters.addWidget(self.min_score, 1, 1)
        filters.addWidget(QLabel("to"), 1, 2, Qt.AlignCenter)
        filters.addWidget(self.max_score, 1, 3)
        filters.setColumnStretch(1, 1)
        filters.setColumnStretch(3, 1)

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
        samples = {"tile": "0123456789a", "depth": "Depth", "coverage": "Cover", "disagreement": "Disagree"}
        for column, (_, field, _) in enumerate(COLUMNS):
            if field in samples:
                header.setSectionResizeMode(column, QHeaderView.Interactive)
                header.resizeSection(column, metrics.horizontalAdvance(samples[field]) + 18)
        header.setStretchLastSection(True)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.table.horizontalHeader().sortIndicatorChanged.connect(self._on_sorted)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(20)
        self.table.setMinimumHeight(150)
        self.table.setWordWrap(False)
        self.table.selectionModel().currentRowChanged.connect(self._on_row_changed)
        self.table.setToolTip("Click a row to show the tile; click a header to sort")

        self.queue_label = QLabel("")
        self.refresh_button = QToolButton()
        self.refresh_button.setText("Refresh")
        self.refresh_button.setToolTip("Reload the queue from the curation store")
        self.refresh_button.clicked.connect(self.reload_queue)
        self.propose_button = QPushButton("Find candidates")
        self.propose_button.setToolTip("Score the ensemble of model versions and propose confident tiles "
                                       "as pseudo-labels (decisions already taken are kept)")
        self.propose_button.clicked.connect(self._on_propose_clicked)
        self.goto_edit = QLineEdit()
        self.goto_edit.setPlaceholderText("go to tile id…")
        self.goto_edit.setClearButtonEnabled(True)
        self.goto_edit.returnPressed.connect(self._on_goto)
        status = QHBoxLayout()
        status.addWidget(self.queue_label, 1)
        status.addWidget(self.goto_edit)
        status.addWidget(self.refresh_button)
        status.addWidget(self.propose_button)

        queue_box = QGroupBox("Queue")
        queue_layout = QVBoxLayout(queue_box)
        queue_layout.addLayout(filters)
        queue_layout.addWidget(self.table, 1)
        queue_layout.addLayout(status)

        # ---- current tile
        self.title_label = QLabel("No tile shown")
        self.title_label.setStyleSheet("font-weight: bold; font-size: 14px;")
        self.title_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.facts_label = QLabel("")
        self.facts_label.setWordWrap(True)
        self.reason_label = QLabel("")
        self.reason_label.setWordWrap(True)
        self.reason_label.setStyleSheet("color: #a8adb5;")
        self.layers_row = QGridLayout()
        self.layers_row.setHorizontalSpacing(10)
        self.layers_row.setVerticalSpacing(2)
        self.layer_checks = {}
        self.neighbours = NeighbourGrid(self)
        self.neighbours.tile_clicked.connect(self.show_tile)

        self.buttons = {}
        for action, text in (("previous", "◀ Previous"), ("next", "Next ▶"), ("accept", "Accept"),
                             ("reject", "Reject"), ("save", "Save edit"), ("undo", "Undo")):
            button = QPushButton(f"{text}  [{KEYS[action][0]}]")
            button.setToolTip(f"{_ACTION_HELP[action]} (keys: {', '.join(KEYS[action])})")
            button.clicked.connect(getattr(self, f"_on_{action}"))
            self.buttons[action] = button
        self.buttons["accept"].setStyleSheet(f"QPushButton {{ color: {STATE_COLOURS['accepted']}; }}")
        self.buttons["reject"].setStyleSheet(f"QPushButton {{ color: {STATE_COLOURS['rejected']}; }}")
        self.buttons["save"].setStyleSheet(f"QPushButton {{ color: {STATE_COLOURS['corrected']}; }}")
        self.advance_check = QCheckBox("auto-advance")
        self.advance_check.setToolTip("Go to the next tile in the queue after each decision")
        self.advance_check.setChecked(bool(settings.get("review_advance", True)))
        self.advance_check.toggled.connect(lambda on: save_settings(review_advance=bool(on)))
        self.autosave_check = QCheckBox("save edits when moving on")
        self.autosave_check.setToolTip("A painted mask is saved as a correction when you go to another tile "
                                       "(undo with U); unchecked, unsaved edits are dropped")
        self.autosave_check.setChecked(bool(settings.get("review_autosave", True)))
        self.autosave_check.toggled.connect(lambda on: save_settings(review_autosave=bool(on)))

        decide = QGridLayout()
        decide.addWidget(self.buttons["previous"], 0, 0)
        decide.addWidget(self.buttons["next"], 0, 1)
        decide.addWidget(self.buttons["undo"], 0, 2)
        decide.addWidget(self.buttons["accept"], 1, 0)
        decide.addWidget(self.buttons["reject"], 1, 1)
        decide.addWidget(self.buttons["save"], 1, 2)

        tile_box = QGroupBox("Current tile")
        tile_layout = QVBoxLayout(tile_box)
        head = QHBoxLayout()
        head.addWidget(self.neighbours, 0, Qt.AlignTop)
        text = QVBoxLayout()
        text.addWidget(self.title_label)
        text.addWidget(self.facts_label)
        text.addStretch(1)
        head.addLayout(text, 1)
        tile_layout.addLayout(head)
        tile_layout.addWidget(self.reason_label)
        tile_layout.addLayout(self.layers_row)
        tile_layout.addLayout(decide)
        options = QHBoxLayout()
        options.addWidget(self.advance_check)
        options.addWidget(self.autosave_check)
        options.addStretch(1)
        tile_layout.addLayout(options)

        # ---- batch
        self.batch_level = QDoubleSpinBox()
        self.batch_level.setRange(0.5, 1.0)
        self.batch_level.setSingleStep(0.01)
        self.batch_level.setDecimals(2)
        self.batch_level.setValue(float(settings.get("review_batch_level", 0.95)))
        self.batch_level.setToolTip("Agreement: mean IoU between the model versions' masks")
        self.batch_level.valueChanged.connect(self._update_batch_button)
        self._batch_timer = QTimer(self)          # recount at most a few times a second while deciding
        self._batch_timer.setSingleShot(True)
        self._batch_timer.setInterval(400)
        self._batch_timer.timeout.connect(self._update_batch_button)
        self.batch_button = QPushButton("Accept all…")
        self.batch_button.setToolTip("Accept every proposed pseudo-label whose model versions agree at least this "
                                     "much (mean IoU); asks first, and one undo takes the batch back")
        self.batch_button.clicked.connect(self._on_batch_clicked)
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Write the accepted and corrected masks in the competition layout "
                                      "(train/masks, train.csv, images, depths) to a folder")
        self.export_button.clicked.connect(self._on_export_clicked)
        batch_box = QGroupBox("Batch")
        batch = QHBoxLayout(batch_box)
        batch.addWidget(QLabel("Agreement ≥"))
        batch.addWidget(self.batch_level)
        batch.addWidget(self.batch_button, 1)
        batch.addWidget(self.export_button)

        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        self.status_label.setStyleSheet("color: #a8adb5;")

        layout = QVBoxLayout(self)
        layout.addWidget(self.data_bar)
        layout.addWidget(queue_box, 1)
        layout.addWidget(tile_box)
        layout.addWidget(batch_box)
        layout.addWidget(self.status_label)
        self.setMinimumWidth(420)

    def _bind_keys(self):
        self.shortcuts = []
        for action, keys in KEYS.items():
            for key in keys:
                shortcut = QShortcut(QKeySequence(key), self)
                shortcut.setContext(Qt.WindowShortcut)
                shortcut.activated.connect(lambda action=action: self._on_shortcut(action))
                self.shortcuts.append(shortcut)

    def sizeHint(self):
        return QSize(460, 860)

    def _on_shortcut(self, action):
        """A key acts on the tile only while the tile is on the canvas (not while a mosaic is shown)."""
        if not self.isVisible() or not self.buttons[action].isEnabled():
            return
        tile = find_layer(self.viewer, f"{GROUP}:tile")
        if action != "undo" and self.current is not None and (tile is None or not tile.visible):
            current, self.current = self.current.tile, None
            self.show_tile(current)           # bring the tile back first; the next key press decides
            self.status_label.setText("The tile is shown again; press the key once more to act on it.")
            return
        self.buttons[action].click()

    # ================================================================= session
    def _on_first_show(self):
        if not self.session.is_open:
            self.session.open_remembered()
        if self.session.is_open and self.reviewer is None:
            self._on_session_changed()
        elif not self.session.is_open:
            self.status_label.setText("Open a data folder and a workspace (Open… above) to start reviewing.")

    def _on_session_changed(self):
        from saltviewer import SaltviewerError

        self._clear_tile_layers()
        self.current = None
        self.reviewer = None
        if not self.session.is_open:
            self._set_enabled(False)
            return
        try:
            self.reviewer = Reviewer(self.session.dataset, self.session.workspace, self.session.store,
                                     neighbours=self.session.neighbours)
        except SaltviewerError as error:
            notify_error(error)
            self._set_enabled(False)
            return
        self._set_enabled(True)
        self.reload_queue(show_first=True)

    def _on_versions_changed(self):
        if self.reviewer is None:
            return
        self.reviewer.reload_versions()
        self.reload_queue(show_first=self.current is None)
        if self.current is not None:
            self.show_tile(self.current.tile)

    def _on_tile_requested(self, tile):
        """Another widget (the mosaic) asks for a tile: show it and bring this widget's tab to the front."""
        self.show_tile(tile)
        parent = self.parent()
        while parent is not None and not hasattr(parent, "toggleViewAction"):   # the QDockWidget
            parent = parent.parent()
        if parent is not None:
            parent.raise_()

    def _on_mosaics_changed(self):
        if self.current is not None and self.reviewer is not None:
            self.current.neighbours = self.session.neighbours(self.current.tile)
            self.neighbours.set_tiles(self.session.dataset, self.current.tile, self.current.neighbours)

    def _on_decisions_changed(self, tiles):
        if self.reviewer is not None and tiles is not self:
            self.reload_queue(show_first=self.current is None)

    def _set_enabled(self, enabled):
        for widget in (self.table, self.state_combo, self.split_combo, self.min_score, self.max_score,
                       self.refresh_button, self.propose_button, self.goto_edit, self.batch_button, self.export_button,
                       self.batch_level, *self.buttons.values()):
            widget.setEnabled(enabled)

    # ================================================================= queue
    def filters(self):
        """The filters in force as keyword arguments of `Reviewer.queue`."""
        low, high = self.min_score.value(), self.max_score.value()
        return {"state": self.state_combo.currentText(), "split": SPLITS[self.split_combo.currentText()],
                "min_disagreement": low if low > 0 else None, "max_disagreement": high if high < 1 else None}

    def reload_queue(self, show_first=False):
        """Rebuild the queue from the store with the filters in force."""
        if self.reviewer is None:
            return
        keep = self.current.tile if self.current is not None else None
        table = self.reviewer.queue(**self.filters())
        self.model.set_table(table)
        self._update_queue_label()
        self._update_batch_button()
        self.queue_loaded.emit()
        if keep is not None and self.model.row_of(keep) is not None:
            self._select_row(self.model.row_of(keep), show=False)
        elif show_first and self.model.rowCount() > 0:
            self._select_row(0)
        elif show_first:
            self._explain_empty_queue()

    def _explain_empty_queue(self):
        if self.reviewer is None:
            return
        if not self.reviewer.versions:
            self.status_label.setText("No model version has predictions for this data yet: train one "
                                      "(Retrain widget or `saltviewer train`), then predict.")
        elif self.state_combo.currentText() == "to review":
            self.status_label.setText("Nothing awaits review. Press “Find candidates” to propose pseudo-labels "
                                      "from the models' agreement, or widen the filters.")
        else:
            self.status_label.setText("No item matches the filters.")

    def _update_queue_label(self):
        table = self.model.table
        n = len(table)
        decided = int(np.isin(table.state, ("accepted", "corrected", "rejected")).sum()) if n else 0
        text = f"{n:,} item{'s' if n != 1 else ''}"
        if decided and self.state_combo.currentText() == "to review":
            text += f" ({decided:,} decided since loaded)"
        self.queue_label.setText(text)

    def _on_filters_changed(self, *_):
        save_settings(review_state=self.state_combo.currentText(), review_split=self.split_combo.currentText())
        self.reload_queue(show_first=True)

    def _on_sorted(self, *_):
        if self.current is not None:
            row = self.model.row_of(self.current.tile)
            if row is not None:
                self.table.scrollTo(self.model.index(row, 0))

    def _select_row(self, row, show=True):
        self._quiet_selection = not show
        try:
            self.table.selectRow(row)
        finally:
            self._quiet_selection = False
        self._scroll_to(row)
        QTimer.singleShot(0, lambda: self._scroll_to(row))   # again once the tile's text has resized the box

    def _scroll_to(self, row):
        try:
            if 0 <= row < self.model.rowCount():
                self.table.scrollTo(self.model.index(row, 0), QAbstractItemView.EnsureVisible)
        except RuntimeError:        # the dock was closed before the deferred call came
            pass

    def _on_row_changed(self, current, _previous):
        if getattr(self, "_quiet_selection", False) or not current.isValid():
            return
        tile = self.model.tile_at(current.row())
        if tile is not None and (self.current is None or tile != self.current.tile):
            self.show_tile(tile)

    def _on_goto(self):
        tile = self.goto_edit.text().strip()
        if tile:
            self.show_tile(tile)

    # ================================================================= one tile
    def show_tile(self, tile):
        """Show a tile (any id of the dataset, queued or not)."""
        from saltviewer import SaltviewerError

        if self.reviewer is None:
            return
        if not self._leave_current():
            return
        try:
            display = self.reviewer.show(tile)
        except SaltviewerError as error:
            notify_error(error)
            return
        self.current = display
        self._draw(display)
        self._describe(display)
        row = self.model.row_of(display.tile)
        if row is not None and self.table.currentIndex().row() != row:
            self._select_row(row, show=False)
        self.tile_shown.emit(display.tile)

    def _leave_current(self):
        """Save (or drop) an unsaved edit before another tile is shown; False to stay."""
        if not self._dirty or self.current is None:
            return True
        if self.autosave_check.isChecked():
            return self._save_edit(advance=False)
        self._dirty = False
        return True

    def _draw(self, display):
        viewer = self.viewer
        tile_layer = find_layer(viewer, f"{GROUP}:tile")
        first = tile_layer is None or not tile_layer.visible      # new, or coming back from the mosaic
        show_only_group(viewer, GROUP, self.session.hidden_layers)
        put_layer(viewer, f"{GROUP}:tile", "image", display.image, name="tile", colormap="gray",
                  contrast_limits=(0, 255))
        put_layer(viewer, f"{GROUP}:outlines", "image", self._outlines(display), name="models and disagreement",
                  rgb=True, blending="translucent")
        self._loading_edit = True
        try:
            edit = put_layer(viewer, f"{GROUP}:edit", "labels", display.edit_mask.copy(), name="pseudo-label",
                             colormap=label_colours(SALT), opacity=0.45)
            edit.metadata["saltviewer_ids"] = (display.tile,)
            edit.selected_label = 1
            if first:
                edit.events.paint.connect(self._on_painted)
                edit.events.data.connect(self._on_painted)
        finally:
            self._loading_edit = False
        self._dirty = False
        name = f"pseudo-label ({display.edit_source})"
        if edit.name != name:
            edit.name = name
        if viewer.layers.selection.active is not edit:
            viewer.layers.selection.active = edit
        self._sync_layer_checks(display)
        if first:
            _fit(viewer, group_layers(viewer, GROUP))
        overlay = _text_overlay(viewer)
        overlay.visible = True
        overlay.text = f"{display.tile}  ·  {display.state}"
        overlay.color = STATE_COLOURS.get(display.state, "#ffffff") if display.item and display.item.decided else "#ffffff"
        overlay.font_size = 12

    def _on_painted(self, *_):
        if self._loading_edit or self.current is None:
            return
        edit = find_layer(self.viewer, f"{GROUP}:edit")
        if edit is None:
            return
        changed = not np.array_equal(np.asarray(edit.data) != 0, self.current.edit_mask != 0)
        if changed != self._dirty:
            self._dirty = changed
            self._describe(self.current)

    def _describe(self, display):
        depth = "depth ?" if not np.isfinite(display.depth) else f"{display.depth:.0f} ft"
        kind = "labelled" if display.kind == "label" else "unlabelled"
        state = display.state
        colour = STATE_COLOURS.get(state, "#d8d8d8")
        self.title_label.setText(f"{display.tile}  <span style='color:{colour}'>{state}</span>")
        lines = [f"{kind} · {depth} · cover {100 * display.coverage:.0f}%"]
        if display.view is not None:
            scores = display.view.scores
            m = len(display.view.versions)
            if m > 1:
                lines.append(f"{m} models: mean IoU {scores.get('mean_iou', 1):.3f} · "
                             f"{100 * scores.get('pixel_disagreement', 0):.1f}% of pixels split")
            else:
                lines.append("1 model version: train another to see where models disagree")
            if "truth_iou" in scores:
                lines.append(f"consensus vs training mask: IoU {scores['truth_iou']:.3f}")
        else:
            lines.append("no model predictions yet")
        if self._dirty:
            lines.append(f"<span style='color:{STATE_COLOURS['corrected']}'><b>edited, not saved</b> (S saves)</span>")
        self.facts_label.setText("<br>".join(lines))
        item = display.item
        reason = f"{item.criterion}: {item.reason}" if item is not None and item.reason else ""
        if item is not None and item.decided:
            reason += f"{'  ·  ' if reason else ''}{item.state} by {item.updated_by} at {item.updated_at[:16]}"
        self.reason_label.setText(reason)
        self.neighbours.set_tiles(self.session.dataset, display.tile, display.neighbours)
        decided_buttons = {"accept": display.item is not None and display.item.proposed_mask is not None,
                           "reject": display.item is not None}
        for action, enabled in decided_buttons.items():
            self.buttons[action].setEnabled(enabled or self._dirty)
        self.buttons["save"].setEnabled(True)

    def _outlines(self, display):
        versions = {v for v in (display.view.versions if display.view is not None else ())
                    if self._shown.get(v, True)}
        return outline_image(display, versions, consensus=self._shown.get("consensus", True),
                             truth=self._shown.get("training", True), heat=self._shown.get("disagreement", True))

    def _sync_layer_checks(self, display):
        """One check box per outline (each model version, consensus, training mask) and the heat map."""
        names = list(display.view.versions) if display.view is not None else []
        names += (["consensus", "heat map"] if display.view is not None else []) + \
            (["training"] if display.truth is not None else [])
        if names == list(self.layer_checks):
            return
        for check in self.layer_checks.values():
            self.layers_row.removeWidget(check)
            check.setParent(None)              # gone at once, not at the next deferred delete
            check.deleteLater()
        self.layer_checks = {}
        for position, name in enumerate(names):
            key = "disagreement" if name == "heat map" else name
            check = QCheckBox(name)
            check.setChecked(self._shown.get(key, True))
            if name == "consensus":
                check.setStyleSheet(f"color: {CONSENSUS};")
            elif name == "training":
                check.setToolTip("outline of the training mask (white)")
            elif name == "heat map":
                check.setToolTip("pixels where the model versions disagree (bright: an even split)")
            else:
                check.setStyleSheet(f"color: {version_colour(position)};")
                check.setToolTip(f"outline of {name}'s mask")
            check.toggled.connect(lambda on, key=key: self._on_layer_toggled(key, on))
            self.layers_row.addWidget(check, position // 4, position % 4)
            self.layer_checks[name] = check

    def _on_layer_toggled(self, key, on):
        self._shown[key] = bool(on)
        if self.current is not None:
            put_layer(self.viewer, f"{GROUP}:outlines", "image", self._outlines(self.current),
                      name="models and disagreement", rgb=True)

    def _clear_tile_layers(self):
        remove_layers(self.viewer, group_layers(self.viewer, GROUP))
        self.neighbours.clear()

    # ================================================================= decisions
    def _decide(self, action):
        from saltviewer import SaltviewerError

        if self.current is None or self.reviewer is None:
            return None
        tile = self.current.tile
        try:
            item = getattr(self.reviewer, action)(tile)
        except SaltviewerError as error:
            notify_error(error)
            return None
        self._after_decision(tile, item.state)
        return item

    def _after_decision(self, tile, state):
        self.model.set_state(tile, state)
        self._update_queue_label()
        self._batch_timer.start()
        self.session.decisions_changed.emit(self)
        self.status_label.setText(f"{tile}: {state}.  U undoes.")
        if self.advance_check.isChecked():
            self._dirty = False
            self._step(+1, refresh_current=True)
        else:
            self._dirty = False
            self.show_tile(tile)

    def _on_accept(self):
        if self._dirty:
            self._save_edit()
            return
        self._decide("accept")

    def _on_reject(self):
        self._decide("reject")

    def _on_save(self):
        self._save_edit()

    def _save_edit(self, advance=True):
        from saltviewer import SaltviewerError

        if self.current is None or self.reviewer is None:
            return False
        edit = find_layer(self.viewer, f"{GROUP}:edit")
        if edit is None:
            return False
        tile = self.current.tile
        try:
            item = self.reviewer.correct(tile, np.asarray(edit.data))
        except SaltviewerError as error:
            notify_error(error)
            return False
        self._dirty = False
        if advance:
            self._after_decision(tile, item.state)
        else:
            self.model.set_state(tile, item.state)
            self.session.decisions_changed.emit(self)
        return True

    def _on_undo(self):
        from saltviewer import SaltviewerError

        if self.reviewer is None:
            return
        self._dirty = False
        try:
            items = self.reviewer.undo()
        except SaltviewerError as error:
            notify_error(error)
            return
        if not items:
            self.status_label.setText("Nothing to undo.")
            return
        for item in items:
            self.model.set_state(item.tile, item.state)
        self._update_queue_label()
        self._update_batch_button()
        self.session.decisions_changed.emit(self)
        if len(items) == 1:
            self.status_label.setText(f"Undone: {items[0].tile} is {items[0].state} again.")
            self.current = None
            self.show_tile(items[0].tile)
        else:
            self.status_label.setText(f"Undone: {len(items):,} tiles are {items[0].state} again.")
            if self.current is not None:
                tile, self.current = self.current.tile, None
                self.show_tile(tile)

    def _on_next(self):
        self._step(+1)

    def _on_previous(self):
        self._step(-1)

    def _step(self, delta, refresh_current=False):
        rows = self.model.rowCount()
        if rows == 0:
            return
        row = self.model.row_of(self.current.tile) if self.current is not None else None
        if row is None:
            row = -1 if delta > 0 else rows
        target = row + delta
        if not 0 <= target < rows:
            self.status_label.setText("End of the queue." if delta > 0 else "Start of the queue.")
            if refresh_current and self.current is not None:
                tile, self.current = self.current.tile, None
                self.show_tile(tile)
            return
        self.show_tile(self.model.tile_at(target))

    # ================================================================= batch
    def _update_batch_button(self, *_):
        if self.reviewer is None:
            self.batch_button.setText("Accept all…")
            return
        level = self.batch_level.value()
        n = len(self.reviewer.batch_candidates(level))
        self.batch_button.setText(f"Accept {n:,}…")                  # the tooltip says which
        self.batch_button.setEnabled(n > 0)
        save_settings(review_batch_level=level)

    def _on_batch_clicked(self):
        from saltviewer import SaltviewerError

        if self.reviewer is None:
            return
        level = self.batch_level.value()
        n = len(self.reviewer.batch_candidates(level))
        if n == 0:
            return
        question = (f"Accept {n:,} proposed pseudo-label{'s' if n != 1 else ''} whose model versions agree "
                    f"with mean IoU ≥ {level:.2f}?\n\nOne undo (U) takes the whole batch back.")
        if not self.ask(question, "Accept all"):
            return
        try:
            accepted = self.reviewer.accept_batch(level)
        except SaltviewerError as error:
            notify_error(error)
            return
        for tile in accepted:
            self.model.set_state(tile, "accepted")
        self._update_queue_label()
        self._update_batch_button()
        self.session.decisions_changed.emit(self)
        self.status_label.setText(f"Accepted {len(accepted):,} pseudo-labels in one batch.  U undoes it.")
        if self.current is not None and self.current.tile in accepted:
            tile, self.current = self.current.tile, None
            self.show_tile(tile)

    def ask(self, question, yes_text):
        """A modal yes/no question; True when the person chose `yes_text`."""
        box = QMessageBox(QMessageBox.Question, "saltviewer", question, QMessageBox.Cancel, self)
        yes = box.addButton(yes_text, QMessageBox.AcceptRole)
        box.setDefaultButton(QMessageBox.Cancel)
        self._question = box
        try:
            box.exec_()
        finally:
            self._question = None
        return box.clickedButton() is yes

    # ================================================================= export
    def _on_export_clicked(self):
        from qtpy.QtWidgets import QFileDialog

        if self.reviewer is None:
            return
        folder = QFileDialog.getExistingDirectory(self, "Export curated masks to a new or empty folder")
        if folder:
            self.export_to(folder)

    def export_to(self, folder):
        """Write the curated masks to `folder` (see `saltviewer.store.export_labels`); returns the summary."""
        from saltviewer import SaltviewerError
        from saltviewer.store import export_labels

        try:
            summary = export_labels(self.reviewer.store, self.reviewer.dataset, folder, kinds=("pseudo", "label"))
        except SaltviewerError as error:
            notify_error(error)
            return None
        self.status_label.setText(f"Exported {summary['masks']:,} masks ({summary['empty']:,} empty) to {folder}.")
        return summary

    # ================================================================= proposing
    def _on_propose_clicked(self):
        if self.reviewer is None or self._worker is not None:
            return
        if not self.reviewer.reload_versions():
            notify_error("no model version has predictions for this data yet; train and predict first.")
            return
        dataset, workspace = self.session.dataset, self.session.workspace
        self.propose_button.setEnabled(False)
        self.status_label.setText("Scoring the ensemble and proposing candidates…")
        worker = start_worker(propose_candidates, dataset, workspace, desc="Finding candidates")
        worker.returned.connect(self._on_proposed)
        worker.errored.connect(lambda error: notify_error(f"finding candidates failed: {error}"))
        worker.finished.connect(self._on_propose_finished)
        self._worker = worker

    def _on_proposed(self, lines):
        self.status_label.setText("  ·  ".join(lines[-3:]))
        notify_info("\n".join(lines))
        self.reload_queue(show_first=self.current is None)

    def _on_propose_finished(self):
        self._worker = None
        self.propose_button.setEnabled(self.reviewer is not None)


def _fit(viewer, layers):
    """Fit the camera to these layers only (hidden layers of another view may extend far)."""
    try:
        viewer.reset_view(layers=list(layers))
    except TypeError:                       # napari before 0.6 fits every layer
        viewer.reset_view()


def _text_overlay(viewer):
    """The canvas's text overlay (``viewer.canvas.overlays.text`` since napari 0.9)."""
    canvas = getattr(viewer, "canvas", None)
    if canvas is not None and "text" in getattr(canvas, "overlays", {}):
        return canvas.overlays["text"]
    return viewer.text_overlay


def propose_candidates(dataset, workspace):
    """Worker body: `saltviewer.pseudo.propose_pseudo_labels` with its own store connection."""
    from saltviewer.pseudo import propose_pseudo_labels

    report = propose_pseudo_labels(workspace, dataset)
    return report.lines()


_ACTION_HELP = {
    "accept": "Accept the proposed mask (an edited mask is saved as a correction)",
    "reject": "Reject the proposal: no mask in force for this tile",
    "save": "Save the edited pseudo-label layer as this tile's corrected mask",
    "next": "Next tile in the queue",
    "previous": "Previous tile in the queue",
    "undo": "Undo the last decision, on whichever tile (a batch is undone whole)",
}


def _fraction_box(value, tip):
    box = QDoubleSpinBox()
    box.setRange(0.0, 1.0)
    box.setSingleStep(0.05)
    box.setDecimals(2)
    box.setValue(value)
    box.setToolTip(tip)
    return box


class NeighbourGrid(QFrame):
    """A 3x3 grid of thumbnails: the tile in the middle, its mosaic neighbours around it."""

    tile_clicked = Signal(str)
    SIDES = {"up": (0, 1), "left": (1, 0), "right": (1, 2), "down": (2, 1)}
    SIZE = 44

    def __init__(self, parent=None):
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setSpacing(2)
        grid.setContentsMargins(0, 0, 0, 0)
        self.cells = {}
        for name, (row, col) in {**self.SIDES, "centre": (1, 1)}.items():
            button = QToolButton()
            if name == "centre":
                button.setStyleSheet(f"QToolButton {{ border: 2px solid {SALT}; border-radius: 2px; }}")
            button.setFixedSize(self.SIZE + 4, self.SIZE + 4)
            button.setIconSize(QSize(self.SIZE, self.SIZE))
            button.setAutoRaise(True)
            button.setEnabled(False)
            if name != "centre":
                button.clicked.connect(lambda _=False, side=name: self._on_clicked(side))
            grid.addWidget(button, row, col)
            self.cells[name] = button
        self.tiles = {}
        policy = QSizePolicy(QSizePolicy.Fixed, QSizePolicy.Fixed)
        policy.setRetainSizeWhenHidden(True)         # the layout keeps its place while no tile is shown
        self.setSizePolicy(policy)
        self.setToolTip("Neighbours from the mosaics: click one to review it")
        self.setVisible(False)                       # an empty frame until there is a tile

    def clear(self):
        self.tiles = {}
        self.setVisible(False)

    def set_tiles(self, dataset, centre, neighbours):
        self.tiles = dict(neighbours)
        self.setVisible(True)
        for name, button in self.cells.items():
            tile = centre if name == "centre" else self.tiles.get(name)
            if tile is None:
                button.setIcon(QIcon())
                button.setEnabled(False)
                button.setToolTip("no known neighbour" if name != "centre" else "")
                continue
            button.setIcon(QIcon(_thumbnail(dataset.image(tile), self.SIZE)))
            button.setEnabled(name != "centre")
            button.setToolTip(f"{name}: {tile}" if name != "centre" else f"this tile: {tile}")

    def _on_clicked(self, side):
        tile = self.tiles.get(side)
        if tile:
            self.tile_clicked.emit(tile)


def _thumbnail(image, size):
    image = np.ascontiguousarray(image, dtype=np.uint8)
    h, w = image.shape
    qimage = QImage(image.data, w, h, w, QImage.Format_Grayscale8).copy()
    return QPixmap.fromImage(qimage).scaled(size, size, Qt.KeepAspectRatio, Qt.SmoothTransformation)
