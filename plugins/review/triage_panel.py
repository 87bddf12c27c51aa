"""The triage grid in the Review dock: pages of queued tiles on the canvas, marked and applied in batches.

The grid shows the queue with the list's filters and sort, a page at a time on napari's
canvas (one RGB image layer, `TriageImage`); by default the tiles a page can accept at once
(confident ones) come first, and the tiles to open one by one (disputed, label checks,
mosaic edges) after them, each group in the list's order. A click on a tile cycles
its mark (accept, reject, none); a double click opens it in the single-tile view; keys
mark the tile under the cursor and move on, mark the rest of the page accepted, and apply
every mark as one batch (one undo). Tiles marked *open* are corrected one after another
in the single-tile view once the marks are applied.
"""

import time

import numpy as np
from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget

from ..common.layers import find_layer, fit_view, put_layer, show_only_group, text_overlay
from .keys import TriageImage, own, shortcut_of
from ..common.settings import load_settings, save_settings
from .triage import MARK_COLOURS, GridLayout, load_cells, render_cell, render_page

__all__ = ["TriagePanel", "GROUP", "batch_acceptable_rows"]

GROUP = "triage"


def batch_acceptable_rows(table):
    """Which rows of a `QueueTable` a page may accept at once (proposed, and the store's batch rule)."""
    from saltviewer.store.reasons import batch_acceptable

    rule = getattr(table, "_batch_rule", None)      # what the criteria allow, once per table (they never change)
    if rule is None:
        known = {}
        for key in set(zip(map(str, table.criterion), map(str, table.kind))):
            known[key] = batch_acceptable(*key)
        rule = np.array([known[key] for key in zip(map(str, table.criterion), map(str, table.kind))], bool)
        table._batch_rule = rule
    return rule & (np.asarray(table.state) == "proposed")


class TriagePanel(QWidget):
    """Controls of the grid (page, size, marks) for a `ReviewWidget` (``owner``).

    Signals
    -------
    page_drawn(float)
        After a page was drawn on the canvas, with the milliseconds it took (data and picture).
    applied(list)
        After marks were written, with ``(tile, state)`` of each item changed.
    """

    page_drawn = Signal(float)
    applied = Signal(list)

    def __init__(self, owner):
        super().__init__()
        self.owner = owner
        settings = load_settings()
        self.page = 0
        self.marks = {}
        self.cursor = 0
        self.cells = []
        self.picture = None
        self.layout_ = GridLayout(int(settings.get("grid_cols", 6)), int(settings.get("grid_rows", 4)))
        self._fitted = "grid_cols" in settings       # no size chosen yet: fit the canvas the first time
        self.active = False
        self._build()

    # ================================================================= building
    def _build(self):
        self.page_label = QLabel("")
        self.page_label.setWordWrap(True)
        self.previous_button = QPushButton("◀ Page")
        self.next_button = QPushButton("Page ▶")
        self.previous_button.clicked.connect(lambda: self.go(self.page - 1))
        self.next_button.clicked.connect(lambda: self.go(self.page + 1))
        self.cols = QSpinBox()
        self.rows = QSpinBox()
        for box, value, tip in ((self.cols, self.layout_.cols, "tiles across"), (self.rows, self.layout_.rows,
                                                                                  "tiles down")):
            box.setRange(2, 12)
            box.setValue(value)
            box.setToolTip(f"Grid size: {tip}")
            box.valueChanged.connect(self._on_size_changed)
        self.confident_first = QCheckBox("confident tiles first")
        self.confident_first.setChecked(bool(load_settings().get("grid_confident_first", True)))
        self.confident_first.setToolTip("Pages of tiles a page can accept at once (the models agree) come first; "
                                        "disputed tiles, label checks and mosaic edges, to open one by one, after "
                                        "them. Unchecked: the list's order")
        self.confident_first.toggled.connect(self._on_order_changed)
        self.fit_button = QPushButton("Fit canvas")
        self.fit_button.setToolTip("As many tiles as the canvas shows at about 1.6 times their size")
        self.fit_button.clicked.connect(self.fit_to_canvas)
        pages = QHBoxLayout()                 # rows that fit the dock's narrowest width (470 px)
        pages.addWidget(self.previous_button)
        pages.addWidget(self.next_button)
        pages.addStretch(1)
        pages.addWidget(self.cols)
        pages.addWidget(QLabel("×"))
        pages.addWidget(self.rows)
        pages.addWidget(self.fit_button)

        self.marks_label = QLabel("")
        self.marks_label.setWordWrap(True)
        self.rest_button = QPushButton(f"Accept the rest [{shortcut_of('accept_rest', grid=True)}]")
        self.rest_button.setToolTip("Mark every unmarked tile of this page accepted (disputed tiles, label checks "
                                    "and mosaic edges are left for you)")
        self.rest_button.clicked.connect(lambda: self.on_action("accept_rest"))
        self.clear_button = QPushButton("Clear marks")
        self.clear_button.clicked.connect(self.clear_marks)
        self.apply_button = QPushButton(f"Apply marks [{shortcut_of('apply', grid=True)}]")
        self.apply_button.setToolTip("Write every accept and reject mark as one batch (one undo takes it back), "
                                     "then correct the tiles marked open one after another")
        self.apply_button.clicked.connect(self.apply)
        self.undo_button = QPushButton(f"Undo [{shortcut_of('undo', grid=True)}]")
        self.undo_button.setToolTip("Take back your last decision (a page applied: the whole page, after asking)")
        self.undo_button.clicked.connect(lambda: self.on_action("undo"))
        self.redo_button = QPushButton(f"Redo [{shortcut_of('redo', grid=True)}]")
        self.redo_button.setToolTip("Make the decisions you last undid again (a page: after asking)")
        self.redo_button.clicked.connect(lambda: self.on_action("redo"))
        buttons = QHBoxLayout()
        buttons.addWidget(self.rest_button)
        buttons.addWidget(self.apply_button)
        undo = QHBoxLayout()
        undo.addWidget(self.clear_button)
        undo.addWidget(self.undo_button)
        undo.addWidget(self.redo_button)
        for button in (self.previous_button, self.next_button, self.rest_button, self.clear_button, self.apply_button,
                       self.fit_button, self.undo_button, self.redo_button, self.confident_first):
            button.setFocusPolicy(Qt.NoFocus)

        legend = QLabel(" ".join(f"<span style='color:{MARK_COLOURS[m]}'>■ {m}</span>" for m in ("accept", "reject",
                                                                                                 "open"))
                        + "  <span style='color:#ff8c1a'>■ proposed salt</span>  <span style='color:#ff3b3b'>■ "
                          "models split</span>  <span style='color:#ffffff'>— training mask</span>  <span "
                          "style='color:#ff9e40'>◥ disputed</span> (each version's outline)")
        legend.setWordWrap(True)
        keys = QLabel(self._key_help())
        keys.setWordWrap(True)
        keys.setStyleSheet("color: #a8adb5;")
        keys.setTextInteractionFlags(Qt.TextSelectableByMouse)

        layout = QVBoxLayout(self)
        layout.addWidget(self.page_label)
        layout.addLayout(pages)
        layout.addWidget(self.confident_first)
        layout.addWidget(legend)
        layout.addWidget(self.marks_label)
        layout.addLayout(buttons)
        layout.addLayout(undo)
        layout.addWidget(keys)
        layout.addStretch(1)

    def _key_help(self):
        def key(action):
            return shortcut_of(action, grid=True) or "—"

        return (f"Click a tile: accept → reject → none · double-click: open it · keys on the grid: "
                f"{key('mark_accept')} accept, {key('mark_reject')} reject, {key('mark_open')} open for correction, "
                f"{key('mark_clear')} clear (each moves on), arrows move, {key('accept_rest')} accept the rest, "
                f"{key('apply')} apply, {key('next_page')} / {key('previous_page')} pages, {key('open')} show the "
                f"tile, {key('undo')} undo, {key('redo')} redo, {key('grid')} back to the list.")

    # ================================================================= pages
    def tiles(self):
        """The queue's tiles with the list's filters, in its order; confident ones first (unless unchecked)."""
        model = self.owner.model
        tiles = model.tiles_in_order()
        if not self.confident_first.isChecked() or not tiles:
            return tiles
        table = model.table
        acceptable = batch_acceptable_rows(table)[model.order]
        return [tiles[k] for k in np.flatnonzero(acceptable)] + [tiles[k] for k in np.flatnonzero(~acceptable)]

    def _on_order_changed(self, on):
        save_settings(grid_confident_first=bool(on))
        self.page, self.cursor = 0, 0
        if self.active:
            self.draw()

    @property
    def pages(self):
        n = len(self.tiles())
        return max(1, -(-n // len(self.layout_)))

    def page_tiles(self):
        size = len(self.layout_)
        return self.tiles()[self.page * size:(self.page + 1) * size]

    def go(self, page):
        """Show page `page` (clamped to the queue)."""
        self.page = min(max(0, int(page)), self.pages - 1)
        self.cursor = 0
        self.draw()

    def set_size(self, cols, rows):
        """Show `cols` x `rows` tiles per page (kept for next time)."""
        for box, value in ((self.cols, cols), (self.rows, rows)):
            box.blockSignals(True)
            box.setValue(int(value))
            box.blockSignals(False)
        self._on_size_changed()

    def fit_to_canvas(self):
        """Choose the grid size from the canvas size: each tile shown at about 1.2 times its size."""
        height, width = self.owner.viewer.canvas.size          # napari's canvas model: (height, width)
        h, w = self.layout_.cell_shape
        shown = 1.2 * 101 / self.layout_.size              # screen pixels per picture pixel wanted
        cols = max(2, min(12, int(width / (w * shown))))
        rows = max(2, min(12, int(height / (h * shown))))
        self.set_size(cols, rows)

    def _on_size_changed(self, *_):
        self._fitted = True                   # a size was chosen: keep it
        first = self.page * len(self.layout_)
        self.layout_ = GridLayout(self.cols.value(), self.rows.value())
        save_settings(grid_cols=self.layout_.cols, grid_rows=self.layout_.rows)
        self.page = first // len(self.layout_)
        if self.active:
            self.draw(fit=True)

    def draw(self, fit=False):
        """Read the page's tiles and draw them on the canvas; returns the milliseconds it took."""
        if self.owner.reviewer is None:
            return 0.0
        if not self._fitted:
            self._fitted = True
            self.fit_to_canvas()          # draws through the size change
            return 0.0
        start = time.perf_counter()
        viewer = self.owner.viewer
        first = find_layer(viewer, f"{GROUP}:grid") is None
        self.page = min(self.page, self.pages - 1)          # the queue may have shrunk
        tiles = self.page_tiles()
        self.cells = load_cells(self.owner.reviewer, tiles)
        self.cursor = min(self.cursor, max(0, len(self.cells) - 1))
        self.picture = render_page(self.cells, self.layout_, self.marks, self.cursor)
        show_only_group(viewer, GROUP, self.owner.session.hidden_layers)
        layer = put_layer(viewer, f"{GROUP}:grid", "image", self.picture, name="triage grid", rgb=True,
                          layer_class=TriageImage)
        own(layer, self)
        if first:
            layer.mouse_drag_callbacks.append(self._on_click)
            layer.mouse_double_click_callbacks.append(self._on_double_click)
        if viewer.layers.selection.active is not layer:
            viewer.layers.selection.active = layer
        if first or fit:
            fit_view(viewer, [layer])
        text_overlay(viewer).visible = False       # the captions say it; the tile's line would cover the last row
        self._describe()
        ms = (time.perf_counter() - start) * 1000
        self.page_drawn.emit(ms)
        return ms

    def _redraw_cell(self, k):
        if self.picture is None or not 0 <= k < len(self.cells):
            return
        render_cell(self.picture, k, self.cells[k], self.layout_, self.marks.get(self.cells[k].tile), k == self.cursor)
        layer = find_layer(self.owner.viewer, f"{GROUP}:grid")
        if layer is not None:
            layer.refresh()

    def _describe(self):
        n = len(self.tiles())
        size = len(self.layout_)
        first = self.page * size
        if n == 0:
            self.page_label.setText("The queue is empty with these filters.")
        else:
            self.page_label.setText(f"Page {self.page + 1:,} of {self.pages:,} · tiles {first + 1:,}–"
                                    f"{min(n, first + size):,} of {n:,} (the list's filters"
                                    + ("; confident tiles first)" if self.confident_first.isChecked() else
                                       ", in its order)"))
        counts = {m: sum(1 for v in self.marks.values() if v == m) for m in ("accept", "reject", "open")}
        if any(counts.values()):
            self.marks_label.setText("Marked: " + " · ".join(
                f"<span style='color:{MARK_COLOURS[m]}'>{c:,} {m}</span>" for m, c in counts.items()))
        else:
            self.marks_label.setText("No marks yet.")
        self.previous_button.setEnabled(self.page > 0)
        self.next_button.setEnabled(self.page < self.pages - 1)
        self.apply_button.setEnabled(bool(self.marks))

    # ================================================================= marks
    def mark(self, k, mark):
        """Give cell `k` a mark (None clears it); a disputed tile cannot be marked accepted. Returns True if set."""
        if not 0 <= k < len(self.cells):
            return False
        cell = self.cells[k]
        if mark == "accept" and (cell.disputed or cell.state != "proposed"):
            why = ("is disputed: mark it open (to take a model's mask or draw one) or reject it" if cell.disputed
                   else f"is {cell.state} already")
            self.owner.set_status(f"{cell.tile} {why}.")
            return False
        if mark is None:
            self.marks.pop(cell.tile, None)
        else:
            self.marks[cell.tile] = mark
        self._redraw_cell(k)
        self._describe()
        return True

    def clear_marks(self):
        self.marks.clear()
        if self.active:
            self.draw()

    def move(self, step=None, to=None):
        old = self.cursor
        if to is None:
            to = old + step
        if not self.cells:
            return
        self.cursor = min(max(0, to), len(self.cells) - 1)
        self._redraw_cell(old)
        self._redraw_cell(self.cursor)

    def on_action(self, action):
        """A grid key (see `saltviewer.plugins.review.keys.TRIAGE_ACTIONS`)."""
        cols = self.layout_.cols
        if action in ("mark_accept", "mark_reject", "mark_open", "mark_clear"):
            mark = {"mark_accept": "accept", "mark_reject": "reject", "mark_open": "open"}.get(action)
            if self.mark(self.cursor, mark):
                self.move(+1)
        elif action == "accept_rest":
            for cell in self.cells:
                if cell.tile not in self.marks and cell.batch_acceptable:
                    self.marks[cell.tile] = "accept"
            self.draw()
        elif action == "apply":
            self.apply()
        elif action in ("next_page", "previous_page"):
            self.go(self.page + (1 if action == "next_page" else -1))
        elif action.startswith("cursor_"):
            self.move({"cursor_left": -1, "cursor_right": +1, "cursor_up": -cols, "cursor_down": +cols}[action])
        elif action == "open" and self.cells:
            self.owner.open_from_grid([self.cells[self.cursor].tile])
        elif action in ("undo", "redo"):
            self.owner.on_action(action)
        elif action == "grid":
            self.owner.show_list()

    def apply(self):
        """Write the accept and reject marks as one batch, then open the tiles marked open."""
        from saltviewer import SaltviewerError

        if not self.marks or self.owner.reviewer is None:
            return []
        decide = {tile: mark for tile, mark in self.marks.items() if mark in ("accept", "reject")}
        to_open = [tile for tile, mark in self.marks.items() if mark == "open"]
        decided = []
        if decide:
            try:
                decided = self.owner.reviewer.apply_marks(decide, label=f"triage grid page {self.page + 1}")
            except SaltviewerError as error:
                self.owner.notify_error(error)
                return []
        self.marks.clear()
        self.owner.after_batch(decided, f"Applied {len(decided):,} marks as one batch")
        self.applied.emit(decided)
        if to_open:
            self.owner.open_from_grid(to_open)
        else:                         # decided tiles leave the list (and the grid) as its filters say
            self.owner.reload_queue()
        return decided

    # ================================================================= mouse
    def _cell_of(self, layer, event):
        y, x = layer.world_to_data(event.position)[-2:]
        return self.layout_.cell_at(y, x)

    def _on_click(self, layer, event):
        k = self._cell_of(layer, event)
        yield
        moved = False
        while event.type == "mouse_move":       # a drag pans the view; only a click marks
            moved = True
            yield
        if moved or k is None or k >= len(self.cells):
            return
        order = {None: "accept", "accept": "reject", "reject": None, "open": None}
        current = self.marks.get(self.cells[k].tile)
        if "Shift" in {str(m) for m in getattr(event, "modifiers", ())}:
            wanted = "reject"
        else:
            wanted = order[current]
            if wanted == "accept" and self.cells[k].disputed:
                wanted = "reject"
        self.move(to=k)
        self.mark(k, wanted)

    def _on_double_click(self, layer, event):
        k = self._cell_of(layer, event)
        if k is not None and k < len(self.cells):
            self.owner.open_from_grid([self.cells[k].tile])

