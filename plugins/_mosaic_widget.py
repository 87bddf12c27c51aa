"""Mosaic widget: list the mosaics of neighbouring tiles, show one stitched, click a tile to review it.

The stitched view holds the image, the masks in force (training masks, accepted and
corrected pseudo-labels), the ensemble's consensus, an outline and name for every tile
(coloured by its review state) and the tile boundaries where the masks do not continue
(red). Clicking a tile opens it in the Review widget.
"""

import numpy as np
from qtpy.QtCore import QSize, Qt, QTimer, Signal
from qtpy.QtWidgets import (QAbstractItemView, QCheckBox, QGridLayout, QGroupBox, QHBoxLayout, QHeaderView, QLabel,
                            QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from ._data_bar import DataBar
from ._layers import find_layer, put_layer, remove_layers, show_only_group
from ._session import notify_error, session_for
from ._style import CONSENSUS, MISMATCH, SALT, STATE_COLOURS, label_colours

__all__ = ["MosaicWidget"]

GROUP = "mosaic"
TILE = 101


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
        self.mosaics = []             # saltviewer.mosaic objects, in list order
        self.shown = None             # position of the mosaic on the canvas
        self._grid = None             # (rows, cols) dataset positions of the shown mosaic
        self._worker = None
        self._build()
        self.session.changed.connect(self.reload)
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
        self.table.setToolTip("Double-click a mosaic to show it stitched")
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
        legend = QLabel(" ".join(f"<span style='color:{colour}'>■ {state}</span>"
                                 for state, colour in STATE_COLOURS.items()))
        legend.setToolTip("Tile outlines are coloured by review state")
        view_box = QGroupBox("Shown mosaic")
        view_layout = QVBoxLayout(view_box)
        view_layout.addLayout(checks)
        view_layout.addWidget(legend)
        view_layout.addWidget(self.info_label)

        layout = QVBoxLayout(self)
        layout.addWidget(self.data_bar)
        layout.addWidget(list_box, 1)
        layout.addWidget(view_box)
        self.setMinimumWidth(360)

    def sizeHint(self):
        return QSize(420, 600)

    # ------------------------------------------------------------------ list
    def reload(self):
        """List the mosaics of the open dataset."""
        from saltviewer import SaltviewerError

        self.table.setSortingEnabled(False)
        self.table.setRowCount(0)
        self.mosaics = []
        if not self.session.is_open:
            self.summary_label.setText("Open a data folder and a workspace (Open… above).")
            self._set_enabled(False)
            return
        self._set_enabled(True)
        try:
            self.mosaics = _load_mosaics(self.session.workspace, self.session.dataset)
        except SaltviewerError as error:
            notify_error(error)
            self.mosaics = []
        except ImportError:
            self.summary_label.setText("This installation has no mosaic module (saltviewer.mosaic).")
            self.build_button.setEnabled(False)
            return
        labelled = self.session.dataset.has_mask
        self.table.setRowCount(len(self.mosaics))
        for row, mosaic in enumerate(self.mosaics):
            grid = _grid(mosaic)
            filled = grid[grid >= 0]
            cells = [(f"#{row + 1}", row), (f"{grid.shape[0]} × {grid.shape[1]}", grid.size),
                     (f"{len(filled)}", len(filled)), (f"{int(labelled[filled].sum())}", int(labelled[filled].sum()))]
            for column, (text, key) in enumerate(cells):
                item = _SortItem(text, key)
                item.setData(Qt.UserRole, row)
                item.setTextAlignment(int(Qt.AlignRight | Qt.AlignVCenter) if column else int(Qt.AlignLeft | Qt.AlignVCenter))
                self.table.setItem(row, column, item)
        self.table.setSortingEnabled(True)
        n = len(self.mosaics)
        if n:
            tiles = sum(int((_grid(m) >= 0).sum()) for m in self.mosaics)
            self.summary_label.setText(f"{n:,} mosaics hold {tiles:,} of {len(self.session.dataset):,} tiles.")
            self.table.selectRow(0)
        else:
            self.summary_label.setText("No mosaics yet: press “Find mosaics”.")

    def _set_enabled(self, enabled):
        for widget in (self.table, self.show_button, self.build_button):
            widget.setEnabled(enabled)

    def _selected(self):
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self._position_of_row(rows[0].row()) if rows else None

    def _position_of_row(self, row):
        item = self.table.item(row, 0)
        return None if item is None else int(item.data(Qt.UserRole))

    def _on_build_clicked(self):
        from napari.qt.threading import create_worker

        if not self.session.is_open or self._worker is not None:
            return
        self.build_button.setEnabled(False)
        self.summary_label.setText("Finding neighbours and assembling mosaics…")
        worker = create_worker(_build_mosaics, self.session.workspace, self.session.dataset,
                               _progress={"desc": "Finding mosaics"}, _ignore_errors=True)
        worker.returned.connect(lambda _: self.reload())
        worker.errored.connect(lambda error: notify_error(f"finding mosaics failed: {error}"))
        worker.finished.connect(self._on_build_finished)
        self._worker = worker
        worker.start()

    def _on_build_finished(self):
        self._worker = None
        self.build_button.setEnabled(self.session.is_open)

    # ------------------------------------------------------------------ showing
    def show_mosaic(self, position):
        """Stitch the mosaic at `position` (in `mosaics`) onto the canvas."""
        if position is None or not 0 <= position < len(self.mosaics):
            return
        mosaic = self.mosaics[position]
        grid = _grid(mosaic)
        dataset = self.session.dataset
        viewer = self.viewer
        show_only_group(viewer, GROUP)
        image = np.zeros((grid.shape[0] * TILE, grid.shape[1] * TILE), np.uint8)
        filled = np.argwhere(grid >= 0)
        indices = grid[grid >= 0]
        tiles = dataset.images(indices)
        for (r, c), tile in zip(filled, tiles):
            image[r * TILE:(r + 1) * TILE, c * TILE:(c + 1) * TILE] = tile
        masks, states = self._masks_in_force(grid)
        consensus = self._consensus(grid)
        first = find_layer(viewer, f"{GROUP}:image") is None
        put_layer(viewer, f"{GROUP}:image", "image", image, name="mosaic", colormap="gray", contrast_limits=(0, 255))
        put_layer(viewer, f"{GROUP}:masks", "labels", masks, name="mosaic masks in force",
                  colormap=label_colours(SALT), opacity=0.4)
        if consensus is not None:
            layer = put_layer(viewer, f"{GROUP}:consensus", "labels", consensus, name="mosaic consensus",
                              colormap=label_colours(CONSENSUS), opacity=0.9)
            layer.contour = 2
        else:
            remove_layers(viewer, [find_layer(viewer, f"{GROUP}:consensus")])
        self._put_outlines(grid, states)
        self._put_mismatches(grid, masks)
        for role, check in self.layer_checks.items():
            layer = find_layer(viewer, f"{GROUP}:{role}")
            if layer is not None:
                layer.visible = check.isChecked()
        self.shown, self._grid = position, grid
        self._hook_clicks()
        if first or True:
            viewer.reset_view()
        n_mismatch = len(find_layer(viewer, f"{GROUP}:mismatch").data) if find_layer(viewer, f"{GROUP}:mismatch") else 0
        self.info_label.setText(f"Mosaic #{position + 1}: {grid.shape[0]} × {grid.shape[1]}, {len(indices)} tiles, "
                                f"{n_mismatch} mismatched seam{'s' if n_mismatch != 1 else ''}. "
                                "Click a tile to review it.")
        self.mosaic_shown.emit(position)

    def _masks_in_force(self, grid):
        """Stitched masks in force and the review state of each cell."""
        dataset, store = self.session.dataset, self.session.store
        labels = store.pseudo_labels(dataset, kinds=("pseudo", "label"))
        items = {(item.tile): item.state for item in store.items(dataset)}
        out = np.zeros((grid.shape[0] * TILE, grid.shape[1] * TILE), np.uint8)
        states = np.full(grid.shape, "", dtype="<U12")
        for (r, c) in np.argwhere(grid >= 0):
            i = int(grid[r, c])
            tile = dataset.ids[i]
            mask = labels.get(tile)
            if mask is None and dataset.has_mask[i]:
                mask = dataset.mask(i)
            if mask is not None:
                out[r * TILE:(r + 1) * TILE, c * TILE:(c + 1) * TILE] = mask
            states[r, c] = items.get(tile) or ("labelled" if dataset.has_mask[i] else "")
        return out, states

    def _consensus(self, grid):
        from saltviewer.ensemble import Ensemble
        from saltviewer.pseudo import versions_with_predictions

        versions = versions_with_predictions(self.session.workspace, self.session.dataset)
        if not versions:
            return None
        ensemble = Ensemble(self.session.workspace, self.session.dataset, versions)
        out = np.zeros((grid.shape[0] * TILE, grid.shape[1] * TILE), np.uint8)
        cells = np.argwhere(grid >= 0)
        for positions, _, masks in ensemble.consensus(grid[grid >= 0]):
            for i, mask in zip(positions, masks):
                r, c = cells[np.flatnonzero(grid[grid >= 0] == i)[0]]
                out[r * TILE:(r + 1) * TILE, c * TILE:(c + 1) * TILE] = mask
        return out

    def _put_outlines(self, grid, states):
        dataset = self.session.dataset
        rectangles, names, colours = [], [], []
        for (r, c) in np.argwhere(grid >= 0):
            y, x = r * TILE, c * TILE
            rectangles.append(np.array([[y, x], [y, x + TILE - 1], [y + TILE - 1, x + TILE - 1], [y + TILE - 1, x]],
                                       float))
            names.append(dataset.ids[int(grid[r, c])])
            colours.append(STATE_COLOURS.get(states[r, c], "#9aa0a6"))
        layer = find_layer(self.viewer, f"{GROUP}:tiles")
        if layer is not None:
            self.viewer.layers.remove(layer)
        text = {"string": "{tile}", "anchor": "upper_left", "size": 8, "color": "white",
                "translation": np.array([6.0, 4.0])}
        self.viewer.add_shapes(rectangles, shape_type="rectangle", edge_color=colours, face_color="transparent",
                               edge_width=1.5, features={"tile": names}, text=text, name="mosaic tiles",
                               metadata={"saltviewer_role": f"{GROUP}:tiles"})

    def _put_mismatches(self, grid, masks):
        """Red lines on the seams where the masks in force do not continue across."""
        from ._mosaic import seam_mismatches

        lines, widths = [], []
        for (r, c, kind, score) in seam_mismatches(grid, masks):
            if kind == "right":
                x = (c + 1) * TILE - 0.5
                lines.append(np.array([[r * TILE, x], [(r + 1) * TILE - 1, x]], float))
            else:
                y = (r + 1) * TILE - 0.5
                lines.append(np.array([[y, c * TILE], [y, (c + 1) * TILE - 1]], float))
            widths.append(2 + 4 * float(score))
        layer = find_layer(self.viewer, f"{GROUP}:mismatch")
        if layer is not None:
            self.viewer.layers.remove(layer)
        self.viewer.add_shapes(lines, shape_type="line", edge_color=MISMATCH, edge_width=widths or 2,
                               name="mosaic mismatched seams", metadata={"saltviewer_role": f"{GROUP}:mismatch"})

    def _on_layer_toggled(self, role, on):
        layer = find_layer(self.viewer, f"{GROUP}:{role}")
        if layer is not None:
            layer.visible = bool(on)

    def _on_decisions_changed(self, *_):
        if self.shown is not None and find_layer(self.viewer, f"{GROUP}:image") is not None:
            if find_layer(self.viewer, f"{GROUP}:image").visible:
                self.show_mosaic(self.shown)

    # ------------------------------------------------------------------ clicks
    def _hook_clicks(self):
        callbacks = self.viewer.mouse_drag_callbacks
        if self._on_canvas_click not in callbacks:
            callbacks.append(self._on_canvas_click)

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

    def _on_canvas_click(self, viewer, event):
        """Open the clicked tile in the Review widget (a click, not the end of a pan)."""
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
            self.session.request_tile(tile)


class _SortItem(QTableWidgetItem):
    """A table cell that sorts by a number rather than its text."""

    def __init__(self, text, key):
        super().__init__(text)
        self.key = key

    def __lt__(self, other):
        if isinstance(other, _SortItem):
            return self.key < other.key
        return super().__lt__(other)


def _grid(mosaic):
    return np.asarray(mosaic.grid)


def _load_mosaics(workspace, dataset):
    from ._mosaic import load_mosaics

    return load_mosaics(workspace, dataset)


def _build_mosaics(workspace, dataset):
    from ._mosaic import build_mosaics

    return build_mosaics(workspace, dataset)
