"""Explore widget: the exploration report's figures for the open dataset, in a dock.

The same computations and figures as ``saltviewer explore`` (`saltviewer.explore`,
`saltviewer.figures`): coverage and coverage classes, depth, salt versus depth, intensity,
examples per class, suspicious masks and duplicates. Exploring runs in a worker thread
with a napari progress bar; the figures are drawn on a matplotlib canvas on demand.
Double-clicking a flagged tile opens it in the Review widget.
"""

from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton,
                            QScrollArea, QSizePolicy, QSplitter, QVBoxLayout, QWidget)

from ..common.data_bar import DataBar
from ..common.job_bar import JobBar
from ..common.session import notify_info, session_for

__all__ = ["ExploreWidget", "summary_text", "flagged_tiles"]


def summary_text(summary):
    """The headline numbers of an exploration (its ``summary()`` dict) as short lines."""
    lines = [f"{summary['tiles']:,} tiles: {summary['train']:,} labelled, {summary['test']:,} unlabelled"]
    if summary["masks"]:
        lines.append(f"{summary['empty_share'] * 100:.1f}% of the {summary['masks']:,} masks hold no salt")
        reasons = ", ".join(f"{n} {reason.replace('_', ' ')}" for reason, n in summary["suspicious_by_reason"].items() if n)
        lines.append(f"{summary['suspicious_masks']:,} suspicious masks" + (f" ({reasons})" if reasons else ""))
    lines.append(f"{summary['blank_tiles']:,} blank tiles; {summary['duplicate_tiles']:,} tiles in "
                 f"{summary['duplicate_groups']:,} groups of exact duplicates; "
                 f"{summary['near_duplicate_pairs']:,} near-duplicate pairs")
    return lines


def flagged_tiles(exploration):
    """Tiles worth a look, as (tile id, why) pairs: suspicious masks first, then near-duplicates."""
    items = []
    for i in map(int, exploration.any_suspicious().nonzero()[0]):
        items.append((exploration.ids[i], "suspicious mask: " + ", ".join(r.replace("_", " ") for r in exploration.reasons(i))))
    for (a, b), correlation in zip(exploration.near_pairs, exploration.near_correlations):
        items.append((exploration.ids[int(a)], f"near-duplicate of {exploration.ids[int(b)]} (r = {correlation:.2f})"))
    return items


def explore_in_stages(dataset, progress):
    """`saltviewer.explore.explore_dataset`, its progress told in stages: the tiles read (a count), the masks,
    grey levels and duplicates (no count: the bar shows work going on, never a full bar that waits), then the
    near-duplicate pairs (a count)."""
    from saltviewer.explore import explore_dataset

    reading = {"on": True}

    def report(done, total):
        if reading["on"]:
            progress("reading the tiles", done, total)
            if done >= total:
                reading["on"] = False
                progress("masks, grey levels and duplicates", 0, 0)
        else:
            progress("near-duplicate pairs", done, total)

    return explore_dataset(dataset, progress=report)


class ExploreWidget(QWidget):
    """Explore the open dataset (dock it from Plugins > saltviewer > Explore).

    Parameters
    ----------
    napari_viewer : napari.Viewer
    """

    #: Emitted when an exploration has finished and its figures can be shown.
    explored = Signal()

    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)
        self.exploration = None
        self._worker = None
        self.figure = None
        self.canvas = None
        self._build()
        self.session.changed.connect(self._on_session_changed)
        self._on_session_changed()

    def _build(self):
        self.data_bar = DataBar(self.session, self)
        self.explore_button = QPushButton("Explore the dataset")
        self.explore_button.setToolTip("Compute coverage, depth, intensity, suspicious masks and duplicates "
                                       "for every tile of the open dataset")
        self.explore_button.clicked.connect(self._on_explore_clicked)
        self.save_button = QPushButton("Save report…")
        self.save_button.setToolTip("Write the same figures and tables as an offline HTML report")
        self.save_button.clicked.connect(self._on_save_clicked)
        buttons = QHBoxLayout()
        buttons.addWidget(self.explore_button, 1)
        buttons.addWidget(self.save_button)

        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.figure_combo = QComboBox()
        self.figure_combo.setToolTip("Which figure to show")
        self.figure_combo.currentIndexChanged.connect(self._on_figure_chosen)
        self.reason = QLabel()
        self.reason.setWordWrap(True)
        self.reason.setAlignment(Qt.AlignCenter)
        self.reason.setStyleSheet("color: #8d939b;")
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.scroll.setMinimumHeight(320)
        self.scroll.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.scroll.setWidget(self.reason)

        self.flagged = QListWidget()
        self.flagged.setToolTip("Double-click a tile to open it in the Review widget")
        self.flagged.itemDoubleClicked.connect(self._on_flagged_double_clicked)
        flagged_box = QWidget()
        flagged_layout = QVBoxLayout(flagged_box)
        flagged_layout.setContentsMargins(0, 0, 0, 0)
        self.flagged_label = QLabel("Tiles worth a look")
        flagged_layout.addWidget(self.flagged_label)
        flagged_layout.addWidget(self.flagged)

        splitter = QSplitter(Qt.Vertical)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.figure_combo)
        top_layout.addWidget(self.scroll, 1)
        splitter.addWidget(top)
        splitter.addWidget(flagged_box)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)

        self.job_bar = JobBar(self)
        layout = QVBoxLayout(self)
        layout.addWidget(self.data_bar)
        layout.addLayout(buttons)
        layout.addWidget(self.job_bar)
        layout.addWidget(self.summary)
        layout.addWidget(splitter, 1)
        self.setMinimumWidth(420)

    # ------------------------------------------------------------------ state
    def _on_session_changed(self):
        self.exploration = None
        self.figure_combo.blockSignals(True)
        self.figure_combo.clear()
        self.figure_combo.blockSignals(False)
        self.flagged.clear()
        self.figure_combo.setEnabled(False)
        self.save_button.setEnabled(False)
        self.explore_button.setEnabled(self.session.is_open)
        if self.session.is_open:
            self.summary.setText(f"Press Explore to study the {len(self.session.dataset):,} tiles of "
                                 f"{self.session.data_path.name}.")
        else:
            self.summary.setText("Open a data folder first (Open… above).")
        self._show_message("The figures appear here.")

    def _show_message(self, text):
        self.reason.setText(text)
        self._set_view(self.reason)

    def _set_view(self, widget):
        """Put `widget` in the scroll area; a figure canvas it replaces is deleted."""
        if self.scroll.widget() is widget:
            return
        old = self.scroll.takeWidget()
        if old is not None and old is not self.reason:
            old.deleteLater()
        self.scroll.setWidget(widget)

    # ---------------------------------------------------------------- explore
    def explore(self):
        """Start exploring the open dataset in a worker thread; returns the worker."""
        from ..common.workers import start_worker

        if not self.session.is_open:
            raise RuntimeError("no dataset is open")
        dataset = self.session.dataset
        self.explore_button.setEnabled(False)
        self.summary.setText(f"Exploring {len(dataset):,} tiles…")
        worker = start_worker(explore_in_stages, dataset, desc="Exploring", progress_arg="progress",
                              interruptible=True, returned=self._on_explored, errored=self._on_error,
                              finished=lambda: self.explore_button.setEnabled(self.session.is_open))
        self._worker = worker
        self.job_bar.follow(worker)
        return worker

    def _on_explore_clicked(self):
        self.explore()

    def _on_error(self, error):
        from ..common.workers import Cancelled

        if isinstance(error, Cancelled):
            self.summary.setText("Exploring was cancelled; press Explore to start again.")
            return
        from ..common.log import report_error

        self.summary.setText("Exploring failed; see the notification.")
        report_error(f"exploring {self.session.data_path} failed: {error}", error, self.session.workspace_path,
                     "explore")

    def _on_explored(self, exploration):
        from saltviewer.figures import FIGURES

        self.exploration = exploration
        self.summary.setText("\n".join(summary_text(exploration.summary())))
        self.figure_combo.blockSignals(True)
        self.figure_combo.clear()
        for name, (_, title, _) in FIGURES.items():
            self.figure_combo.addItem(title, name)
        self.figure_combo.blockSignals(False)
        self.figure_combo.setEnabled(True)
        self.save_button.setEnabled(True)
        self.flagged.clear()
        items = flagged_tiles(exploration)
        for tile_id, why in items:
            item = QListWidgetItem(f"{tile_id}   {why}")
            item.setData(Qt.UserRole, tile_id)
            item.setData(Qt.UserRole + 1, why)
            item.setToolTip(f"{tile_id}: {why}\nDouble-click to open it in the Review dock")
            self.flagged.addItem(item)
        self.flagged_label.setText(f"Tiles worth a look ({len(items):,}; double-click to review)")
        self.figure_combo.setCurrentIndex(0)
        self._on_figure_chosen(0)
        self.explored.emit()

    # ---------------------------------------------------------------- figures
    def show_figure(self, name):
        """Show figure `name` (a key of `saltviewer.figures.FIGURES`)."""
        index = self.figure_combo.findData(name)
        if index < 0:
            raise KeyError(name)
        self.figure_combo.setCurrentIndex(index)
        self._on_figure_chosen(index)

    def _on_figure_chosen(self, index):
        if self.exploration is None or index < 0:
            return
        from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg

        from saltviewer.figures import make_figure, unavailable

        name = self.figure_combo.itemData(index)
        reason = unavailable(name, self.exploration)
        if reason is not None:
            self.figure = None
            self._show_message(reason)
            return
        self.figure = make_figure(name, self.exploration, narrow=True)
        canvas = FigureCanvasQTAgg(self.figure)
        width, height = self.figure.get_size_inches() * self.figure.dpi
        # as wide as the dock (never cut behind a scroll bar), as tall as the figure's shape asks:
        # the narrow figures are drawn for about the dock's width, so their text keeps its size
        available = max(300, self.scroll.viewport().width())
        shown = min(int(width), available - 4)
        canvas.setMinimumSize(shown, int(shown * height / width))
        self._set_view(canvas)
        self.canvas = canvas
        canvas.draw()

    def _on_flagged_double_clicked(self, item):
        self.session.request_tile(item.data(Qt.UserRole), reason=f"Explore: {item.data(Qt.UserRole + 1)}")

    # ------------------------------------------------------------------ saving
    def save_report(self, out_dir):
        """Write the HTML report of the current exploration into `out_dir` in a worker; returns the worker."""
        from saltviewer.report import write_report

        from ..common.workers import start_worker

        worker = start_worker(
            write_report, self.session.dataset, out_dir, exploration=self.exploration, desc="Writing the report",
            returned=lambda index: notify_info(f"report written to {index}"),
            errored=lambda error: self._report(f"writing the report into {out_dir} failed: {error}", error))
        self.job_bar.follow(worker)
        return worker

    def _report(self, message, error):
        from ..common.log import report_error

        report_error(message, error, self.session.workspace_path, "explore")

    def _on_save_clicked(self):
        out_dir = QFileDialog.getExistingDirectory(self, "Folder for the report")
        if out_dir:
            self.save_report(out_dir)
