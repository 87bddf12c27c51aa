"""What the widgets of one viewer share: the open data folder, workspace and curation store.

Each viewer has one `Session` (see `session_for`). The review, mosaic and retrain widgets
read the dataset, workspace and store from it and talk through its signals:

- ``closing``: another data folder or workspace is about to be opened (the store is still the old one:
  an unsaved edit can be saved there);
- ``changed``: another data folder or workspace was opened;
- ``versions_changed``: a model version was added or its predictions written;
- ``decisions_changed(ids)``: decisions were written to the store (a list of tile ids, or
  None for "many");
- ``tile_requested(id)``: someone (the mosaic) asks the review widget to show a tile;
- ``tile_shown(id)``: the review widget shows a tile (the Mosaics dock finds its mosaic);
- ``mosaics_changed``: mosaics were found or reloaded.
"""

import weakref
from pathlib import Path

from qtpy.QtCore import QObject, Signal

from .settings import load_settings, save_settings

__all__ = ["Session", "session_for", "arrange_docks"]

_SESSIONS = {}


def session_for(viewer):
    """The `Session` of a viewer, made on first use (None gives a session of its own).

    napari hands each plugin widget its own proxy of the viewer; the session belongs to
    the viewer behind the proxies, so all of saltviewer's widgets in a window share it.
    """
    real = getattr(viewer, "__wrapped__", viewer)
    key = id(real)
    session = _SESSIONS.get(key)
    if session is None or session._real_viewer() is not real:
        session = Session(viewer)
        if viewer is not None:
            session._real_viewer = weakref.ref(real)
            _SESSIONS[key] = session
            weakref.finalize(real, _SESSIONS.pop, key, None)
    if viewer is not None:
        _watch_docks(session, real)
        from qtpy.QtCore import QTimer

        ref = weakref.ref(real)                      # the timers must not keep a closed viewer alive
        for delay in (0, 100, 400, 1500):           # napari shows the new dock a moment after making it
            QTimer.singleShot(delay, lambda: _arrange_ref(ref))
    return session


def _arrange_ref(ref):
    viewer = ref()
    if viewer is not None:
        arrange_docks(viewer)


def _watch_docks(session, viewer):
    """Arrange saltviewer's docks each time napari adds a dock to the viewer's window (installed once)."""
    from qtpy.QtCore import QEvent, QObject, QTimer

    window = getattr(getattr(viewer, "window", None), "_qt_window", None)
    if window is None or getattr(session, "_dock_watcher", None) is not None:
        return
    ref, window_ref = weakref.ref(viewer), weakref.ref(window)     # nothing here keeps a closed viewer alive

    from qtpy.QtWidgets import QDockWidget

    class DockWatcher(QObject):
        """Watches the window (docks added, resized) and each dock (shown)."""

        def eventFilter(self, watched, event):
            kind = event.type()
            if watched is window_ref():
                if kind in (QEvent.ChildAdded, QEvent.ChildPolished) and isinstance(event.child(), QDockWidget):
                    event.child().installEventFilter(self)           # (a child is whole once polished)
                    QTimer.singleShot(0, lambda: _arrange_ref(ref))
                elif kind == QEvent.Resize:
                    QTimer.singleShot(0, lambda: _fit_window(window_ref()))   # Qt grows it for stacked docks
            elif kind == QEvent.Show:
                QTimer.singleShot(0, lambda: _arrange_ref(ref))            # a dock shown (new or reopened)
            return False

    session._dock_watcher = DockWatcher(window)
    window.installEventFilter(session._dock_watcher)
    for dock in window.findChildren(QDockWidget):
        dock.installEventFilter(session._dock_watcher)


def _saltviewer_docks(window):
    from qtpy.QtWidgets import QDockWidget

    return [dock for dock in window.findChildren(QDockWidget)
            if dock.objectName().endswith("(saltviewer)") and not dock.isHidden() and not dock.isFloating()]


def arrange_docks(viewer):
    """saltviewer's docks share one place as tabs, titled by their short names; the window fits the screen.

    napari stacks the docks a person opens from the Plugins menu one under the other
    (their heights add up, and the window grows past the screen); here every visible
    saltviewer dock on the right is tabbed with the first one, the newest in front.
    """
    window = getattr(getattr(viewer, "window", None), "_qt_window", None)
    if window is None:
        return
    try:
        docks = _saltviewer_docks(window)
    except RuntimeError:            # the window was closed before the deferred call came
        return
    for dock in docks:
        title = dock.objectName().rsplit(" (saltviewer)", 1)[0]
        if dock.windowTitle() != title:
            dock.setWindowTitle(title)
    docks = [dock for dock in docks if dock.isVisible()]
    new = [dock for dock in docks if dock.property("saltviewer_arranged") is None]
    if len(docks) > 1 and new:       # each dock is tabbed once; a person may move it apart afterwards
        first = next((dock for dock in docks if dock not in new), docks[0])
        for dock in new:
            if dock is not first and dock not in window.tabifiedDockWidgets(first) and \
                    window.dockWidgetArea(dock) == window.dockWidgetArea(first):
                window.tabifyDockWidget(first, dock)
        new[-1].raise_()
    for dock in new:
        dock.setProperty("saltviewer_arranged", True)
    _fit_window(window)


def _fit_window(window):
    """Shrink the window back onto its screen (as far as its docks' minimum sizes allow)."""
    if window is None:
        return
    try:
        screen = window.screen() if hasattr(window, "screen") else None
        if screen is None or window.isMaximized() or window.isFullScreen():
            return
        available = screen.availableGeometry()
        if window.height() > available.height() or window.width() > available.width():
            window.resize(min(window.width(), available.width()), min(window.height(), available.height()))
    except RuntimeError:            # the window was closed before the deferred call came
        pass


class Session(QObject):
    """The data folder, workspace and store that one viewer's widgets work on.

    Parameters
    ----------
    viewer : napari.Viewer or None
    """

    closing = Signal()
    changed = Signal()
    versions_changed = Signal()
    decisions_changed = Signal(object)
    tile_requested = Signal(str)
    tile_shown = Signal(str)
    mosaics_changed = Signal()

    def __init__(self, viewer=None):
        super().__init__()
        self.viewer = viewer
        self._real_viewer = lambda: None
        self.data_path = None
        self.workspace_path = None
        self.dataset = None
        self.workspace = None
        self._store = None
        self._packing = None
        self._mosaics, self._mosaics_loaded = None, False
        self.hidden_layers = {}      # view -> its layers hidden while another view is shown
        self.request_reasons = {}    # tile -> which dock asked for it and why (shown by the review dock)

    # ------------------------------------------------------------------ opening
    @property
    def is_open(self):
        return self.dataset is not None and self.workspace is not None

    def open(self, data_path, workspace_path, remember=True):
        """Open a data folder and a workspace; raises `SaltviewerError` with one clear line.

        The previous dataset and workspace stay in force when opening fails.
        """
        from saltviewer import SaltviewerError, Workspace, open_dataset

        if not data_path:
            raise SaltviewerError("choose a data folder (competition layout: train/images, test/images, ...).")
        if not workspace_path:
            raise SaltviewerError("choose a workspace folder (it is created if missing).")
        # absolute paths: what is remembered does not depend on the folder napari started in
        data_path, workspace_path = Path(data_path).expanduser().resolve(), Path(workspace_path).expanduser().resolve()
        dataset = open_dataset(data_path)
        workspace = Workspace(workspace_path)
        if self.is_open:
            self.closing.emit()
        self.close_store()
        self._mosaics, self._mosaics_loaded = None, False
        self.data_path, self.workspace_path = data_path, workspace_path
        self.dataset, self.workspace = dataset, workspace
        if remember:
            save_settings(data=str(data_path), workspace=str(workspace_path))
        self.changed.emit()
        self._pack_in_background()
        return self

    def _pack_in_background(self):
        """Pack the tiles into the workspace's memory-mapped cache in a worker thread.

        Instant when the pack is current; the first time (21,200 tiles: a minute or so) a
        napari progress bar shows it, and the widgets read PNG files until it is done.
        """
        if self.viewer is None:
            return
        from .workers import start_worker

        dataset, workspace = self.dataset, self.workspace
        self._packing = start_worker(
            dataset.use_cache, workspace, desc="Packing tiles into the workspace cache",
            errored=lambda error: notify_error(f"packing the tiles into {workspace.path} failed: {error}"),
            finished=lambda: setattr(self, "_packing", None))

    def open_remembered(self):
        """Open the data folder and workspace of the last session, if they still exist.

        Returns True when something was opened. Problems are not raised: the widgets
        then simply show that nothing is open.
        """
        from saltviewer import SaltviewerError

        if self.is_open:
            return True
        settings = load_settings()
        data, workspace = settings.get("data"), settings.get("workspace")
        if not data or not workspace or not Path(data).is_dir():
            return False
        try:
            self.open(data, workspace, remember=False)
        except SaltviewerError:
            return False
        return True

    # -------------------------------------------------------------------- store
    @property
    def store(self):
        """The workspace's curation store, opened on first use (None when nothing is open)."""
        if self._store is None and self.workspace is not None:
            from saltviewer.store import CurationStore

            self._store = CurationStore(self.workspace.store_path)
        return self._store

    def close_store(self):
        store, self._store = self._store, None
        if store is not None and hasattr(store, "close"):
            store.close()

    # --------------------------------------------------------------- neighbours
    def mosaics(self):
        """The open dataset's mosaics (`saltviewer.mosaic.Mosaics`), loaded once; None when none were found."""
        if not self._mosaics_loaded and self.is_open:
            from saltviewer import SaltviewerError

            from .stored_mosaics import load_mosaics

            try:
                self._mosaics = load_mosaics(self.workspace, self.dataset)
            except SaltviewerError as error:
                notify_error(error)
                self._mosaics = None
            self._mosaics_loaded = True
        return self._mosaics

    def set_mosaics(self, mosaics):
        """Use these mosaics (just found or reloaded) and tell the widgets."""
        self._mosaics, self._mosaics_loaded = mosaics, True
        self.mosaics_changed.emit()

    def neighbours(self, tile):
        """Side (``"up"``, ``"down"``, ``"left"``, ``"right"``) to neighbouring tile id, from the
        mosaics of the open dataset; empty when there are none."""
        mosaics = self.mosaics()
        if mosaics is None:
            return {}
        return {side: other for side, other in mosaics.neighbours(tile).items() if other is not None}

    # ------------------------------------------------------------------ helpers
    def request_tile(self, tile_id, reason=None):
        """Ask the review widget to show `tile_id` (it is docked if it is not yet).

        Parameters
        ----------
        reason : str, optional
            Which dock asks and why (``"Explore: suspicious mask: tiny specks"``); the review
            dock shows it with the tile.
        """
        if reason:
            self.request_reasons[str(tile_id)] = str(reason)
        if self.viewer is not None and not self.receivers(self.tile_requested):
            try:
                self.viewer.window.add_plugin_dock_widget("saltviewer", "Review")
            except Exception as error:  # napari raises several kinds here; show, never crash
                notify_error(f"could not open the Review widget: {error}")
                return
        self.tile_requested.emit(str(tile_id))

    def describe(self):
        """One line for the header of each widget."""
        if not self.is_open:
            return "No data open"
        n = len(self.dataset)
        versions = self.workspace.versions()
        return (f"{Path(self.data_path).name}: {n:,} tiles  ·  workspace {Path(self.workspace_path).name}: "
                f"{len(versions)} model version{'s' if len(versions) != 1 else ''}")


def notify_error(message):
    """Show a napari error notification with one clear line (never a traceback)."""
    from napari.utils.notifications import show_error

    show_error(str(message))


def notify_info(message):
    from napari.utils.notifications import show_info

    show_info(str(message))
