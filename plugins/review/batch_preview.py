"""Batch accept with a preview: how many per criterion, and the tiles themselves, before anything is written.

The tiles are the store's `batch_candidates` (confident pseudo-labels at or above the
agreement level; never disputed tiles, label checks or mosaic edges). The preview lists
them as thumbnails, the proposed salt as a translucent fill inside its outline and its
share under the id (an empty proposal reads as an empty tile), drawn only when scrolled into
view, so a batch of thousands opens at once; Accept writes exactly the tiles shown, as one
batch.
"""

from collections import Counter

import numpy as np
from qtpy.QtCore import QAbstractListModel, QModelIndex, QSize, Qt
from qtpy.QtGui import QImage, QPixmap
from qtpy.QtWidgets import (QDialog, QDialogButtonBox, QLabel, QListView, QPushButton, QTableWidget,
                            QTableWidgetItem, QVBoxLayout)

from .outlines import salt_picture, salt_share

__all__ = ["BatchPreviewDialog", "PreviewModel", "criterion_counts"]


def criterion_counts(items):
    """``[(criterion, count)]`` of the items, most first."""
    return Counter(item.criterion for item in items).most_common()


def outlined_thumbnail(image, mask, size=96):
    """An RGB QPixmap of a tile with a mask as a translucent salt fill inside its outline."""
    rgb = np.ascontiguousarray(salt_picture(image, mask))
    h, w, _ = rgb.shape
    qimage = QImage(rgb.data, w, h, 3 * w, QImage.Format_RGB888).copy()
    return QPixmap.fromImage(qimage).scaled(size, size, Qt.KeepAspectRatio, Qt.FastTransformation)


class PreviewModel(QAbstractListModel):
    """The candidates as a list of thumbnails, each drawn the first time it is shown."""

    def __init__(self, dataset, items, size=96, parent=None):
        super().__init__(parent)
        self.dataset = dataset
        self.items = list(items)
        self.size = size
        self._pixmaps = {}

    def rowCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self.items)

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        item = self.items[index.row()]
        if role == Qt.DisplayRole:
            return f"{item.tile}\n{salt_share(item.proposed_mask)} salt"
        if role == Qt.DecorationRole:
            pixmap = self._pixmaps.get(index.row())
            if pixmap is None:
                pixmap = outlined_thumbnail(self.dataset.image(item.tile), item.proposed_mask, self.size)
                self._pixmaps[index.row()] = pixmap
            return pixmap
        if role == Qt.ToolTipRole:
            return f"{item.tile}: {item.criterion}, agreement {item.agreement:.3f}\n{item.reason}"
        return None


class BatchPreviewDialog(QDialog):
    """What a batch accept would take, with Accept and Cancel.

    Parameters
    ----------
    dataset : Dataset
    items : list of saltviewer.store.Item
        The candidates, with their proposed masks loaded.
    level : float
        The agreement level they pass.
    """

    def __init__(self, dataset, items, level, parent=None):
        super().__init__(parent)
        self.setWindowTitle("saltviewer: accept a batch of pseudo-labels?")
        self.items = list(items)
        n = len(self.items)
        head = QLabel(f"<b>{n:,} proposed pseudo-label{'s' if n != 1 else ''}</b> whose model versions agree with "
                      f"mean IoU ≥ {level:.2f} would be accepted, as one batch (one undo takes it back). Disputed "
                      "tiles, label checks and mosaic edges are never taken.")
        head.setWordWrap(True)
        counts = criterion_counts(self.items)
        self.counts = QTableWidget(len(counts), 2)
        self.counts.setHorizontalHeaderLabels(("Criterion", "Tiles"))
        self.counts.verticalHeader().setVisible(False)
        self.counts.horizontalHeader().setStretchLastSection(True)
        for row, (criterion, count) in enumerate(counts):
            self.counts.setItem(row, 0, QTableWidgetItem(criterion))
            cell = QTableWidgetItem(f"{count:,}")
            cell.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
            self.counts.setItem(row, 1, cell)
        self.counts.resizeColumnsToContents()
        self.counts.setMaximumHeight(self.counts.verticalHeader().length() + self.counts.horizontalHeader().height()
                                     + 6)
        self.model = PreviewModel(dataset, self.items, parent=self)
        self.grid = QListView()
        self.grid.setViewMode(QListView.IconMode)
        self.grid.setResizeMode(QListView.Adjust)
        self.grid.setUniformItemSizes(True)
        self.grid.setIconSize(QSize(self.model.size, self.model.size))
        self.grid.setGridSize(QSize(self.model.size + 14, self.model.size + 42))   # the id and the salt share
        self.grid.setWordWrap(True)
        self.grid.setMovement(QListView.Static)
        self.grid.setModel(self.model)
        buttons = QDialogButtonBox(QDialogButtonBox.Cancel)
        self.accept_button = QPushButton(f"Accept {n:,}")
        buttons.addButton(self.accept_button, QDialogButtonBox.AcceptRole)
        buttons.button(QDialogButtonBox.Cancel).setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(head)
        layout.addWidget(self.counts)
        layout.addWidget(QLabel("The tiles, with the salt that would be accepted (orange) and its share:"))
        layout.addWidget(self.grid, 1)
        layout.addWidget(buttons)
        self.resize(760, 640)

    @property
    def tiles(self):
        return [item.tile for item in self.items]
