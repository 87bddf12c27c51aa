"""Review widget: walk the queue, triage it a page at a time, correct tiles with help, decide.

The dock has three tabs. **List**: the queue (why each tile is there, in colour), the shown
tile with each model version's outline, the consensus, the disagreement heat map and an
editable labels layer, the correction tools and the batch accept. **Grid**: the triage
grid (`triage_panel`). **History**: who did what to the shown tile, and when.

Every decision goes to the curation store at once, with the reviewer's name (the login
name unless changed; remembered) and note. Undo takes back the reviewer's own last
decision, asking first when it is a batch; decisions made elsewhere arrive within a few
seconds (`store_sync`) and never overwrite an edit in progress. The keys are napari
keybindings on the review layers (`keys`), listed and remappable in napari's
preferences.
"""

from qtpy.QtCore import QSize, Qt, QTimer, Signal
from qtpy.QtWidgets import (QDoubleSpinBox, QFrame, QHBoxLayout, QLabel, QLineEdit, QPushButton, QScrollArea,
                            QSplitter, QTabWidget, QToolButton, QVBoxLayout, QWidget)

from .cleanup import CLEANUPS
from .correction import BRUSH_SIZE, THRESHOLD_COLOUR
from ..common.data_bar import DataBar
from .history_view import HistoryPanel
from ..common.job_bar import JobBar
from ..common.layers import fit_view, find_layer, group_layers, put_layer, remove_layers, show_only_group, text_overlay
from .reviewer import Reviewer, outline_image
from .batch import BatchActions, propose_candidates  # noqa: F401  (propose_candidates: importable here)
from .decide import Decisions
from .edit import EditAndSync
from .keyboard import DockKeyboard
from .keys import DockKeys, ReviewImage, ReviewLabels, own, register_actions
from .leave import LeaveTile
from .queue_panel import QueuePanel
from .tile import TileBox
from ..common.session import notify_error, session_for
from ..common.settings import load_settings, save_settings
from .store_sync import StoreWatcher
from ..common.style import SALT, STATE_COLOURS, label_colours
from .triage_panel import TriagePanel
from .unsaved import UnsavedEdit

__all__ = ["ReviewWidget"]

GROUP = "review"
TABS = ("List", "Grid", "History")



class ReviewWidget(LeaveTile, Decisions, DockKeyboard, EditAndSync, BatchActions, QWidget):
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
        register_actions()
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)
        self.reviewer = None
        self.current = None            # TileDisplay
        self.unsaved = UnsavedEdit()   # the mask the tile was shown with: edited is a comparison of pixels
        self._described_edit = 0       # changed pixels the dock last said
        self._edit = None              # the editable layer (also once napari took it off the canvas)
        self._left_message = ""        # what leaving the last tile did with its edit (said after the next shows)
        self._loading_edit = False
        self._edit_check = QTimer(self)          # events come before some tools write: look once they are done
        self._edit_check.setSingleShot(True)
        self._edit_check.setInterval(0)
        self._edit_check.timeout.connect(self._check_edit)
        self._worker = None
        self._question = None
        self._requested = {}           # tile -> which dock asked for it, and why
        self._corrections = []         # tiles marked open in the grid, corrected one after another
        self.watcher = StoreWatcher(lambda: self.reviewer.store if self.reviewer is not None else None, parent=self)
        self.watcher.outside.connect(self._on_outside)
        self._build(load_settings())
        for signal, slot in ((self.session.closing, self._on_session_closing),
                             (self.session.changed, self._on_session_changed),
                             (self.session.versions_changed, self._on_versions_changed),
                             (self.session.decisions_changed, self._on_decisions_changed),
                             (self.session.tile_requested, self._on_tile_requested),
                             (self.session.mosaics_changed, self._on_mosaics_changed)):
            signal.connect(slot)
        self._set_enabled(False)
        self.dock_keys = DockKeys(self, self._on_dock_key)   # the keys also act after a click in the dock
        self._bind_dock_keys()
        self._watch_shortcuts()
        napari_viewer.layers.selection.events.active.connect(self._on_active_layer)
        QTimer.singleShot(0, self._on_first_show)

    # ================================================================= building
    def _build(self, settings):
        from saltviewer.store import default_user

        self.data_bar = DataBar(self.session, self)
        self.user_edit = QLineEdit(settings.get("reviewer") or default_user())
        self.user_edit.setToolTip("Your name, recorded with each decision (undo takes back your own); remembered")
        self.user_edit.editingFinished.connect(self._on_user_changed)
        self.note_edit = QLineEdit()
        self.note_edit.setPlaceholderText("note for your next decision (optional)")
        self.note_edit.setToolTip("Stored with your next decision (a tile, a batch, a page of the grid), then "
                                  "cleared; pin it to keep it for every decision")
        self.note_edit.setClearButtonEnabled(True)
        self.note_edit.textChanged.connect(self._on_note_changed)
        self.pin_button = QToolButton()
        self.pin_button.setText("Pin")
        self.pin_button.setCheckable(True)
        self.pin_button.setFocusPolicy(Qt.NoFocus)
        self.pin_button.setToolTip("Keep the note for every decision until you unpin it (a change of reviewer "
                                   "unpins and clears it)")
        self.pin_button.toggled.connect(self._on_pin_toggled)
        who = QHBoxLayout()
        who.addWidget(QLabel("Reviewer"))
        who.addWidget(self.user_edit, 1)
        who.addWidget(self.note_edit, 2)
        who.addWidget(self.pin_button)

        self.queue = QueuePanel(self)
        self.model, self.table = self.queue.model, self.queue.table      # as tests and benchmarks reach them
        self.queue.filters_changed.connect(lambda: self.reload_queue(show_first=True))
        self.queue.tile_chosen.connect(self._on_tile_chosen)
        self.queue.refresh_button.clicked.connect(lambda: self.reload_queue())
        self.queue.propose_button.clicked.connect(self._on_propose_clicked)

        self.tile_box = TileBox(self)
        self.buttons = self.tile_box.buttons
        self.tile_box.action.connect(self.on_action)
        self.tile_box.layer_toggled.connect(lambda *_: self._redraw_outlines())
        self.tile_box.goto.connect(lambda tile: self.show_tile(tile) if tile else None)
        self.neighbours = self.tile_box.neighbours          # (the Mosaics dock's tests reach it here)
        self.neighbours.tile_clicked.connect(self.show_tile)
        self.tile_box.conflict_choice.connect(self._on_conflict_choice)
        self.correction = self.tile_box.correction
        self.correction.start_from.connect(self._on_start_from)
        self.correction.threshold_changed.connect(lambda _: self._redraw_outlines())
        self.correction.cleanup.connect(self._on_cleanup)

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
        self.batch_button = QPushButton("Accept…")
        self.batch_button.setToolTip("Show the confident pseudo-labels whose model versions agree at least this "
                                     "much (count per criterion, the tiles), then accept them as one batch; "
                                     "disputed tiles are never taken")
        self.batch_button.clicked.connect(self._on_batch_clicked)
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Write the accepted and corrected masks in the competition layout "
                                      "(train/masks, train.csv, images, depths) to a folder")
        self.export_button.clicked.connect(self._on_export_clicked)
        batch = QHBoxLayout()
        batch.addWidget(QLabel("Batch: agreement ≥"))
        batch.addWidget(self.batch_level)
        batch.addWidget(self.batch_button, 1)
        batch.addWidget(self.export_button)

        # the queue above, the shown tile below: a splitter a person can move, the tile's part scrolling
        # on a small screen (1366 x 768), so the dock fits the window and nothing falls off its bottom
        tile_part = QWidget()
        tile_layout = QVBoxLayout(tile_part)
        tile_layout.setContentsMargins(0, 0, 0, 0)
        tile_layout.addWidget(self.tile_box)
        tile_layout.addStretch(1)
        self.listing = Splitter(Qt.Vertical)
        self.listing.setChildrenCollapsible(False)
        self.listing.addWidget(self.queue)
        self.listing.addWidget(scrolling(tile_part))
        self.listing.setStretchFactor(0, 1)
        self.listing.setStretchFactor(1, 0)
        self._split_by_person = False
        self.listing.splitterMoved.connect(lambda *_: setattr(self, "_split_by_person", True))
        self.listing.resized.connect(self._split_listing)   # split again as the dock's height changes
        listing = QWidget()
        listing_layout = QVBoxLayout(listing)
        listing_layout.setContentsMargins(4, 4, 4, 4)
        listing_layout.addWidget(self.listing, 1)
        listing_layout.addLayout(batch)                  # always in view, under the scrolling part
        self.triage = TriagePanel(self)
        self.history = HistoryPanel(self)
        self.tabs = QTabWidget()
        for widget, name in zip((listing, scrolling(self.triage), self.history), TABS):
            self.tabs.addTab(widget, name)
        self.tabs.setTabToolTip(1, "The triage grid: many tiles at once on the canvas (G)")
        self.tabs.setTabToolTip(2, "The shown tile's history: who, when, what (Y)")
        self.tabs.currentChanged.connect(self._on_tab_changed)

        self.job_bar = JobBar(self)                     # a long job (Find candidates): how far, and Cancel
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        self.status_label.setStyleSheet("color: #a8adb5;")
        layout = QVBoxLayout(self)
        layout.addWidget(self.data_bar)
        layout.addLayout(who)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.job_bar)
        layout.addWidget(self.status_label)
        self.setMinimumWidth(470)

    def sizeHint(self):
        return QSize(480, 700)

    def _split_listing(self):
        """The tile's part as tall as it needs, the queue keeping 8 rows or more (until a person moves the split)."""
        try:
            if self._split_by_person:
                return
            total = self.listing.height()
            if total <= 0:
                return
            tile_part = self.listing.widget(1).widget().sizeHint().height() + 4
            below = min(tile_part, max(int(0.55 * total), total - 320))     # the queue keeps 8 rows or more
            self.listing.setSizes([total - below, below])
        except RuntimeError:             # closed meanwhile
            pass

    # ================================================================= keys and messages
    def on_action(self, action):
        """A review key or button (see `saltviewer.plugins.review.keys.REVIEW_ACTIONS`)."""
        if action == "grid":
            self.show_grid() if self.tabs.currentIndex() != 1 else self.show_list()
            return
        if action == "history":
            self.tabs.setCurrentIndex(2 if self.tabs.currentIndex() != 2 else 0)
            return
        if action in CLEANUPS:
            self._on_cleanup(action)
            return
        if action == "use_consensus":
            self._on_start_from("consensus")
            return
        handler = getattr(self, f"_on_{action}", None)
        if handler is None:
            return
        if action in self.buttons and not self.buttons[action].isEnabled():
            self.set_status(self._why_not(action))          # a key that cannot act says why, never nothing
            return
        handler()

    def set_status(self, text):
        """The dock's one status line: about the last thing done (cleared when another tile is shown)."""
        self.status_label.setText(text)

    def notify_error(self, error, cause=None):
        """Say what went wrong in one line; an unexpected error keeps its traceback in WS/logs/."""
        from saltviewer import SaltviewerError

        self.set_status(str(error))
        if isinstance(error, SaltviewerError) or (cause is None and isinstance(error, str)):
            notify_error(error)                      # a rule or bad input: the line says it all
        else:
            from ..common.log import report_error

            report_error(error, cause if cause is not None else error, self.session.workspace_path, "review")

    # ================================================================= session
    def _on_first_show(self):
        self._watch_window()
        if not self.session.is_open:
            self.session.open_remembered()
        if self.session.is_open and self.reviewer is None:
            self._on_session_changed()
        elif not self.session.is_open:
            self.set_status("Open a data folder and a workspace (Open… above) to start reviewing.")

    def _on_session_changed(self):
        from saltviewer import SaltviewerError

        self._clear_tile_layers()
        self.current, self.reviewer = None, None
        self.watcher.stop()
        self.set_status("")
        if not self.session.is_open:
            self._set_enabled(False)
            self.set_status("Open a data folder and a workspace (Open… above) to start reviewing.")
            return
        try:
            self.reviewer = Reviewer(self.session.dataset, self.session.workspace, self.session.store,
                                     neighbours=self.session.neighbours, user=self.user_edit.text().strip() or None)
        except SaltviewerError as error:
            self.notify_error(error)
            self._set_enabled(False)
            return
        self.reviewer.note = self.note_edit.text().strip()
        self.reviewer.note_pinned = self.pin_button.isChecked()
        self.correction.set_versions(self.reviewer.versions)
        self._set_enabled(True)
        self.watcher.start()
        pending, self._pending = getattr(self, "_pending", None), None
        self.reload_queue(show_first=pending is None)
        if pending is not None:
            self.session.tile_requested.emit(pending)

    def _on_versions_changed(self):
        if self.reviewer is None:
            return
        self.correction.set_versions(self.reviewer.reload_versions())
        self.reload_queue(show_first=self.current is None)
        if self.current is not None and not self.edited:     # (an edit in progress stays as it is)
            self.show_tile(self.current.tile)

    def _on_tile_requested(self, tile):
        """Another dock asks for a tile: show it, select its row, say why, bring this dock to the front."""
        self._requested[tile] = self.session.request_reasons.get(tile)
        if self.reviewer is None:                    # just docked: shown once the session is read
            self._pending = tile
            return
        if self.tabs.currentIndex() == 1:
            self.show_list()
        self.show_tile(tile)
        if self.current is not None and self.current.item is not None and not self.queue.select(tile):
            if self.queue.widen():                   # the filters hid it: list everything, then select
                self.reload_queue()
        parent = self.parent()
        while parent is not None and not hasattr(parent, "toggleViewAction"):   # the QDockWidget
            parent = parent.parent()
        if parent is not None:
            parent.raise_()

    def _on_mosaics_changed(self):
        if self.current is not None and self.reviewer is not None:
            self.current.neighbours = self.session.neighbours(self.current.tile)
            self.tile_box.neighbours.set_tiles(self.session.dataset, self.current.tile, self.current.neighbours)

    def _on_decisions_changed(self, sender):
        if self.reviewer is not None and sender is not self:
            self.reload_queue(show_first=self.current is None)

    def _on_user_changed(self):
        name = self.user_edit.text().strip()
        if not name:
            from saltviewer.store import default_user

            name = default_user()
            self.user_edit.setText(name)
        save_settings(reviewer=name)
        if self.reviewer is None or name == self.reviewer.user:
            return
        self.reviewer.set_user(name)              # the note was the previous reviewer's
        self._sync_note()
        self.set_status(f"Reviewing as {name}: decisions are recorded as {name}'s, and U undoes {name}'s own.")

    def _on_note_changed(self, text):
        if self.reviewer is not None:
            self.reviewer.note = text.strip()

    def _on_pin_toggled(self, pinned):
        if self.reviewer is not None:
            self.reviewer.note_pinned = bool(pinned)

    def _sync_note(self):
        """The note field and its pin as the reviewer holds them (a decision used an unpinned note up)."""
        if self.reviewer is None:
            return
        if self.note_edit.text().strip() != self.reviewer.note:
            self.note_edit.setText(self.reviewer.note)
        if self.pin_button.isChecked() != self.reviewer.note_pinned:
            self.pin_button.setChecked(self.reviewer.note_pinned)

    def _set_enabled(self, enabled):
        self.queue.set_enabled(enabled)
        for widget in (self.tile_box.goto_edit, self.batch_button, self.export_button, self.batch_level,
                       self.triage, self.correction, *self.buttons.values()):
            widget.setEnabled(enabled)

    # ================================================================= queue
    def filters(self):
        return self.queue.filters()

    def reload_queue(self, show_first=False):
        """Rebuild the queue from the store with the filters in force."""
        if self.reviewer is None:
            return
        keep = self.current.tile if self.current is not None else None
        self.queue.set_table(self.reviewer.queue(**self.queue.filters()))
        self._update_batch_button()
        self.queue_loaded.emit()
        if keep is not None and self.queue.select(keep):
            pass
        elif show_first and self.model.rowCount() > 0 and self.tabs.currentIndex() != 1:
            self.show_tile(self.model.tile_at(0))
        elif show_first and self.model.rowCount() == 0:
            self._explain_empty_queue()
        if self.triage.active:
            self.triage.draw()

    def _explain_empty_queue(self):
        if not self.reviewer.versions:
            self.set_status("No model version has predictions for this data yet: train one (Retrain widget or "
                            "`saltviewer train`), then predict.")
        elif self.queue.state_combo.currentText() == "to review":
            self.set_status("Nothing awaits review. Press “Find candidates” to propose pseudo-labels from the "
                            "models' agreement, or widen the filters.")
        else:
            self.set_status("No item matches the filters.")

    def _on_tile_chosen(self, tile):
        if self.current is None or tile != self.current.tile:
            self.show_tile(tile)

    # ================================================================= one tile
    def show_tile(self, tile):
        """Show a tile (any id of the dataset, queued or not)."""
        from saltviewer import SaltviewerError

        self._left_message = ""
        if self.reviewer is None or not self._leave_current():
            return
        try:
            display = self.reviewer.show(tile)
        except SaltviewerError as error:
            self.notify_error(error)
            return
        if self.current is None or self.current.tile != display.tile:
            self.set_status(self._left_message)        # no message about another tile stays but what leaving did
            self.tile_box.show_conflict("")
        self.current = display
        if self.tabs.currentIndex() != 1:
            self._draw(display)
        self._describe(display)
        self.queue.select(display.tile)
        if self.tabs.currentIndex() == 2:
            self._show_history()
        if not getattr(self, "_split_for_tile", False):   # the first tile's text sets the tile part's height
            self._split_for_tile = True
            self._split_listing()
        self.tile_shown.emit(display.tile)
        self.session.tile_shown.emit(display.tile)

    def _draw(self, display):
        viewer = self.viewer
        tile_layer = find_layer(viewer, f"{GROUP}:tile")
        first = tile_layer is None or not tile_layer.visible      # new, or coming back from another view
        if getattr(self, "_threshold_tile", None) != display.tile:     # a new tile: the slider starts at the
            self.correction.set_threshold(self._consensus_threshold())  # ensemble's own threshold
            self._threshold_tile = display.tile
        show_only_group(viewer, GROUP, self.session.hidden_layers)
        layers = [put_layer(viewer, f"{GROUP}:tile", "image", display.image, name="tile", colormap="gray",
                            contrast_limits=(0, 255), layer_class=ReviewImage),
                  put_layer(viewer, f"{GROUP}:outlines", "image", self._outlines(display),
                            name="models and disagreement", rgb=True, blending="translucent",
                            layer_class=ReviewImage)]
        self._loading_edit = True
        try:
            edit = put_layer(viewer, f"{GROUP}:edit", "labels", display.edit_mask.copy(), name="pseudo-label",
                             colormap=label_colours(SALT), opacity=0.45, layer_class=ReviewLabels)
            if edit.metadata.get("saltviewer_ids") is None:
                edit.brush_size = BRUSH_SIZE
                for event in ("paint", "labels_update", "data", "set_data"):
                    getattr(edit.events, event).connect(self._on_painted)
            edit.metadata["saltviewer_ids"] = (display.tile,)
            edit.selected_label = 1
        finally:
            self._loading_edit = False
        for layer in (*layers, edit):
            own(layer, self)
        self._edit = edit
        self.unsaved.start(display.tile, display.edit_mask)
        name = f"pseudo-label ({display.edit_source})"
        if edit.name != name:
            edit.name = name
        if viewer.layers.selection.active is not edit:
            viewer.layers.selection.active = edit
        self.tile_box.sync_layer_checks(display)
        if first:
            fit_view(viewer, group_layers(viewer, GROUP))
        overlay = text_overlay(viewer)
        overlay.visible = True
        why = f"  ·  {display.why}" if display.why and display.why != display.shown_state else ""
        overlay.text = f"{display.tile}  ·  {display.shown_state}" + why
        decided = display.item is not None and display.item.decided
        overlay.color = STATE_COLOURS.get(display.state, "#ffffff") if decided else "#ffffff"
        overlay.font_size = 12

    def _outlines(self, display):
        shown = self.tile_box.shown
        versions = {v for v in (display.view.versions if display.view is not None else ()) if shown.get(v, True)}
        extra = None
        if display.view is not None and abs(self.correction.threshold - self._consensus_threshold()) > 0.005:
            # the slider away from the ensemble's own threshold: its outline, on top
            extra = (display.view.probability > self.correction.threshold, THRESHOLD_COLOUR)
        return outline_image(display, versions, consensus=shown.get("consensus", True),
                             truth=shown.get("training", True), heat=shown.get("disagreement", True), extra=extra)

    def _consensus_threshold(self):
        ensemble = self.reviewer.ensemble if self.reviewer is not None else None
        return round(ensemble.consensus_threshold, 2) if ensemble is not None else 0.5

    def _redraw_outlines(self):
        if self.current is not None and self.tabs.currentIndex() != 1:
            put_layer(self.viewer, f"{GROUP}:outlines", "image", self._outlines(self.current),
                      name="models and disagreement", rgb=True, layer_class=ReviewImage)

    def _describe(self, display, neighbours=True):
        edited = self.edited
        self._described_edit = edited
        self.tile_box.describe(display, edited, self._requested.get(display.tile))
        if neighbours:
            self.tile_box.neighbours.set_tiles(self.session.dataset, display.tile, display.neighbours)
        item = display.item
        enabled = {"accept": item is not None and item.proposed_mask is not None and not item.disputed,
                   "reject": item is not None}
        for action, on in enabled.items():
            self.buttons[action].setEnabled(on or bool(edited))
        self.buttons["save"].setEnabled(True)
        self.buttons["accept"].setToolTip(self.buttons["accept"].toolTip().split("\n")[0] + (
            "\nA disputed tile cannot be accepted as proposed: start from one model's mask, correct, save."
            if item is not None and item.disputed else ""))

    def _clear_tile_layers(self):
        remove_layers(self.viewer, group_layers(self.viewer, GROUP))
        self.tile_box.neighbours.clear()

class Splitter(QSplitter):
    """A QSplitter that says when it was resized (after laying its parts out)."""

    resized = Signal()

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self.resized.emit()


def scrolling(widget):
    """`widget` in a frameless area that scrolls up and down when the dock is shorter than it."""
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
    return area

