"""The shown tile's history in the Review dock: who did what, when, with which note."""

from qtpy.QtGui import QColor
from qtpy.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from ..common.style import STATE_COLOURS

__all__ = ["HistoryPanel", "describe_event"]

_COLUMNS = ("When (UTC)", "Who", "What", "Note")


def describe_event(event):
    """What an event did, in a few words (``"accepted"``, ``"undo of #12"``, ``"corrected (v0002's mask)"``)."""
    words = {"propose": "proposed", "repropose": "proposed again", "accept": "accepted", "reject": "rejected",
             "correct": "corrected"}
    if event.action == "undo":
        return f"undo of #{event.undoes} → {event.state_after}"
    text = words.get(event.action, event.action)
    if event.redoes is not None:
        text += " (redo)"
    source = event.detail.get("source")
    if source:
        text += f" (from {source})"
    if event.detail.get("batch"):
        text += " in a batch"
    return text


class HistoryPanel(QWidget):
    """A table of one tile's events, newest first."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.title = QLabel("No tile shown")
        self.title.setWordWrap(True)
        self.table = QTableWidget(0, len(_COLUMNS))
        self.table.setHorizontalHeaderLabels(_COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeToContents)
        header.setStretchLastSection(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.table, 1)
        self.tile = None

    def show_history(self, tile, events, state):
        """Fill the table with a tile's events (oldest first as the store gives them; shown newest first)."""
        self.tile = tile
        colour = STATE_COLOURS.get(state, "#d8d8d8")
        self.title.setText(f"<b>{tile}</b>: {len(events)} event{'s' if len(events) != 1 else ''}; now "
                           f"<span style='color:{colour}'>{state}</span>")
        self.table.setRowCount(len(events))
        for row, event in enumerate(reversed(events)):
            when = event.at[:19].replace("T", " ")
            note = event.note or event.detail.get("batch") or event.detail.get("reason") or ""
            for column, text in enumerate((when, event.user, describe_event(event), note)):
                cell = QTableWidgetItem(text)
                cell.setToolTip(f"event #{event.id}: {event.action}, {event.state_before or '-'} → "
                                f"{event.state_after}\n{text}")
                if column == 2:
                    cell.setForeground(QColor(STATE_COLOURS.get(event.state_after, "#d8d8d8")))
                self.table.setItem(row, column, cell)
        self.table.resizeRowsToContents()

    def clear(self):
        self.tile = None
        self.title.setText("No tile shown")
        self.table.setRowCount(0)
