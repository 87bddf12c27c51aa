"""SEG-Y dock: predicted salt over a seismic section, and from a place on it to its tile in Review.

Open a section with File > Open (the ``.sgy`` reader), then in this dock choose the salt that
``saltviewer segy predict`` wrote for it (a translucent probability heat map and the mask's
outline go over the section) and the tiles folder that ``saltviewer segy tiles`` cut from it.
A click on the section names the tile under it, outlines it, emits `tile_clicked` and asks the
Review dock to show it (the tiles folder is opened in the viewer's session with its workspace).
"""

from pathlib import Path

import numpy as np
from qtpy.QtCore import Signal
from qtpy.QtWidgets import (QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton,
                            QVBoxLayout, QWidget)

from .reader import SEGY_KEY, describe_position, salt_layers
from ..common.session import notify_error, session_for
from ..common.style import CONSENSUS

__all__ = ["SegyWidget"]

TILE = 101
MARK = "segy: tile"


class SegyWidget(QWidget):
    """Salt over a SEG-Y section, and its tiles (dock it from Plugins > saltviewer > SEG-Y).

    Parameters
    ----------
    napari_viewer : napari.Viewer
    """

    #: Emitted with the id of the tile under a click on the section.
    tile_clicked = Signal(str)

    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)
        self.manifest = None
        self._build()
        self.viewer.layers.events.inserted.connect(self._refresh_sections)
        self.viewer.layers.events.removed.connect(self._refresh_sections)
        self.viewer.mouse_drag_callbacks.append(self._on_canvas_click)
        self.viewer.cursor.events.position.connect(self._on_cursor)
        self._refresh_sections()

    def _build(self):
        self.section_box = QComboBox()
        self.section_box.setToolTip("The SEG-Y section (open one with File > Open)")
        self.salt_edit = QLineEdit()
        self.salt_edit.setPlaceholderText("SALT.sgy from `saltviewer segy predict`")
        salt_button = QPushButton("Salt…")
        salt_button.setToolTip("Show predicted salt over the section")
        salt_button.clicked.connect(self._on_choose_salt)
        self.tiles_edit = QLineEdit()
        self.tiles_edit.setPlaceholderText("folder from `saltviewer segy tiles`")
        tiles_button = QPushButton("Tiles…")
        tiles_button.setToolTip("The tiles cut from this section: a click on it opens the tile in Review")
        tiles_button.clicked.connect(self._on_choose_tiles)
        self.info = QLabel("Open a .sgy file, then choose its salt and its tiles.")
        self.info.setWordWrap(True)
        self.position_label = QLabel("")
        self.position_label.setToolTip("The place under the cursor, in the section's header units")
        form = QFormLayout()
        form.addRow("Section", self.section_box)
        for label, edit, button in (("Salt", self.salt_edit, salt_button), ("Tiles", self.tiles_edit, tiles_button)):
            row = QHBoxLayout()
            row.addWidget(edit, 1)
            row.addWidget(button)
            form.addRow(label, row)
        self.salt_edit.returnPressed.connect(lambda: self.load_salt(self.salt_edit.text()))
        self.tiles_edit.returnPressed.connect(lambda: self.set_tiles_folder(self.tiles_edit.text()))
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.position_label)
        layout.addWidget(self.info)
        layout.addStretch(1)

    # ------------------------------------------------------------------ choices
    def section_layer(self):
        """The chosen SEG-Y section layer, or None."""
        name = self.section_box.currentText()
        return self.viewer.layers[name] if name in self.viewer.layers else None

    def _refresh_sections(self, *_):
        names = [layer.name for layer in self.viewer.layers
                 if layer.metadata.get("saltviewer_role") == "segy:section"]
        current = self.section_box.currentText()
        self.section_box.blockSignals(True)
        self.section_box.clear()
        self.section_box.addItems(names)
        if current in names:
            self.section_box.setCurrentText(current)
        self.section_box.blockSignals(False)

    def _on_choose_salt(self):
        path, _ = QFileDialog.getOpenFileName(self, "Predicted salt", "", "SEG-Y (*.sgy *.segy *.SGY *.SEGY)")
        if path:
            self.load_salt(path)

    def _on_choose_tiles(self):
        path = QFileDialog.getExistingDirectory(self, "Tiles folder from `saltviewer segy tiles`")
        if path:
            self.set_tiles_folder(path)

    def load_salt(self, path):
        """Show the salt in `path` over the section (layers replaced if already shown)."""
        from saltviewer import SaltviewerError

        try:
            tuples = salt_layers(path)
        except SaltviewerError as error:
            notify_error(error)
            return []
        section = self.section_layer()
        if section is not None and tuple(section.data.shape) != tuple(tuples[0][0].shape):
            notify_error(f"{path}: its salt is {tuple(tuples[0][0].shape)} but the section {section.name} is "
                         f"{tuple(section.data.shape)}; choose the prediction of this section.")
            return []
        self.salt_edit.setText(str(path))
        layers = []
        for data, kwargs, kind in tuples:
            if kwargs["name"] in self.viewer.layers:
                self.viewer.layers.remove(kwargs["name"])
            layer = getattr(self.viewer, f"add_{kind}")(data, **kwargs)
            if kind == "labels":
                layer.contour = 2                 # the mask's outline over the heat map
            layers.append(layer)
        settings = tuples[0][1]["metadata"].get("prediction", {})
        ensemble = settings.get("ensemble", {})
        if ensemble:
            self.info.setText(f"Salt of {', '.join(ensemble.get('versions', []))}: outline where the consensus "
                              f"exceeds {ensemble.get('mask_cutoff', 0.5):.2f}; overlap {settings.get('overlap')} px, "
                              f"scaling {settings.get('scaling', {}).get('method')}.")
        if section is not None:
            self.viewer.layers.selection.active = section
        return layers

    def set_tiles_folder(self, folder):
        """Use the tiles of a `segy tiles` folder for clicks on the section."""
        from saltviewer import SaltviewerError
        from saltviewer.seismic import read_manifest

        try:
            self.manifest = read_manifest(folder)
        except SaltviewerError as error:
            notify_error(error)
            return None
        section = self.section_layer()
        if section is not None and Path(section.metadata.get(SEGY_KEY, "")) != self.manifest.source:
            self.info.setText(f"Note: {folder} was cut from {self.manifest.source.name}, not from {section.name}.")
        else:
            self.info.setText(f"{len(self.manifest)} tiles; click the section to open a tile in Review.")
        self.tiles_edit.setText(str(folder))
        return self.manifest

    def _on_cursor(self, event=None):
        """Show the place under the cursor in header units (inline, crossline, time or depth)."""
        section = self.section_layer()
        if section is None:
            self.position_label.setText("")
            return
        world = np.asarray(self.viewer.cursor.position, float)[-section.ndim:]
        self.position_label.setText(describe_position(section.axis_labels, section.units, world))

    # ------------------------------------------------------------------ clicks
    def tile_at(self, position):
        """The tile id under a canvas position (world coordinates of the section), or None."""
        section = self.section_layer()
        if self.manifest is None or section is None:
            return None
        point = np.asarray(section.world_to_data(position), float)
        if section.ndim == 3:
            index = int(round(point[0]))
            positions = self.manifest.settings.get("section_positions", [])
            if index not in positions:
                return None
            row, col = point[1:]
        else:
            index, (row, col) = 0, point[-2:]
        return self.manifest.tile_at(index, int(np.floor(row)), int(np.floor(col)))

    def pick(self, position):
        """Act on a click at `position`: outline its tile, emit `tile_clicked`, open it in Review."""
        tile = self.tile_at(position)
        if tile is None:
            return None
        section, row, col = self.manifest.place(tile)
        box = np.array([[row, col], [row, col + TILE], [row + TILE, col + TILE], [row + TILE, col]], float)
        if self.section_layer() is not None and self.section_layer().ndim == 3:
            box = np.concatenate([np.full((4, 1), section, float), box], axis=1)
        if MARK in self.viewer.layers:
            self.viewer.layers[MARK].data = [box]
        else:                              # on the section's axes: its scale and start
            section_layer = self.section_layer()
            place = ({"scale": section_layer.scale, "translate": section_layer.translate,
                      "axis_labels": section_layer.axis_labels, "units": section_layer.units}
                     if section_layer is not None else {})
            self.viewer.add_shapes([box], shape_type="rectangle", edge_color=CONSENSUS, face_color="transparent",
                                   edge_width=3, name=MARK, metadata={"saltviewer_role": "segy:tile"}, **place)
        self.info.setText(f"Tile {tile}: samples {row}..{row + TILE - 1}, traces {col}..{col + TILE - 1}.")
        self.tile_clicked.emit(tile)
        self._open_in_review(tile)
        return tile

    def _open_in_review(self, tile):
        folder = self.manifest.folder
        session = self.session
        if session.data_path is None or Path(session.data_path).resolve() != folder.resolve():
            if session.workspace_path is None:
                self.info.setText(self.info.text() + " Open a workspace (Review dock) to review it.")
                return
            from saltviewer import SaltviewerError

            try:
                session.open(folder, session.workspace_path)
            except SaltviewerError as error:
                notify_error(error)
                return
        session.request_tile(tile)

    def _on_canvas_click(self, viewer, event):
        """A click (not the end of a pan) on the section picks its tile."""
        start = np.asarray(event.position, float)
        yield
        moved = False
        while event.type == "mouse_move":
            moved = moved or np.abs(np.asarray(event.position) - start).max() > 3
            yield
        if not moved and self.manifest is not None:
            self.pick(start)
