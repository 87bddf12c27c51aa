"""Which Qt binding napari runs on: a Qt6 one when it is installed.

napari reaches Qt through qtpy, which takes the binding named by ``$QT_API`` and otherwise the
first one installed in the order PyQt5, PySide2, PyQt6, PySide6, so an environment holding
both PyQt5 and PyQt6 would run on PyQt5, which napari deprecates. `prefer_qt6` sets ``$QT_API``
(before qtpy is imported) to the first installed binding in `QT6_FIRST` unless the person has
chosen one. Nothing here imports Qt.
"""

import importlib.util
import os

__all__ = ["QT6_FIRST", "prefer_qt6", "installed_bindings"]

#: qtpy API names in the order saltviewer prefers them, with the module each needs.
QT6_FIRST = (("pyqt6", "PyQt6"), ("pyside6", "PySide6"), ("pyqt5", "PyQt5"), ("pyside2", "PySide2"))


def installed_bindings():
    """qtpy API names of the Qt bindings installed here, Qt6 ones first (without importing any)."""
    found = []
    for api, module in QT6_FIRST:
        try:
            if importlib.util.find_spec(module) is not None:
                found.append(api)
        except (ImportError, ValueError):
            pass
    return found


def prefer_qt6(environ=None):
    """Choose the Qt binding for qtpy: ``$QT_API`` when set, else the first installed of `QT6_FIRST`.

    Call before anything imports qtpy (napari, magicgui, superqt); afterwards it changes nothing
    in this process (it still sets the variable for child processes).

    Parameters
    ----------
    environ : dict, optional
        The environment to read and set (default ``os.environ``).

    Returns
    -------
    api : str or None
        The qtpy API name in force (``"pyqt6"``...), or None when no binding is installed.
    """
    environ = os.environ if environ is None else environ
    chosen = environ.get("QT_API", "").strip().lower()
    if chosen:
        return chosen
    found = installed_bindings()
    if not found:
        return None
    environ["QT_API"] = found[0]
    return found[0]
