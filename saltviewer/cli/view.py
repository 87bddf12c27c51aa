HELP = "open napari with saltviewer's Review, Mosaics, Retrain and Explore widgets docked on a data folder"
DESCRIPTION = ("Open napari with saltviewer's widgets docked on DATA and a workspace: review the ensemble's "
               "predictions and curate pseudo-labels, inspect mosaics, retrain. Without --workspace, the "
               "workspace last used with DATA is opened again. The same widgets are in napari's Plugins menu.")

from pathlib import Path


def add_arguments(parser):
    from ..plugins import WIDGETS
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
    from ..plugins.common.settings import load_settings
    from ._common import UsageError

    if workspace is not None:
        return Path(workspace)
    settings = load_settings()
    if settings.get("data") and settings.get("workspace") and Path(settings["data"]).resolve() == Path(data).resolve():
        return Path(settings["workspace"])
    raise UsageError(f"--workspace: needed the first time {data} is viewed (a folder for models, predictions "
                     "and decisions; it is created if missing).")


def open_viewer(args):
    """Check the data and workspace, then open the napari viewer with the widgets docked."""
    from .. import Workspace, open_dataset
    from .._errors import SaltviewerError
    from ..plugins import _launch
    from ._common import missing_extra

    workspace = resolve_workspace(args.data, args.workspace)
    open_dataset(args.data)                 # bad data: one line, before any window opens
    Workspace(workspace)
    try:
        _launch.load_napari()
    except ImportError as error:
        raise SaltviewerError(missing_extra(error) or f"napari does not start: {error}") from None
    return _launch.open_viewer(args.data, workspace, args.widgets)


def run(args):
    from ..plugins import _launch

    viewer = open_viewer(args)
    if args.screenshot is not None:
        path = _launch.save_screenshot(viewer, args.screenshot)
        viewer.close()
        print(f"saved a screenshot of the window to {path}")
        return 0
    _launch.run_viewer(viewer)
    return 0
