"""Mosaic widget: list the mosaics of neighbouring tiles, show one stitched, decide on several of its tiles.

The stitched view holds the image, the masks in force (training masks, accepted and
corrected pseudo-labels), the ensemble's consensus, an outline and name for every tile
(coloured by its review state) and the tile boundaries where the masks do not continue
(red). Clicking tiles selects them (a thick cyan outline): *Accept selected* accepts what is
proposed or predicted for all of them as one batch. *Edit masks* opens the stitched masks
(in force, else predicted) for painting across tile edges; *Save edits* puts every tile
whose pixels changed in force as a correction, one batch. Double-clicking a tile opens it in
the Review widget.
"""

import numpy as np
from qtpy.QtCore import QSize, Qt, QTimer, Signal
from qtpy.QtWidgets import (QAbstractItemView, QCheckBox, QGridLayout, QGroupBox, QHBoxLayout, QHeaderView, QLabel,
                            QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

SELECTED = "#00e5ff"      # outline of a selected tile

from ..common.data_bar import DataBar
from ..common.job_bar import JobBar
from ..common.layers import find_layer, fit_view, put_layer, remove_layers, show_only_group, text_overlay
from ..common.log import report_error
from ..common.workers import start_worker
from ..common.session import session_for
from ..common.style import CONSENSUS, MISMATCH, SALT, STATE_COLOURS, label_colours

__all__ = ["MosaicWidget"]

GROUP = "mosaic"
TILE = 101
NAME_WIDTH = 56          # screen pixels a tile needs before its name is drawn


class MosaicWidget(QWidget):
    """Inspect mosaics (dock it from Plugins > saltviewer > Mosaics).

    Parameters
    ----------
    napari_viewer : napari.Viewer
    """

    #: Emitted with the mosaic's position in the list each time one is shown.
    mosaic_shown = Signal(int)

    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)
        self.mosaics = []             # saltviewer.mosaic.Mosaic objects, largest first
        self.shown = None             # position of the mosaic on the canvas
        self.layers = None            # its MosaicLayers
        self._grid = None             # (rows, cols) dataset positions of the shown mosaic
        self._worker = None
        self._ensemble = None         # the model versions of the shown mosaic (their scores decide disputes)
        self._mosaic_of = {}          # tile id -> position of its mosaic in `mosaics`
        self.focus = None             # the tile the Review dock shows (centred when its mosaic is shown)
        self.selected = []            # tile ids selected on the canvas, in the order clicked
        self._edit_start = None       # the canvas the edits started from (None: not editing)
        self._build()
        self.session.changed.connect(self.reload)
        self.session.tile_shown.connect(self._on_review_tile)
        self.session.decisions_changed.connect(self._on_decisions_changed)
        self.session.versions_changed.connect(self._on_decisions_changed)
        if not self.session.is_open:
            self.session.open_remembered()
        QTimer.singleShot(0, self.reload)

    def _build(self):
        self.data_bar = DataBar(self.session, self)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Mosaic", "Size", "Tiles", "Labelled"])
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(20)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.table.setSortingEnabled(True)
        self.table.itemDoubleClicked.connect(lambda item: self.show_mosaic(self._position_of_row(item.row())))
        self.table.itemActivated.connect(lambda item: self.show_mosaic(self._position_of_row(item.row())))
        self.table.setToolTip("Double-click a mosaic (or press Enter) to show it stitched")
        self.show_button = QPushButton("Show")
        self.show_button.setToolTip("Show the selected mosaic stitched on the canvas")
        self.show_button.clicked.connect(lambda: self.show_mosaic(self._selected()))
        self.build_button = QPushButton("Find mosaics")
        self.build_button.setToolTip("Find neighbouring tiles and assemble mosaics (kept in the workspace)")
        self.build_button.clicked.connect(self._on_build_clicked)
        self.summary_label = QLabel("")
        self.summary_label.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.summary_label, 1)
        buttons.addWidget(self.build_button)
        buttons.addWidget(self.show_button)
        list_box = QGroupBox("Mosaics")
        list_layout = QVBoxLayout(list_box)
        list_layout.addWidget(self.table, 1)
        list_layout.addLayout(buttons)

        self.layer_checks = {}
        checks = QGridLayout()
        for position, (role, label, colour) in enumerate((
                ("image", "image", None), ("masks", "masks in force", SALT), ("consensus", "consensus", CONSENSUS),
                ("tiles", "tile outlines", "#d8d8d8"), ("mismatch", "mismatched seams", MISMATCH))):
            check = QCheckBox(label)
            check.setChecked(True)
            if colour:
                check.setStyleSheet(f"color: {colour};")
            check.toggled.connect(lambda on, role=role: self._on_layer_toggled(role, on))
            checks.addWidget(check, position // 3, position % 3)
            self.layer_checks[role] = check
        self.info_label = QLabel("Click a tile on the canvas to review it.")
        self.info_label.setWordWrap(True)
        self.info_label.setStyleSheet("color: #a8adb5;")
        legend = QLabel("Tile outlines: " + " ".join(f"<span style='color:{colour}'>■&nbsp;{state}</span>"
                                                     for state, colour in (*STATE_COLOURS.items(),
                                                                           ("selected", SELECTED))))
        legend.setWordWrap(True)              # a narrow dock wraps it between states, never clips it
        legend.setToolTip("Tile outlines are coloured by review state")
        view_box = QGroupBox("Shown mosaic")
        view_layout = QVBoxLayout(view_box)
        view_layout.addLayout(checks)
        view_layout.addWidget(legend)
        view_layout.addWidget(self.info_label)

        decide_box = QGroupBox("Decide on tiles of the mosaic")
        decide_layout = QGridLayout(decide_box)
        self.accept_button = QPushButton("Accept selected")
        self.accept_button.setToolTip("Accept what is proposed (else the ensemble's consensus) for every selected "
                                      "tile, as one batch (one undo)")
        self.accept_button.clicked.connect(self.accept_selected)
        self.clear_button = QPushButton("Clear selection")
        self.clear_button.clicked.connect(self.clear_selection)
        self.edit_button = QPushButton("Edit masks")
        self.edit_button.setToolTip("Paint the stitched masks (in force, else predicted) across tile edges: "
                                    "label 1 is salt, 0 erases")
        self.edit_button.clicked.connect(self.start_editing)
        self.save_button = QPushButton("Save edits")
        self.save_button.setToolTip("Put every tile whose pixels you changed in force as a correction, one batch")
        self.save_button.clicked.connect(self.save_edits)
        self.review_button = QPushButton("Review")
        self.review_button.setToolTip("Open the first selected tile in the Review widget (or double-click a tile)")
        self.review_button.clicked.connect(lambda: self.selected and self.session.request_tile(
            self.selected[0], reason="Mosaics: selected in the stitched mosaic"))
        for position, button in enumerate((self.accept_button, self.clear_button, self.review_button,
                                           self.edit_button, self.save_button)):
            decide_layout.addWidget(button, position // 3, position % 3)
        self.decide_label = QLabel("Click tiles to select them; double-click one to review it.")
        self.decide_label.setWordWrap(True)
        decide_layout.addWidget(self.decide_label, 2, 0, 1, 3)

        self.job_bar = JobBar(self)
        layout = QVBoxLayout(self)
        layout.addWidget(self.data_bar)
        layout.addWidget(self.job_bar)
        layout.addWidget(list_box, 1)
        layout.addWidget(view_box)
        layout.addWidget(decide_box)
        self.setMinimumWidth(360)

    def sizeHint(self):
        return QSize(420, 600)

    def showEvent(self, event):
        super().showEvent(event)
        if self.focus is not None:
            QTimer.singleShot(0, lambda: self._on_review_tile(self.focus))

    # ------------------------------------------------------------------ list
    def reload(self):
        """List the mosaics of the open dataset."""
        from saltviewer import SaltviewerError

        from ..common.stored_mosaics import load_mosaics

        self.table.setSortingEnabled(False)
        self.table.setRowCount(0)
        self.mosaics = []
        if not self.session.is_open:
            self.summary_label.setText("Open a data folder and a workspace (Open… above).")
            self._set_enabled(False)
            return
        self._set_enabled(True)
        try:
            found = load_mosaics(self.session.workspace, self.session.dataset)
        except SaltviewerError as error:
            report_error(error, workspace=self.session.workspace_path, context="mosaics")
            found = None
        self.session.set_mosaics(found)
        self.mosaics = list(found) if found is not None else []
        self._mosaic_of = {tile: position for position, mosaic in enumerate(self.mosaics) for tile in mosaic.ids}
        dataset = self.session.dataset
        self.table.setRowCount(len(self.mosaics))
        for row, mosaic in enumerate(self.mosaics):
            labelled = mosaic.n_labelled(dataset)
            cells = [(f"#{mosaic.number + 1}", mosaic.number),
                     (f"{mosaic.shape[0]} × {mosaic.shape[1]}", mosaic.shape[0] * mosaic.shape[1]),
                     (f"{len(mosaic)}", len(mosaic)), (f"{labelled}", labelled)]
            for column, (text, key) in enumerate(cells):
                item = _SortItem(text, key)
                item.setData(Qt.UserRole, row)
                item.setTextAlignment(int(Qt.AlignRight | Qt.AlignVCenter) if column else int(Qt.AlignLeft | Qt.AlignVCenter))
                self.table.setItem(row, column, item)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.AscendingOrder)       # #1, the largest, first
        if self.mosaics:
            tiles = sum(len(m) for m in self.mosaics)
            self.summary_label.setText(f"{len(self.mosaics):,} mosaics hold {tiles:,} of {len(dataset):,} tiles.")
            self.table.selectRow(0)
        else:
            self.summary_label.setText("No mosaics yet: press “Find mosaics” (or run `saltviewer mosaic DATA "
                                       "--workspace WS`).")

    def _set_enabled(self, enabled):
        for widget in (self.table, self.show_button, self.build_button):
            widget.setEnabled(enabled)
        self._update_decide_buttons()

    def _selected(self):
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self._position_of_row(rows[0].row()) if rows else None

    def _position_of_row(self, row):
        item = self.table.item(row, 0)
        return None if item is None else int(item.data(Qt.UserRole))

    def _on_build_clicked(self):
        if not self.session.is_open or self._worker is not None:
            return
        self.build_button.setEnabled(False)
        self.summary_label.setText("Finding neighbours and assembling mosaics…")
        from ..common.job_process import run_job
        from ..common.workers import Cancelled

        def failed(error):
            if isinstance(error, Cancelled):
                self.summary_label.setText("Finding mosaics was cancelled.")
            else:
                report_error(f"finding mosaics failed: {error}", error, self.session.workspace_path, "mosaics")

        # in a child process: Cancel ends it at once (the search goes for seconds inside scipy)
        self._worker = start_worker(run_job, "find_mosaics", self.session.data_path, self.session.workspace_path,
                                    desc="Finding mosaics", progress_arg="progress",
                                    returned=lambda _: self.reload(), errored=failed,
                                    finished=self._on_build_finished)
        self.job_bar.follow(self._worker)

    def _on_build_finished(self):
        self._worker = None
        self.build_button.setEnabled(self.session.is_open)

    # ------------------------------------------------------------------ showing
    def show_mosaic(self, position):
        """Stitch the mosaic at `position` (in `mosaics`) onto the canvas."""
        from saltviewer.ensemble import Ensemble
        from saltviewer.pseudo import versions_with_predictions

        from .mosaic_view import mosaic_layers

        if position is None or not 0 <= position < len(self.mosaics):
            return
        mosaic = self.mosaics[position]
        session, viewer = self.session, self.viewer
        versions = versions_with_predictions(session.workspace, session.dataset)
        ensemble = Ensemble(session.workspace, session.dataset, versions) if versions else None
        self._ensemble = ensemble
        layers = mosaic_layers(mosaic, session.dataset, session.store, ensemble)
        show_only_group(viewer, GROUP, self.session.hidden_layers)
        put_layer(viewer, f"{GROUP}:image", "image", layers.image, name="mosaic", colormap="gray",
                  contrast_limits=(0, 255))
        put_layer(viewer, f"{GROUP}:masks", "labels", layers.masks, name="mosaic masks in force",
                  colormap=label_colours(SALT), opacity=0.3)
        if layers.consensus is not None:
            consensus = put_layer(viewer, f"{GROUP}:consensus", "labels", layers.consensus, name="mosaic consensus",
                                  colormap=label_colours(CONSENSUS), opacity=0.9)
            consensus.contour = 2
        else:
            remove_layers(viewer, [find_layer(viewer, f"{GROUP}:consensus")])
        remove_layers(viewer, [find_layer(viewer, f"{GROUP}:tiles"), find_layer(viewer, f"{GROUP}:mismatch")])
        colours = [STATE_COLOURS.get(state, "#9aa0a6") for state in layers.states]
        text = {"string": "{short}", "anchor": "upper_left", "size": 7, "color": "#f0f0f0",
                "translation": np.array([14.0, 4.0])}
        viewer.add_shapes(layers.outlines, shape_type="rectangle", edge_color=colours, face_color="transparent",
                          edge_width=1.5, text=text,
                          features={"tile": layers.names, "short": [name[:6] for name in layers.names],
                                    "state": layers.states},
                          name="mosaic tiles", metadata={"saltviewer_role": f"{GROUP}:tiles"})
        lines = layers.seam_lines()
        widths = [1.5 + 0.25 * min(seam.mismatch, 16) for seam in layers.seams]
        viewer.add_shapes(lines, shape_type="line", edge_color=MISMATCH, edge_width=widths or 2,
                          features={"mismatch": [seam.mismatch for seam in layers.seams]},
                          name="mosaic mismatched seams", metadata={"saltviewer_role": f"{GROUP}:mismatch"})
        for role, check in self.layer_checks.items():
            layer = find_layer(viewer, f"{GROUP}:{role}")
            if layer is not None:
                layer.visible = check.isChecked()
        viewer.layers.selection.active = find_layer(viewer, f"{GROUP}:image")
        if self.shown != position:
            self.selected, self._edit_start = [], None
            remove_layers(viewer, [find_layer(viewer, f"{GROUP}:edit")])
        self.shown, self._grid, self.layers = position, layers.grid, layers
        self.selected = [tile for tile in self.selected if tile in mosaic]
        self._draw_selection()
        for row in range(self.table.rowCount()):
            if self._position_of_row(row) == position and self._selected() != position:
                self.table.selectRow(row)
        self._hook_clicks()
        fit_view(viewer, [layer for layer in viewer.layers
                          if str(layer.metadata.get("saltviewer_role", "")).startswith(f"{GROUP}:")])
        if self.focus is not None and self.focus in mosaic.ids:
            self._centre_on(self.focus, mosaic)           # the tile the Review dock shows
        n = len(layers.seams)
        self.info_label.setText(f"Mosaic #{mosaic.number + 1}: {mosaic.shape[0]} × {mosaic.shape[1]}, "
                                f"{len(mosaic)} tiles, {mosaic.n_labelled(session.dataset)} labelled; "
                                f"{n} seam{'s' if n != 1 else ''} where salt stops at a tile edge. "
                                "Zoom in to read the tile names.")
        overlay = text_overlay(viewer)
        overlay.visible = True
        overlay.color = "#ffffff"
        overlay.text = f"mosaic #{mosaic.number + 1}  ·  {mosaic.shape[0]} × {mosaic.shape[1]}  ·  {len(mosaic)} tiles"
        self.mosaic_shown.emit(position)

    def _on_review_tile(self, tile):
        """The Review dock shows a tile: select the row of its mosaic and say so (Show centres on the tile)."""
        self.focus = tile
        if not self.isVisible():
            return                              # done when the dock is shown (showEvent)
        position = self._mosaic_of.get(tile)
        if position is None:
            if self.mosaics:
                self.info_label.setText(f"Review shows {tile}: it is in no mosaic.")
            return
        mosaic = self.mosaics[position]
        for row in range(self.table.rowCount()):
            if self._position_of_row(row) == position:
                self.table.selectRow(row)
                self.table.scrollToItem(self.table.item(row, 0))
                break
        r, c = mosaic.position(tile)
        self.info_label.setText(f"Review shows {tile}: mosaic #{mosaic.number + 1} ({mosaic.shape[0]} × "
                                f"{mosaic.shape[1]}), row {r + 1}, column {c + 1}, selected above; Show puts it on the "
                                "canvas, centred on the tile.")

    def _centre_on(self, tile, mosaic):
        """Centre the camera on a tile of the shown mosaic, about five tiles across."""
        r, c = mosaic.position(tile)
        camera = _camera(self.viewer)
        height, width = self.viewer.canvas.size
        camera.center = (r * TILE + TILE / 2, c * TILE + TILE / 2)
        camera.zoom = max(camera.zoom, min(height, width) / (5 * TILE))

    # ------------------------------------------------------------------ deciding
    def toggle_tile(self, tile):
        """Select a tile of the shown mosaic, or unselect it."""
        if tile in self.selected:
            self.selected.remove(tile)
        else:
            self.selected.append(tile)
        self._draw_selection()

    def clear_selection(self):
        self.selected = []
        self._draw_selection()

    def _draw_selection(self):
        layer = find_layer(self.viewer, f"{GROUP}:tiles")
        if layer is not None and self.layers is not None:
            chosen = set(self.selected)
            layer.edge_color = [SELECTED if name in chosen else STATE_COLOURS.get(state, "#9aa0a6")
                                for name, state in zip(self.layers.names, self.layers.states)]
            layer.edge_width = [4.0 if name in chosen else 1.5 for name in self.layers.names]
        self._update_decide_buttons()

    def _update_decide_buttons(self):
        showing = self.layers is not None and self.session.is_open
        self.accept_button.setText(f"Accept {len(self.selected)} selected" if self.selected else "Accept selected")
        self.accept_button.setEnabled(showing and bool(self.selected))
        self.clear_button.setEnabled(bool(self.selected))
        self.review_button.setEnabled(showing and bool(self.selected))
        self.edit_button.setEnabled(showing)
        self.save_button.setEnabled(showing and self._edit_start is not None)

    def _user(self):
        from ..common.settings import load_settings

        return load_settings().get("reviewer") or None

    def accept_selected(self):
        """Accept what is proposed, else predicted, for the selected tiles (one batch)."""
        from saltviewer import SaltviewerError

        from .mosaic_view import accept_tiles

        if not self.selected or self.layers is None:
            return
        try:
            accepted, skipped = accept_tiles(self.session.store, self.session.dataset, list(self.selected),
                                             self._ensemble, user=self._user(),
                                             mosaic=self.mosaics[self.shown])
        except SaltviewerError as error:
            report_error(error, workspace=self.session.workspace_path, context="mosaics")
            return
        self.selected = [tile for tile in self.selected if tile in skipped]
        self._report(f"accepted {len(accepted)} tile{'s' if len(accepted) != 1 else ''}", skipped)
        self.session.decisions_changed.emit(self)
        self.show_mosaic(self.shown)

    def start_editing(self):
        """Put the stitched masks (in force, else predicted) on the canvas to paint on."""
        if self.layers is None:
            return
        self._edit_start = self.layers.shown.copy()
        layer = put_layer(self.viewer, f"{GROUP}:edit", "labels", self.layers.shown.copy(), name="mosaic edits",
                          colormap=label_colours(SELECTED), opacity=0.5)
        self.viewer.layers.selection.active = layer
        layer.selected_label = 1
        layer.brush_size = 10
        layer.mode = "paint"
        self.decide_label.setText("Paint salt (label 1) or erase (0) on “mosaic edits” across the tile edges, "
                                  "then Save edits.")
        self._update_decide_buttons()

    def save_edits(self):
        """Put every tile whose painted pixels changed in force as a correction (one batch)."""
        from saltviewer import SaltviewerError

        from .mosaic_view import save_edits

        layer = find_layer(self.viewer, f"{GROUP}:edit")
        if layer is None or self._edit_start is None:
            return
        try:
            corrected = save_edits(self.session.store, self.session.dataset, self.mosaics[self.shown],
                                   np.asarray(layer.data), self._edit_start, ensemble=self._ensemble,
                                   user=self._user())
        except SaltviewerError as error:
            report_error(error, workspace=self.session.workspace_path, context="mosaics")
            return
        self._edit_start = None
        remove_layers(self.viewer, [layer])
        self._report(f"saved {len(corrected)} corrected tile{'s' if len(corrected) != 1 else ''}", {})
        self.session.decisions_changed.emit(self)
        self.show_mosaic(self.shown)

    def _report(self, done, skipped):
        text = done[0].upper() + done[1:] + "."
        if skipped:
            reasons = {}
            for tile, why in skipped.items():
                reasons.setdefault(why, []).append(tile)
            text += " Left as they are: " + "; ".join(
                f"{', '.join(tiles) if len(tiles) <= 3 else f'{len(tiles)} tiles'} ({why})"
                for why, tiles in reasons.items()) + "."
        self.decide_label.setText(text)

    def _on_layer_toggled(self, role, on):
        layer = find_layer(self.viewer, f"{GROUP}:{role}")
        if layer is not None:
            layer.visible = bool(on)

    def _on_decisions_changed(self, sender=None, *_):
        if sender is self or self._edit_start is not None:
            return                      # our own batch (already redrawn), or a person is painting
        if self.shown is not None and find_layer(self.viewer, f"{GROUP}:image") is not None:
            if find_layer(self.viewer, f"{GROUP}:image").visible:
                self.show_mosaic(self.shown)

    # ------------------------------------------------------------------ clicks
    def _hook_clicks(self):
        callbacks = self.viewer.mouse_drag_callbacks
        if self._on_canvas_click not in callbacks:
            callbacks.append(self._on_canvas_click)
            self.viewer.mouse_double_click_callbacks.append(self._on_canvas_double_click)
            _camera(self.viewer).events.zoom.connect(self._on_zoom)
        self._on_zoom()

    def _on_zoom(self, *_):
        """Tile names show only when a tile is wide enough on screen to hold one."""
        layer = find_layer(self.viewer, f"{GROUP}:tiles")
        if layer is not None:
            wide = _camera(self.viewer).zoom * TILE >= NAME_WIDTH
            if layer.text.visible != wide:
                layer.text.visible = wide

    def tile_at(self, position):
        """The tile id under a canvas position (data coordinates), or None."""
        image = find_layer(self.viewer, f"{GROUP}:image")
        if self._grid is None or image is None or not image.visible:
            return None
        y, x = position[-2:]
        r, c = int(np.floor(y / TILE)), int(np.floor(x / TILE))
        if 0 <= r < self._grid.shape[0] and 0 <= c < self._grid.shape[1] and self._grid[r, c] >= 0:
            return self.session.dataset.ids[int(self._grid[r, c])]
        return None

    def _painting(self):
        layer = find_layer(self.viewer, f"{GROUP}:edit")
        return (layer is not None and self.viewer.layers.selection.active is layer
                and layer.mode in ("paint", "erase", "fill"))

    def _on_canvas_double_click(self, viewer, event):
        """Open the double-clicked tile in the Review widget."""
        tile = self.tile_at(np.asarray(event.position, float))
        if tile is not None and not self._painting():
            self.session.request_tile(tile, reason="Mosaics: double-clicked in the stitched mosaic")

    def _on_canvas_click(self, viewer, event):
        """Select or unselect the clicked tile (a click, not the end of a pan nor a paint stroke)."""
        if self._painting():
            return
        start = np.asarray(event.position, float)
        yield
        moved = False
        while event.type == "mouse_move":
            moved = moved or np.abs(np.asarray(event.position) - start).max() > 3
            yield
        if moved:
            return
        tile = self.tile_at(start)
        if tile is not None:
            self.toggle_tile(tile)


def _camera(viewer):
    scene = getattr(viewer, "scene", None)
    return scene.camera if scene is not None and hasattr(scene, "camera") else viewer.camera


class _SortItem(QTableWidgetItem):
    """A table cell that sorts by a number rather than its text."""

    def __init__(self, text, key):
        super().__init__(text)
        self.key = key

    def __lt__(self, other):
        if isinstance(other, _SortItem):
            return self.key < other.key
        return super().__lt__(other)


