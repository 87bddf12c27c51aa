"""saltviewer's napari plugin: review predictions, curate pseudo-labels, inspect mosaics, retrain.

The contributions are listed in ``napari.yaml`` (registered through the ``napari.manifest``
entry point): the Review, Mosaics, Retrain and Explore widgets, a reader for folders in the
competition layout, sample data and writers for curated masks. Importing this package is
cheap; each widget imports what it needs when it opens, and TensorFlow/Keras only inside the
worker threads that train or predict.
"""

__all__ = ["dock_widgets", "WIDGETS"]

WIDGETS = ("Review", "Mosaics", "Retrain", "Explore")


def dock_widgets(viewer, data=None, workspace=None, widgets=WIDGETS):
    """Open `data` and `workspace` in the viewer's session and dock saltviewer's widgets.

    Parameters
    ----------
    viewer : napari.Viewer
    data, workspace : str or Path, optional
        Opened first when given (errors raise `SaltviewerError` before anything is docked).
    widgets : sequence of str
        Display names from the manifest, docked in this order (the first one in front).

    Returns
    -------
    docked : dict of str to QWidget
    """
    from .common.session import session_for

    session = session_for(viewer)
    if data is not None:
        session.open(data, workspace)
    docked, docks = {}, []
    for name in widgets:
        dock, widget = viewer.window.add_plugin_dock_widget("saltviewer", name, tabify=bool(docked))
        docked[name] = widget
        docks.append(dock)
    if docks:
        from qtpy.QtCore import Qt, QTimer

        width = max(widget.sizeHint().width() for widget in docked.values()) + 16
        window = getattr(viewer.window, "_qt_window", None)
        if window is not None:
            window.resizeDocks(docks, [width] * len(docks), Qt.Horizontal)

        for dock in docks:
            dock.setProperty("saltviewer_arranged", True)     # tabbed here already (see common.session.arrange_docks)
        docks[0].raise_()
        QTimer.singleShot(0, docks[0].raise_)   # napari raises the last tab it added; put the first in front
    return docked
