"""A long job's progress inside the dock that started it: what it does, how far, and Cancel beside it.

napari's activity dock shows the same bar, but it is folded away by default and its Cancel
button was cut off at its right edge; the dock's own bar is where the person looks.
"""

from qtpy.QtCore import Qt, QTimer
from qtpy.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

__all__ = ["JobBar"]


class JobBar(QWidget):
    """One line, hidden while no job runs: the job's stage, a bar (a count, or busy) and Cancel.

    Follow a worker of `saltviewer.plugins.common.workers.start_worker` (one started with a
    ``progress_arg``) with `follow`.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self.worker = None
        self.label = QLabel("")
        self.label.setStyleSheet("color: #a8adb5;")
        self.bar = QProgressBar()
        self.bar.setTextVisible(True)
        self.bar.setMaximumHeight(16)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setFocusPolicy(Qt.NoFocus)
        self.cancel_button.setToolTip("Stop the job; nothing half-done is written")
        self.cancel_button.clicked.connect(self._on_cancel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar, 1)
        layout.addWidget(self.cancel_button)
        self._timer = QTimer(self)
        self._timer.setInterval(100)
        self._timer.timeout.connect(self._refresh)
        self.hide()

    def follow(self, worker):
        """Show `worker`'s progress until it finishes."""
        self.worker = worker
        self.cancel_button.setEnabled(getattr(worker, "report", None) is not None)
        worker.finished.connect(self._on_finished)
        self._refresh()
        self.show()
        self._timer.start()

    def _refresh(self):
        worker = self.worker
        report = getattr(worker, "report", None)
        if report is None:
            self.bar.setRange(0, 0)
            return
        if report.cancelled.is_set():
            self.label.setText(f"{report.desc}: cancelling…")
            self.cancel_button.setEnabled(False)
            return
        self.label.setText(f"{report.desc}: {report.stage}" if report.stage else report.desc)
        if report.total > 0:
            if self.bar.maximum() != report.total:
                self.bar.setRange(0, report.total)
            self.bar.setValue(min(report.done, report.total))
        elif self.bar.maximum() != 0:
            self.bar.setRange(0, 0)                  # working, with no count to show: a busy bar

    def _on_cancel(self):
        if self.worker is not None:
            self.worker.cancel()
            self._refresh()

    def _on_finished(self):
        self._timer.stop()
        self.worker = None
        self.hide()
