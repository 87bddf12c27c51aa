"""The 3x3 thumbnails of the shown tile and its mosaic neighbours (click one to review it)."""

import numpy as np
from qtpy.QtCore import QSize, Qt, Signal
from qtpy.QtGui import QIcon, QImage, QPixmap
from qtpy.QtWidgets import QFrame, QGridLayout, QSizePolicy, QToolButton

from ..common.style import SALT

__all__ = ["NeighbourGrid", "thumbnail"]


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
            button.setIcon(QIcon(thumbnail(dataset.image(tile), self.SIZE)))
            button.setEnabled(name != "centre")
            button.setToolTip(f"{name}: {tile}" if name != "centre" else f"this tile: {tile}")

    def _on_clicked(self, side):
        tile = self.tiles.get(side)
        if tile:
            self.tile_clicked.emit(tile)


def thumbnail(image, size):
    """A (h, w) uint8 image as a square QPixmap of `size` pixels."""
    image = np.ascontiguousarray(image, dtype=np.uint8)
    h, w = image.shape
    qimage = QImage(image.data, w, h, w, QImage.Format_Grayscale8).copy()
    return QPixmap.fromImage(qimage).scaled(size, size, Qt.KeepAspectRatio, Qt.SmoothTransformation)
