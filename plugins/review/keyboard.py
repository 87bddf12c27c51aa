"""The review keys while the keyboard is in the Review dock, and a word where they cannot act (a part of
`ReviewWidget`).

The letters of the review actions are also shortcuts of the dock itself (`keys.DockKeys`),
so a click in the queue never leaves them dead; remapped in napari's preferences, they follow.
Another layer selected in napari's layer list is said in the status line, and a key whose
button is disabled says why.
"""

from qtpy.QtCore import QTimer

from ..common.layers import find_layer
from .keys import REVIEW_ACTIONS, TRIAGE_ACTIONS, dock_keys, owns

__all__ = ["DockKeyboard", "KEYS_HINT"]

GROUP = "review"
KEYS_HINT = "The review keys act while a review layer is selected"


class DockKeyboard:
    """The review keys in the dock, and why a key cannot act, for `ReviewWidget`."""

    def _bind_dock_keys(self):
        self._keys = dock_keys(REVIEW_ACTIONS)
        self._grid_keys = dock_keys(TRIAGE_ACTIONS, grid=True)
        self.dock_keys.bind(set(self._keys) | set(self._grid_keys))

    def _on_dock_key(self, key):
        """A review key pressed while the keyboard is in the dock: the grid's action on the grid tab."""
        if self.tabs.currentIndex() == 1:
            action = self._grid_keys.get(key)
            if action is not None:
                self.triage.on_action(action)
        else:
            action = self._keys.get(key)
            if action is not None:
                self.on_action(action)

    def _watch_shortcuts(self):
        """Keys remapped in napari's preferences: the buttons' texts and the dock's keys follow."""
        from napari.settings import get_settings

        get_settings().shortcuts.events.shortcuts.connect(self._on_shortcuts_changed)

    def _on_shortcuts_changed(self, *_):
        QTimer.singleShot(0, self._refresh_keys)          # napari rebinds its actions after telling

    def _refresh_keys(self):
        try:
            self._bind_dock_keys()
            self.tile_box.refresh_keys()
        except RuntimeError:                             # the dock was closed meanwhile
            pass

    def _on_active_layer(self, *_):
        QTimer.singleShot(0, self._check_active_layer)     # once the dock has drawn (it selects its own layer)

    def _check_active_layer(self):
        """Another layer selected while the tile is shown: say where the review keys act."""
        try:
            tile_layer = find_layer(self.viewer, f"{GROUP}:tile")
            active = self.viewer.layers.selection.active
            if self.current is None or tile_layer is None or not tile_layer.visible:
                return
            if owns(self, active) or owns(self.triage, active):
                if self.status_label.text().startswith(KEYS_HINT):
                    self.set_status("")
                return
            name = active.name if active is not None else "no layer"
            self.set_status(f"{KEYS_HINT} (now: {name}): click “pseudo-label” in the layer list, or click in "
                            "this dock; the buttons always work.")
        except RuntimeError:                             # the dock was closed meanwhile
            pass

    def _why_not(self, action):
        """Why the button of `action` is disabled, in one line."""
        display = self.current
        if self.reviewer is None or display is None:
            return "Nothing is shown: open a data folder and a workspace, then pick a tile."
        if action == "accept" and display.disputed:
            return (f"{display.tile} is disputed: the models disagree, so it cannot be accepted as proposed. Start "
                    "from one model's mask or the consensus (T), correct it and save (S), or reject it (R).")
        if action in ("accept", "reject") and display.item is None:
            return f"{display.tile} is not queued: nothing to {action}; draw a mask and save it (S)."
        if action == "accept":
            return f"{display.tile}: nothing is proposed to accept; draw a mask and save it (S)."
        return f"{action.capitalize()} is not possible on {display.tile} now."
