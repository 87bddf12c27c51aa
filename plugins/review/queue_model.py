"""The review queue as a Qt table model: columns of a `QueueTable`, sorted with numpy.

The model never copies the table: a queue of many thousand items shows and sorts at once.
"""

import numpy as np
from qtpy.QtCore import QAbstractTableModel, QModelIndex, Qt
from qtpy.QtGui import QColor

from .reviewer import QueueTable
from ..common.style import STATE_COLOURS, WHY_SHORT, shown_state

__all__ = ["QueueModel", "COLUMNS"]

#: (header, field, tooltip)
COLUMNS = (
    ("Tile", "tile", "tile id"),
    ("Why", "why", "why the tile is in the queue: confident salt or confident empty (the models agree), disputed "
                   "(they disagree: pick a model's mask or draw one), label check (the models contradict the "
                   "training mask), mosaic edge (salt stops at an edge shared with a neighbour)"),
    ("Depth", "depth", "depth in feet (depths.csv)"),
    ("Cover", "coverage", "fraction of the tile that the proposed mask covers"),
    ("1−IoU", "disagreement", "disagreement: 1 - mean IoU between the model versions' masks "
                              "(for train tiles: 1 - IoU of the consensus with the training mask)"),
    ("State", "state", "proposed (to review), disputed (to review: the models disagree, so it cannot be accepted "
                       "as proposed), accepted, corrected or rejected"),
)


class QueueModel(QAbstractTableModel):
    """Rows of a `QueueTable` in a sortable order; the table itself is never copied."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.table = QueueTable.empty()
        self.order = np.zeros(0, np.int64)
        self._rank = None
        self._sort = (None, Qt.AscendingOrder)
        from saltviewer.store import REASON_COLOURS

        self._colours = {state: QColor(colour) for state, colour in STATE_COLOURS.items()}
        self._why_colours = {why: QColor(colour) for why, colour in REASON_COLOURS.items()}

    # -------------------------------------------------------------- contents
    def set_table(self, table):
        """Show a new queue in the store's order (or the last column sort asked for)."""
        self.beginResetModel()
        self.table = table
        self.order = np.arange(len(table), dtype=np.int64)
        self._rank = None
        column, order = self._sort
        if column is not None:
            self.order = self._sorted(column, order)
        self.endResetModel()

    def row_of(self, tile):
        """Display row of a tile id, or None."""
        position = self.table.position(tile)
        if position is None:
            return None
        if self._rank is None:
            self._rank = np.empty(len(self.order), np.int64)
            self._rank[self.order] = np.arange(len(self.order))
        return int(self._rank[position])

    def tiles_in_order(self):
        """The tile ids in display order (the filters and the sort in force)."""
        return [str(t) for t in self.table.tile[self.order]]

    def tile_at(self, row):
        if 0 <= row < len(self.order):
            return str(self.table.tile[self.order[row]])
        return None

    def set_state(self, tile, state):
        """Change one tile's state in place (after a decision) without reloading."""
        position = self.table.position(tile)
        if position is None:
            return
        self.table.state[position] = state
        row = self.row_of(tile)
        if row is not None:
            column = [c[1] for c in COLUMNS].index("state")
            self.dataChanged.emit(self.index(row, 0), self.index(row, column))

    # -------------------------------------------------------------- Qt model
    def rowCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self.order)

    def columnCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if orientation == Qt.Horizontal and 0 <= section < len(COLUMNS):
            if role == Qt.DisplayRole:
                return COLUMNS[section][0]
            if role == Qt.ToolTipRole:
                return COLUMNS[section][2]
        if orientation == Qt.Vertical and role == Qt.DisplayRole:
            return str(section + 1)
        return None

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        k = self.order[index.row()]
        field = COLUMNS[index.column()][1]
        if role == Qt.DisplayRole:
            value = getattr(self.table, field)[k]
            if field == "depth":
                return "" if not np.isfinite(value) else f"{value:.0f}"
            if field == "coverage":
                return f"{100 * value:.0f}%"
            if field == "disagreement":
                return f"{value:.2f}"
            if field == "why":
                return WHY_SHORT.get(str(value), str(value))
            if field == "state":
                return self._state(k)
            return str(value)
        if role == Qt.TextAlignmentRole:
            if field in ("depth", "coverage", "disagreement"):
                return Qt.AlignRight | Qt.AlignVCenter
            return Qt.AlignLeft | Qt.AlignVCenter
        if role == Qt.ForegroundRole and field == "state":
            return self._colours.get(self._state(k))
        if role == Qt.ForegroundRole and field == "why":
            return self._why_colours.get(str(self.table.why[k]))
        if role == Qt.ToolTipRole:
            t = self.table
            return (f"{t.tile[k]} ({t.kind[k]}, {t.split[k]}): {t.state[k]}\n{t.why[k]} ({t.criterion[k]}): "
                    f"{t.reason[k]}\nagreement {t.agreement[k]:.3f}")
        return None

    def _state(self, k):
        """The state as a person reads it (a proposed tile the models dispute is "disputed")."""
        return shown_state(str(self.table.state[k]), self.table.why[k] == "disputed")

    def sort(self, column, order=Qt.AscendingOrder):
        if not 0 <= column < len(COLUMNS):
            return
        self.layoutAboutToBeChanged.emit()
        self._sort = (column, order)
        self.order = self._sorted(column, order)
        self._rank = None
        self.layoutChanged.emit()

    def _sorted(self, column, order):
        values = getattr(self.table, COLUMNS[column][1])
        if values.dtype.kind == "f":   # unknown values (NaN) go last either way
            keys = np.where(np.isnan(values), np.inf if order == Qt.AscendingOrder else -np.inf, values)
        else:
            keys = values
        ranks = np.argsort(keys, kind="stable")
        if order == Qt.DescendingOrder:
            # descending but stable: reverse the ranks of reversed input
            ranks = len(keys) - 1 - np.argsort(keys[::-1], kind="stable")[::-1]
        return ranks.astype(np.int64)
