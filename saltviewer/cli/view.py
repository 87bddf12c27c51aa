HELP = "open napari with saltviewer's Review, Mosaics, Retrain and Explore widgets docked on a data folder"
DESCRIPTION = ("Open napari with saltviewer's widgets docked on DATA and a workspace: review the ensemble's "
               "predictions and curate pseudo-labels, inspect mosaics, retrain. Without --workspace, the "
               "workspace last used with DATA is opened again. The same widgets are in napari's Plugins menu.")

WIDGETS = ("Review", "Mosaics", "Retrain", "Explore")


from pathlib import Path


def add_arguments(parser):
    from ._common import add_data_argument

    add_data_argument(parser)
    parser.add_argument("--workspace", "-w", type=Path, default=None, metavar="WS",
                        help="workspace folder (default: the one last used with DATA)")
    parser.add_argument("--widgets", nargs="+", default=list(WIDGETS), choices=WIDGETS, metavar="NAME",
                        help=f"widgets to dock, the first in front (default: {' '.join(WIDGETS)})")
    parser.add_argument("--screenshot", type=Path, default=None, metavar="FILE.png",
                        help="save what the window shows once the first tile is on screen, then quit "
                             "(needs a display; on a headless machine run it under xvfb-run)")


def resolve_workspace(data, workspace):
    """The workspace to open: the one given, else the one last used with `data`."""
    from pathlib import Path

    from ._common import UsageError

    if workspace is not None:
        return Path(workspace)
    from ..plugins._settings import load_settings

    settings = load_settings()
    if settings.get("data") and settings.get("workspace") and Path(settings["data"]).resolve() == Path(data).resolve():
        return Path(settings["workspace"])
    raise UsageError(f"--workspace: needed the first time {data} is viewed (a folder for models, predictions "
                          "and decisions; it is created if missing).")


def open_viewer(args):
    """Check the data and workspace, then make the napari viewer with the widgets docked."""
    import warnings

    from .. import Workspace, open_dataset

    workspace = resolve_workspace(args.data, args.workspace)
    open_dataset(args.data)                 # bad data: one line, before any window opens
    Workspace(workspace)
    warnings.filterwarnings("ignore", message="System theme detection requires a Qt6 backend")
    from ..plugins._qt import prefer_qt6

    prefer_qt6()                            # PyQt6 over PyQt5 when both are installed, unless $QT_API says
    try:
        import napari
    except ImportError as error:
        from .._errors import SaltviewerError
        from ._common import missing_extra

        raise SaltviewerError(missing_extra(error) or f"napari does not start: {error}") from None

    from ..plugins import dock_widgets

    viewer = napari.Viewer(title=f"saltviewer: {args.data}")
    dock_widgets(viewer, args.data, workspace, args.widgets)
    return viewer


def save_screenshot(viewer, path, timeout=60.0):
    """Wait until the Review widget shows its first tile (or `timeout` seconds), then save the window."""
    import time

    from qtpy.QtWidgets import QApplication

    def settle(seconds):
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            QApplication.processEvents()
            time.sleep(0.02)

    window = viewer.window._qt_window
    screen = QApplication.primaryScreen().availableGeometry()
    window.resize(min(1600, screen.width()), min(1000, screen.height()))  # room for the canvas beside the docks
    review = dict(viewer.window.dock_widgets).get("Review (saltviewer)")
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
        settle(0.1)
    settle(1.0)
    from napari._qt.dialogs.qt_notification import NapariQtNotification

    for toast in window.findChildren(NapariQtNotification):
        toast.close()               # start-up warnings are not part of the picture
    settle(0.3)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    viewer.screenshot(path=str(path), canvas_only=False)
    return path


def run(args):
    viewer = open_viewer(args)
    import napari

    if args.screenshot is not None:
        path = save_screenshot(viewer, args.screenshot)
        viewer.close()
        print(f"saved a screenshot of the window to {path}")
        return 0
    napari.run()
    del viewer
    return 0
