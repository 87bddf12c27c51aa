"""napari opened on a data folder with saltviewer's docks, and a picture of its window: what
``saltviewer view`` calls (the verb itself only reads its arguments and checks the data).

Importing this module imports neither Qt nor napari; `load_napari` does, with the Qt6 binding
first, so that a missing GUI extra shows as an `ImportError` the caller can name.
"""

import time
import warnings
from pathlib import Path

from . import WIDGETS, dock_widgets

__all__ = ["load_napari", "open_viewer", "save_screenshot", "run_viewer"]

#: The review dock's name in ``viewer.window.dock_widgets``.
REVIEW_DOCK = "Review (saltviewer)"


def load_napari():
    """Import napari on PyQt6 where installed (unless ``$QT_API`` says otherwise).

    Returns
    -------
    napari : module

    Raises
    ------
    ImportError
        When napari or a Qt binding is missing (the ``gui`` extra).
    """
    warnings.filterwarnings("ignore", message="System theme detection requires a Qt6 backend")
    from .common.qt import prefer_qt6

    prefer_qt6()                            # PyQt6 over PyQt5 when both are installed, unless $QT_API says
    import napari

    return napari


def open_viewer(data, workspace, widgets=WIDGETS):
    """A napari viewer titled after `data`, with `data` and `workspace` open and the widgets docked.

    Parameters
    ----------
    data, workspace : str or Path
        Checked by the caller (a bad folder raises `SaltviewerError` here, before docking).
    widgets : sequence of str
        Display names from the manifest, the first in front.

    Returns
    -------
    viewer : napari.Viewer
    """
    napari = load_napari()
    viewer = napari.Viewer(title=f"saltviewer: {data}")
    dock_widgets(viewer, data, workspace, widgets)
    return viewer


def _settle(seconds):
    """Let Qt process events for `seconds`."""
    from qtpy.QtWidgets import QApplication

    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        QApplication.processEvents()
        time.sleep(0.02)


def save_screenshot(viewer, path, timeout=60.0):
    """Save the whole window once the Review dock shows its first tile (or after `timeout` seconds).

    The window is sized to 1600 x 1000 (or the screen, if smaller) so the canvas has room beside
    the docks; start-up notifications are closed first. An empty queue is pictured as it is.

    Parameters
    ----------
    viewer : napari.Viewer
    path : str or Path
        A PNG file; its folder is created.
    timeout : float
        Seconds to wait for the first tile.

    Returns
    -------
    path : Path
    """
    from napari._qt.dialogs.qt_notification import NapariQtNotification
    from qtpy.QtWidgets import QApplication

    window = viewer.window._qt_window
    screen = QApplication.primaryScreen().availableGeometry()
    window.resize(min(1600, screen.width()), min(1000, screen.height()))
    review = dict(viewer.window.dock_widgets).get(REVIEW_DOCK)
    loaded = []
    if review is not None and hasattr(review, "queue_loaded"):
        review.queue_loaded.connect(lambda: loaded.append(True))
    deadline = time.perf_counter() + timeout

    def waiting():
        if review is None or getattr(review, "current", None) is not None:
            return False
        empty = loaded and review.model.rowCount() == 0        # nothing to show: the empty state is the picture
        return not empty

    while time.perf_counter() < deadline and waiting():
        _settle(0.1)
    _settle(1.0)
    for toast in window.findChildren(NapariQtNotification):
        toast.close()               # start-up warnings are not part of the picture
    _settle(0.3)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    viewer.screenshot(path=str(path), canvas_only=False)
    return path


def run_viewer(viewer):
    """Hand over to napari's event loop until `viewer`'s window (held open meanwhile) is closed."""
    napari = load_napari()
    napari.run()
    return viewer
