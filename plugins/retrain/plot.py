"""A small live plot of training curves (loss and validation score per epoch), in napari's colours."""

import math

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QLabel, QSizePolicy, QStackedLayout, QWidget

__all__ = ["CurvePlot", "split_logs"]

_BACKGROUND = "#262930"
_FOREGROUND = "#d6d6d6"
_GRID = "#3b3f47"
_COLOURS = {"loss": "#4fb3ff", "val_loss": "#ff8c1a", "score": "#7cff5b"}


def split_logs(logs):
    """Split Keras epoch logs into losses and scores, keeping finite numbers only.

    Returns
    -------
    losses, scores : dict of str to float
        Keys holding ``loss`` go to `losses`; every other number (a validation score,
        an IoU, an accuracy) to `scores`. The learning rate is dropped.
    """
    losses, scores = {}, {}
    for key, value in (logs or {}).items():
        try:
            value = float(value)
        except (TypeError, ValueError):
            continue
        if not math.isfinite(value) or key in ("lr", "learning_rate"):
            continue
        (losses if "loss" in key else scores)[key] = value
    return losses, scores


class CurvePlot(QWidget):
    """Loss (left axis) and scores (right axis) per epoch; folds separated by a dotted line.

    Matplotlib loads only when the first epoch arrives (`preload` starts loading it in a
    background thread when training starts), so the widget opens fast.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self.placeholder = QLabel()
        self.placeholder.setAlignment(Qt.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setStyleSheet(f"color: #8d939b; background: {_BACKGROUND}; border-radius: 4px;")
        self.placeholder.setMinimumHeight(160)       # the Retrain dock fits a 1366 x 768 screen
        self.placeholder.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.stack = QStackedLayout(self)
        self.stack.setContentsMargins(0, 0, 0, 0)
        self.stack.addWidget(self.placeholder)
        self.figure = self.canvas = None
        self.clear()

    @staticmethod
    def preload():
        """Import matplotlib's Qt canvas in a background thread (no widget is made there)."""
        import threading

        def load():
            from matplotlib.backends import backend_qtagg  # noqa: F401
            from matplotlib.figure import Figure  # noqa: F401

        threading.Thread(target=load, daemon=True).start()

    def _ensure_canvas(self):
        if self.canvas is not None:
            return
        from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
        from matplotlib.figure import Figure

        self.figure = Figure(figsize=(4, 2.4), dpi=90, facecolor=_BACKGROUND, layout="constrained")
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.canvas.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.canvas.setMinimumHeight(240)
        self.stack.addWidget(self.canvas)
        self.loss_axes = self.figure.add_subplot(1, 1, 1)
        self.score_axes = self.loss_axes.twinx()

    def clear(self, message="Loss and validation score appear here, epoch by epoch."):
        """Forget every point; show `message` until the first epoch arrives."""
        self.points = []          # (x, losses, scores, fold)
        self.fold_starts = []
        self.placeholder.setText(message)
        self.stack.setCurrentWidget(self.placeholder)

    def add_epoch(self, logs, fold=0, n_folds=1):
        """Add one epoch's logs (a dict from Keras)."""
        losses, scores = split_logs(logs)
        if self.points and fold != self.points[-1][3]:
            self.fold_starts.append(len(self.points) + 0.5)
        self.points.append((len(self.points) + 1, losses, scores, fold))
        self._ensure_canvas()
        self.stack.setCurrentWidget(self.canvas)
        self._draw()

    def series(self):
        """Every curve drawn so far: dict of name to (xs, ys)."""
        out = {}
        for x, losses, scores, _ in self.points:
            for name, value in list(losses.items()) + list(scores.items()):
                xs, ys = out.setdefault(name, ([], []))
                xs.append(x)
                ys.append(value)
        return out

    def _style(self, axes):
        axes.set_facecolor(_BACKGROUND)
        axes.tick_params(colors=_FOREGROUND, labelsize=8)
        for spine in axes.spines.values():
            spine.set_color(_GRID)

    def _draw(self):
        loss_axes, score_axes = self.loss_axes, self.score_axes
        loss_axes.clear()
        score_axes.clear()
        for axes in (loss_axes, score_axes):
            self._style(axes)
        loss_axes.grid(True, color=_GRID, linewidth=0.6)
        score_axes.yaxis.tick_right()            # clear() puts a twin's axis back on the left
        score_axes.yaxis.set_label_position("right")
        loss_axes.set_xlabel("epoch" + (" (folds apart at the dotted lines)" if self.fold_starts else ""),
                             color=_FOREGROUND, fontsize=8)
        loss_axes.set_ylabel("loss", color=_FOREGROUND, fontsize=8)
        score_axes.set_ylabel("validation score", color=_FOREGROUND, fontsize=8)
        handles = []
        for name, (xs, ys) in self.series().items():
            axes = loss_axes if "loss" in name else score_axes
            colour = _COLOURS.get(name) or ("#ffe14d" if axes is score_axes else "#b39ddb")
            style = "-" if axes is loss_axes else "--"
            (line,) = axes.plot(xs, ys, style, color=colour, marker="o", markersize=3, linewidth=1.4, label=name)
            handles.append(line)
        for x in self.fold_starts:
            loss_axes.axvline(x, color=_FOREGROUND, linestyle=":", linewidth=0.8)
        n = len(self.points)
        loss_axes.set_xlim(0.5, max(n, 1) + 0.5)
        loss_axes.xaxis.get_major_locator().set_params(integer=True)
        legend = loss_axes.legend(handles=handles, loc="lower left", bbox_to_anchor=(0, 1.01), ncol=4, fontsize=7,
                                  borderaxespad=0, frameon=False,
                                  facecolor=_BACKGROUND, edgecolor=_GRID)
        for text in legend.get_texts():
            text.set_color(_FOREGROUND)
        self.canvas.draw_idle()
