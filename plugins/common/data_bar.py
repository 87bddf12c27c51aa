"""The header every saltviewer widget shows: what is open, and a button to open another."""

from pathlib import Path

from qtpy.QtCore import Qt
from qtpy.QtWidgets import (QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                            QPushButton, QToolButton, QVBoxLayout, QWidget)

from .settings import load_settings

__all__ = ["DataBar", "OpenDialog"]


class DataBar(QWidget):
    """One line naming the open data folder and workspace, with an Open… button."""

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.open_button = QPushButton("Open…")
        self.open_button.setToolTip("Choose the data folder and the workspace (remembered for next time)")
        self.open_button.clicked.connect(self._on_open_clicked)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.open_button)
        session.changed.connect(self._on_session_changed)
        session.versions_changed.connect(self._on_session_changed)
        self._on_session_changed()

    def _on_session_changed(self):
        self.label.setText(self.session.describe())
        if self.session.is_open:
            self.label.setToolTip(f"data: {self.session.data_path}\nworkspace: {self.session.workspace_path}")

    def _on_open_clicked(self):
        dialog = OpenDialog(self.session, self)
        dialog.exec_()


class OpenDialog(QDialog):
    """Choose a data folder and a workspace; errors show in the dialog in one line."""

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.setWindowTitle("saltviewer: open data and workspace")
        self.session = session
        remembered = load_settings()
        data = session.data_path or remembered.get("data") or ""
        workspace = session.workspace_path or remembered.get("workspace") or ""
        self.data_edit = QLineEdit(str(data))
        self.data_edit.setPlaceholderText("folder with train/images, test/images, depths.csv …")
        self.workspace_edit = QLineEdit(str(workspace))
        self.workspace_edit.setPlaceholderText("folder for models, predictions and decisions (created if missing)")
        self.data_edit.setMinimumWidth(380)
        form = QFormLayout()
        form.addRow("Data folder", _with_browse(self.data_edit, "Choose the data folder"))
        form.addRow("Workspace", _with_browse(self.workspace_edit, "Choose the workspace folder"))
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #e06c5a;")
        self.error_label.hide()
        buttons = QDialogButtonBox(QDialogButtonBox.Open | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self._on_accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(buttons)

    def _on_accept(self):
        from saltviewer import SaltviewerError

        data = self.data_edit.text().strip()
        workspace = self.workspace_edit.text().strip()
        if data and not workspace:
            workspace = str(Path(data).with_name(Path(data).name + "_workspace"))
            self.workspace_edit.setText(workspace)
        try:
            self.session.open(data, workspace)
        except SaltviewerError as error:
            self.error_label.setText(str(error))
            self.error_label.show()
            return
        self.accept()


def _with_browse(edit, title):
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(edit, 1)
    button = QToolButton()
    button.setText("…")
    button.setToolTip(title)

    def browse():
        folder = QFileDialog.getExistingDirectory(row, title, edit.text() or str(Path.home()))
        if folder:
            edit.setText(folder)

    button.clicked.connect(browse)
    layout.addWidget(button)
    return row
