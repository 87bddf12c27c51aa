"""The Review dock's unsaved edit and the ways out of the shown tile (a part of `ReviewWidget`).

Whether the shown tile is edited is a comparison of the editable layer's pixels with the
mask the tile was shown with (`unsaved.UnsavedEdit`), made where it matters; events only
prompt the dock to say so sooner. Every way out of the tile (another tile from the queue,
the keys or another dock, the grid, another workspace, closing the dock or the window)
goes through `_leave_current`, which saves the edit, drops it or asks, as the dock's setting
says.
"""

import numpy as np
from qtpy.QtCore import QEvent

__all__ = ["LeaveTile"]


class LeaveTile:
    """The unsaved edit and the ways out of the shown tile for `ReviewWidget`."""

    @property
    def edited(self):
        """Pixels of the shown tile's mask changed and not saved (0: none), read from the layer itself."""
        if self.current is None or self.unsaved.tile != self.current.tile:
            return 0
        return self.unsaved.changed_pixels(self._edit_data())

    def _edit_data(self):
        layer = self._edit
        return None if layer is None else np.asarray(layer.data)

    def _leave_current(self, can_stay=True):
        """Apply the unsaved-edit choice before the shown tile is left; False to stay on it.

        Parameters
        ----------
        can_stay : bool
            False where leaving cannot be refused (the window or dock closing): asked, the
            person chooses between saving and dropping the edit.
        """
        changed = self.edited
        if not changed:
            return True
        tile = self.current.tile
        choice = self.tile_box.leave
        if choice == "ask":
            choice = self._ask_unsaved(tile, changed, can_stay)
        if choice == "save":
            return self._save_edit(advance=False)
        if choice == "discard":
            self.unsaved.keep(self._edit_data())
            self._left_message = f"{tile}: your unsaved edit ({changed:,} pixels) was dropped, as the setting says."
            self.set_status(self._left_message)
            return True
        self.queue.select(tile)                    # stay: the row of the shown tile again
        self.set_status(f"Still on {tile}: save the edit (S) or drop it before moving on.")
        return False

    def _ask_unsaved(self, tile, changed, can_stay=True):
        """Ask what to do with an unsaved edit: ``"save"``, ``"discard"`` or ``"stay"``."""
        from qtpy.QtWidgets import QMessageBox

        box = QMessageBox(QMessageBox.Question, "saltviewer",
                          f"{tile} has an edit that is not saved ({changed:,} pixels changed).", QMessageBox.NoButton,
                          self)
        box.setInformativeText("Save it as the tile's correction, or drop it?")
        save = box.addButton("Save edit", QMessageBox.AcceptRole)
        drop = box.addButton("Drop edit", QMessageBox.DestructiveRole)
        stay = box.addButton(f"Stay on {tile}", QMessageBox.RejectRole) if can_stay else None
        box.setDefaultButton(save)
        if stay is not None:
            box.setEscapeButton(stay)
        self._question = box
        try:
            box.exec_()
        finally:
            self._question = None
        clicked = box.clickedButton()
        if clicked is save or (clicked is not drop and not can_stay):
            return "save"
        return "discard" if clicked is drop else "stay"

    def _on_painted(self, *_):
        """A layer event: look at the pixels once the tool has written them (the polygon tool tells first)."""
        if not self._loading_edit and self.current is not None:
            self._edit_check.start()

    def _check_edit(self):
        if self.current is None:
            return
        changed = self.edited
        if changed != self._described_edit:
            self._describe(self.current, neighbours=False)

    def _save_edit(self, advance=True):
        """Put the layer's mask in force as the shown tile's correction; False when nothing was written."""
        from saltviewer import SaltviewerError

        layer = self._edit
        if layer is None or self.reviewer is None or self.current is None:
            return False
        tile = self.current.tile
        mask = np.asarray(layer.data).copy()
        source = getattr(self, "_edit_source", None)
        try:
            item = self.reviewer.correct(tile, mask, source=source)
        except SaltviewerError as error:
            self.notify_error(error)
            return False
        self._edit_source = None
        self.unsaved.keep(mask)
        self.tile_box.show_conflict("")
        if advance:
            self._after_decision(tile, item.state)
            return True
        self.queue.model.set_state(tile, item.state)
        self._after_write()
        self.session.decisions_changed.emit(self)
        try:                               # the tile as stored now (shown again when a person comes back)
            self.current = self.reviewer.show(tile)
            self.unsaved.start(tile, self.current.edit_mask)
        except SaltviewerError:
            pass
        self._left_message = f"{tile}: your edit was saved as its correction ({self.reviewer.user}).  U undoes it."
        self.set_status(self._left_message)
        return True

    def _on_session_closing(self):
        if self.reviewer is not None:
            self._leave_current(can_stay=False)

    def _watch_window(self):
        """Closing the window is a way out of the shown tile too: watch for it (once)."""
        real = getattr(self.viewer, "__wrapped__", self.viewer)
        window = getattr(getattr(real, "window", None), "_qt_window", None)
        if window is not None and getattr(self, "_window", None) is None:
            import weakref

            self._window = weakref.ref(window)
            window.installEventFilter(self)

    def eventFilter(self, watched, event):
        """The window closing: the unsaved edit first (asked: Stay keeps the window open)."""
        window = getattr(self, "_window", None)
        if event.type() == QEvent.Close and window is not None and watched is window():
            try:
                if self.current is not None and self.edited and not self._leave_on_close(event.spontaneous()):
                    event.ignore()
                    return True
            except RuntimeError:          # parts already deleted in a teardown: nothing more to do
                pass
        return False

    def event(self, event):
        if event.type() == QEvent.ParentChange and self.parent() is None and self.current is not None:
            try:                          # the dock was closed (napari takes the widget out of it)
                self._leave_on_close(True, can_stay=False)
            except RuntimeError:
                pass
        return super().event(event)

    def _leave_on_close(self, by_person, can_stay=True):
        """The unsaved edit when closing: asked only when a person closes (a script's close saves it)."""
        if not by_person and self.tile_box.leave == "ask":
            return self._save_edit(advance=False)
        return self._leave_current(can_stay=can_stay)
