"""The review keys as napari keybindings: remappable in napari's preferences, active only on review layers.

Each key is a napari *action* (``saltviewer:accept``...) registered with napari's action
manager, so it is listed in Preferences > Shortcuts (under the viewer's key bindings) and
can be changed there; a change is kept in napari's settings and wins over the default
here. The actions are bound to keymap providers that only saltviewer's own layers carry
(`ReviewLabels`, `ReviewImage` for the tile view, `TriageImage` for the grid): a key
acts while one of those layers is the active one, and napari's other layers keep every
letter (no window-wide Qt shortcuts).

A layer knows the widget that drives it through `own`; an action calls
``widget.on_action(name)`` on the active layer's widget.

The same keys also act while the keyboard is in the Review dock (after a click in the queue,
a filter, a tab): `dock_keys` lists the plain letter keys of the actions, which the dock binds
to itself only (`DockKeys`), so a click in the dock never leaves the keys dead, and a table
never takes a letter for a search by tile id. Keys a widget of the dock needs (arrows, Enter,
Backspace) and every key typed into a text field stay with that widget.
"""

import weakref

from napari.layers import Image, Labels
from napari.utils.key_bindings import KeymapProvider

__all__ = ["ReviewKeys", "TriageKeys", "ReviewLabels", "ReviewImage", "TriageImage", "REVIEW_ACTIONS",
           "TRIAGE_ACTIONS", "register_actions", "own", "shortcut_of", "dock_keys", "DockKeys", "owns"]


class ReviewKeys(KeymapProvider):
    """Keymap of the tile view's layers (the review actions live in its class keymap)."""


class TriageKeys(KeymapProvider):
    """Keymap of the triage grid's layer."""


class ReviewLabels(ReviewKeys, Labels):
    """The editable pseudo-label of the tile view (a napari Labels layer with the review keys)."""


class ReviewImage(ReviewKeys, Image):
    """The tile's image and its outlines (napari Image layers with the review keys)."""


class TriageImage(TriageKeys, Image):
    """The triage grid: one RGB image of a page of tiles, with the grid's keys."""


#: action -> (default keys, description); the tile view's
REVIEW_ACTIONS = {
    "accept": (("A",), "Review: accept the proposed mask (an edited mask is saved as a correction)"),
    "reject": (("R",), "Review: reject the proposal"),
    "save": (("S",), "Review: save the edited mask as the tile's correction"),
    "next": (("N",), "Review: next tile in the queue"),
    "previous": (("Shift-N",), "Review: previous tile in the queue"),
    "undo": (("U",), "Review: undo your last decision (asks first for a batch)"),
    "redo": (("Shift-U",), "Review: redo the decisions you last undid"),
    "history": (("Y",), "Review: show the tile's history (who, when, what)"),
    "grid": (("G",), "Review: switch between the triage grid and the single tile"),
    "fill_holes": (("H",), "Correct: fill holes in the edited mask"),
    "remove_specks": (("K",), "Correct: remove specks smaller than the size set in the dock"),
    "smooth": (("O",), "Correct: smooth the outline of the edited mask"),
    "clear": (("Shift-C",), "Correct: clear the edited mask"),
    "use_consensus": (("T",), "Correct: start from the consensus at the slider's threshold"),
}
#: action -> (default keys, description); the triage grid's
TRIAGE_ACTIONS = {
    "mark_accept": (("A",), "Grid: mark the tile under the cursor accepted, then move on"),
    "mark_reject": (("R",), "Grid: mark the tile under the cursor rejected, then move on"),
    "mark_open": (("O",), "Grid: mark the tile under the cursor for correction, then move on"),
    "mark_clear": (("Backspace",), "Grid: clear the mark of the tile under the cursor"),
    "accept_rest": (("Shift-A",), "Grid: mark every unmarked confident tile of the page accepted"),
    "apply": (("Enter",), "Grid: apply the page's marks as one batch (one undo)"),
    "next_page": (("N",), "Grid: next page"),
    "previous_page": (("Shift-N",), "Grid: previous page"),
    "cursor_left": (("Left",), "Grid: move the cursor left"),
    "cursor_right": (("Right",), "Grid: move the cursor right"),
    "cursor_up": (("Up",), "Grid: move the cursor up"),
    "cursor_down": (("Down",), "Grid: move the cursor down"),
    "open": (("E",), "Grid: open the tile under the cursor in the single-tile view (to correct it)"),
    "undo": (("U",), "Grid: undo your last decision (asks first for a batch)"),
    "redo": (("Shift-U",), "Grid: redo the decisions you last undid (asks first for a batch)"),
    "grid": (("G",), "Grid: back to the single tile"),
}

_OWNERS = weakref.WeakKeyDictionary()
_REGISTERED = set()


def own(layer, widget):
    """Let `widget` act on the keys pressed while `layer` is active."""
    _OWNERS[layer] = weakref.ref(widget)


def owns(widget, layer):
    """True when `widget` acts on the keys pressed while `layer` is active."""
    owner = _OWNERS.get(layer) if layer is not None else None
    return owner is not None and owner() is widget


def _command(action):
    def command(layer):
        owner = _OWNERS.get(layer)
        widget = owner() if owner is not None else None
        if widget is not None:
            widget.on_action(action)
    command.__name__ = f"saltviewer_{action}"
    return command


def register_actions():
    """Register the review and grid actions once, binding the default keys unless napari's settings name others."""
    from napari.settings import get_settings
    from napari.utils.action_manager import action_manager

    remembered = get_settings().shortcuts.shortcuts
    for prefix, actions, provider in (("saltviewer", REVIEW_ACTIONS, ReviewKeys),
                                      ("saltviewer", TRIAGE_ACTIONS, TriageKeys)):
        for action, (keys, description) in actions.items():
            name = f"{prefix}:{'grid_' if provider is TriageKeys else ''}{action}"
            if name in _REGISTERED:
                continue
            action_manager.register_action(name, _command(action), description, provider)
            if name not in remembered:
                for key in keys:
                    action_manager.bind_shortcut(name, key)
            _REGISTERED.add(name)


def shortcut_of(action, grid=False):
    """The first key bound to an action now (as napari writes it, e.g. ``"Shift+N"``), or ``""``."""
    from napari.utils.action_manager import action_manager

    name = f"saltviewer:{'grid_' if grid else ''}{action}"
    keys = action_manager._shortcuts.get(name) or []
    if not keys:
        return ""
    key = keys[0]
    try:
        from napari.utils.key_bindings import coerce_keybinding

        return str(coerce_keybinding(key))
    except Exception:   # an odd key a person typed in the preferences: show it as it is
        return str(key)



def dock_keys(actions, grid=False):
    """``{key: action}`` of the actions whose key is a letter (plain or with Shift), as bound now.

    Parameters
    ----------
    actions : iterable of str
        Names in `REVIEW_ACTIONS` (or `TRIAGE_ACTIONS` with ``grid=True``).
    """
    keys = {}
    for action in actions:
        key = shortcut_of(action, grid=grid)
        letter = key.split("+")[-1] if key else ""
        if len(letter) == 1 and letter.isalpha() and key.replace("Shift+", "") == letter:
            keys.setdefault(key, action)
    return keys


class DockKeys:
    """The review keys bound to a dock while the keyboard is in it (Qt shortcuts of the dock's own).

    Parameters
    ----------
    widget : QWidget
        The dock's widget; the keys act while it, or a widget in it, has the keyboard.
    act : callable
        ``act(key)`` with the key pressed (``"A"``, ``"Shift+N"``).
    """

    def __init__(self, widget, act):
        self.widget = widget
        self.act = act
        self.shortcuts = {}

    def bind(self, keys):
        """Bind these keys (``"A"``, ``"Shift+N"``), dropping the ones bound before."""
        from qtpy.QtCore import Qt
        from qtpy.QtGui import QKeySequence
        from qtpy.QtWidgets import QShortcut

        for shortcut in self.shortcuts.values():
            shortcut.setEnabled(False)
            shortcut.setParent(None)
        self.shortcuts = {}
        for key in sorted(set(keys)):
            shortcut = QShortcut(QKeySequence(key), self.widget)
            shortcut.setContext(Qt.WidgetWithChildrenShortcut)
            shortcut.activated.connect(lambda key=key: self.act(key))
            self.shortcuts[key] = shortcut
