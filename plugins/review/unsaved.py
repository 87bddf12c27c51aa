"""The shown tile's unsaved edit, found by its pixels: what a person sees is what a decision stores.

napari's labels tools tell of a change in different ways: the brush, fill and polygon tools
emit ``paint`` *before* they write the pixels (the polygon's is the only event before the
write), undo and redo emit ``set_data``, a plugin writing into ``layer.data`` may emit
nothing at all. So whether the shown tile is edited is never read from an event: it is
the comparison of the layer's pixels with the mask the tile was shown with, made each time
it matters (a decision, leaving the tile, closing the window). Events only prompt the dock
to say "edited, not saved" sooner.

What happens to an unsaved edit when a person leaves the tile (next, previous, another
tile from the queue or another dock, the grid, closing) is a setting: save it as a
correction, drop it, or ask.
"""

import numpy as np

__all__ = ["UnsavedEdit", "LEAVE_CHOICES", "leave_choice"]

#: What to do with an unsaved edit when leaving its tile: setting value -> words in the dock.
LEAVE_CHOICES = {"save": "save it", "discard": "drop it", "ask": "ask me"}


def leave_choice(settings):
    """The remembered choice (a key of `LEAVE_CHOICES`) from the settings dict.

    Settings written before the choice existed hold ``review_autosave`` (True: save,
    False: drop); an unknown value falls back to saving (nothing a person drew is lost).
    """
    choice = settings.get("review_unsaved")
    if choice in LEAVE_CHOICES:
        return choice
    if "review_autosave" in settings:
        return "save" if settings.get("review_autosave") else "discard"
    return "save"


class UnsavedEdit:
    """The mask a tile was shown with, and whether the editable layer still holds it.

    Examples
    --------
    >>> import numpy as np
    >>> state = UnsavedEdit()
    >>> state.start("a1", np.zeros((3, 3), np.uint8))
    >>> drawn = np.zeros((3, 3), np.uint8); drawn[0, 0] = 1
    >>> state.edited(drawn), state.changed_pixels(drawn)
    (True, 1)
    >>> state.keep(drawn); state.edited(drawn)
    False
    """

    def __init__(self):
        self.tile = None
        self._shown = None

    def start(self, tile, mask):
        """A tile was shown with `mask` (any non-zero label is salt)."""
        self.tile = tile
        self._shown = np.asarray(mask) != 0

    def keep(self, mask):
        """The layer's pixels now are the tile's own (just saved, or a person chose to drop the edit)."""
        self._shown = np.asarray(mask) != 0

    def clear(self):
        self.tile, self._shown = None, None

    def edited(self, data):
        """True when `data` (the layer's pixels) differs from what the tile was shown with."""
        return self.changed_pixels(data) > 0

    def changed_pixels(self, data):
        """How many pixels differ from what the tile was shown with (0 with nothing shown)."""
        if self._shown is None or data is None:
            return 0
        data = np.asarray(data)
        if data.shape != self._shown.shape:
            return int(self._shown.size)
        return int(np.count_nonzero((data != 0) != self._shown))
