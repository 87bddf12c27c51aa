"""Keep the traceback of an error in a dock in a log file, and say where in the notification.

A dock shows an error as one line (a napari notification); the traceback that a bug report
needs goes to a file of its own in the workspace's ``logs`` folder (``WS/logs/``), or beside
saltviewer's settings when no workspace is open, and the notification ends with its path::

    from ._log import report_error

    start_worker(find_mosaics, ..., errored=lambda error: report_error(
        f"finding mosaics failed: {error}", error, self.session.workspace_path, "mosaics"))

    try:
        ...
    except SaltviewerError as error:
        report_error(error, workspace=self.session.workspace_path, context="review")

Nothing here imports Qt until a notification is shown.
"""

import os
import platform
import sys
import time
import traceback
from pathlib import Path

__all__ = ["log_folder", "write_error_log", "error_message", "report_error"]


def log_folder(workspace=None):
    """``WS/logs`` for a workspace (a path or a `saltviewer.Workspace`), else ``logs`` beside the settings."""
    if workspace is not None:
        return Path(getattr(workspace, "path", workspace)) / "logs"
    from .settings import config_dir

    return config_dir() / "logs"


def _versions():
    lines = [f"python {platform.python_version()} on {platform.platform()}"]
    for name in ("saltviewer", "napari", "qtpy", "keras", "numpy"):
        module = sys.modules.get(name)
        version = getattr(module, "__version__", None)
        if version:
            lines.append(f"{name} {version}")
    qtpy = sys.modules.get("qtpy")
    if qtpy is not None:
        lines.append(f"Qt binding {qtpy.API_NAME} (Qt {qtpy.QT_VERSION})")
    return lines


def write_error_log(message, error=None, workspace=None, context="dock"):
    """Write `message` and the traceback of `error` to a new file in `log_folder`.

    Parameters
    ----------
    message : str
        The line the person saw.
    error : BaseException, optional
        Its traceback is written (as far as it reaches); without one, the exception being
        handled right now, if any.
    workspace : str, Path or saltviewer.Workspace, optional
    context : str
        Which dock or task, for the file name: ``<context>-error-<time>.log``.

    Returns
    -------
    path : Path or None
        The file written, or None when the folder cannot be written (never raises).
    """
    if error is None:
        error = sys.exc_info()[1]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in str(context)) or "dock"
    lines = [f"{time.strftime('%Y-%m-%d %H:%M:%S')}  {safe}: {message}", *_versions(), ""]
    if error is not None:
        lines += traceback.format_exception(type(error), error, error.__traceback__)
    else:
        lines.append("(no exception was given; no traceback)")
    text = "\n".join(line.rstrip("\n") for line in lines) + "\n"
    try:
        folder = log_folder(workspace)
        folder.mkdir(parents=True, exist_ok=True)
        for n in range(1000):
            path = folder / f"{safe}-error-{stamp}{f'-{n}' if n else ''}.log"
            try:
                with open(path, "x", encoding="utf-8") as handle:
                    handle.write(text)
                return path
            except FileExistsError:
                continue
    except OSError:
        pass
    return None


def error_message(message, error=None, workspace=None, context="dock"):
    """`message` (an exception gives its text) with where its traceback was kept.

    Returns
    -------
    line : str
        ``"<message> (details in WS/logs/<context>-error-<time>.log)"``, or the message alone
        when no log could be written.
    path : Path or None
    """
    if isinstance(message, BaseException) and error is None:
        error = message
    text = str(message)
    path = write_error_log(text, error, workspace, context)
    if path is None:
        return text, None
    return f"{text.rstrip()} (details in {_shown(path)})", path


def _shown(path):
    """The path as short as is still clear: relative to the home folder when inside it."""
    try:
        return "~/" + str(Path(path).relative_to(Path.home()))
    except ValueError:
        return os.fspath(path)


def report_error(message, error=None, workspace=None, context="dock"):
    """Show a napari error notification that ends with where the traceback is kept; return that path.

    Parameters are those of `error_message`; `workspace` defaults to the one open in the
    current viewer's saltviewer session, if any.
    """
    if workspace is None:
        workspace = _current_workspace()
    line, path = error_message(message, error, workspace, context)
    from napari.utils.notifications import show_error

    show_error(line)
    return path


def _current_workspace():
    """The workspace open in the current viewer's session (none is made here), or None."""
    try:
        import napari

        from .session import _SESSIONS

        viewer = napari.current_viewer()
        session = None if viewer is None else _SESSIONS.get(id(getattr(viewer, "__wrapped__", viewer)))
        return None if session is None else session.workspace_path
    except Exception:                 # no viewer, no session: the settings folder will do
        return None
