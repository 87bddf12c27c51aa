"""The Review dock's decisions on the shown tile and its steps through the queue (a part of `ReviewWidget`).

Accept, reject and save go to the store at once; with an edit on screen, Accept stores the
edit (what the screen shows is what the store keeps) and Reject asks before dropping it.
"""

__all__ = ["Decisions"]


class Decisions:
    """Accept, reject, save, history and the steps through the queue for `ReviewWidget`."""

    def _after_write(self):
        self.watcher.catch_up(self.reviewer.user if self.reviewer is not None else None)
        self._sync_note()

    def _decide(self, action):
        from saltviewer import SaltviewerError

        if self.current is None or self.reviewer is None:
            return None
        tile = self.current.tile
        try:
            item = getattr(self.reviewer, action)(tile)
        except SaltviewerError as error:
            self.notify_error(error)
            return None
        self._after_decision(tile, item.state)
        return item

    def _after_decision(self, tile, state):
        self.queue.model.set_state(tile, state)
        self._after_write()
        self.queue.update_count()
        self._batch_timer.start()
        self.session.decisions_changed.emit(self)
        if self._corrections and tile in self._corrections:
            self._corrections.remove(tile)
        if self.tile_box.advance_check.isChecked() or self._corrections:
            self._step(+1, refresh_current=True)
        else:
            self.show_tile(tile)
        self.set_status(f"{tile}: {state} by {self.reviewer.user}.  U undoes it.")

    def _on_accept(self):
        if self.edited:                       # what the screen shows is what is stored: the edit
            self._save_edit()
            return
        self._decide("accept")

    def _on_reject(self):
        changed = self.edited
        if changed:                           # rejecting drops the edit: never without saying so
            tile = self.current.tile
            if self.tile_box.leave != "discard" and not self.ask(
                    f"Reject {tile} and drop your unsaved edit ({changed:,} pixels changed)?", "Reject"):
                self.set_status(f"{tile} was not rejected; your edit is still there.")
                return
            self.unsaved.keep(self._edit_data())
        self._decide("reject")

    def _on_save(self):
        self._save_edit()

    def _on_history(self):
        self.tabs.setCurrentIndex(2)

    def _show_history(self):
        if self.current is None or self.reviewer is None:
            self.history.clear()
            return
        self.history.show_history(self.current.tile, self.reviewer.history(self.current.tile), self.current.state)

    def _on_next(self):
        self._step(+1)

    def _on_previous(self):
        self._step(-1)

    def _step(self, delta, refresh_current=False):
        if self._corrections:                       # tiles marked open in the grid come first
            if delta > 0:
                self.show_tile(self._corrections[0])
                return
        elif refresh_current and getattr(self, "_from_grid", False):
            self._from_grid = False
            self.show_grid()
            return
        rows = self.model.rowCount()
        if rows == 0:
            return
        row = self.model.row_of(self.current.tile) if self.current is not None else None
        if row is None:
            row = -1 if delta > 0 else rows
        target = row + delta
        if not 0 <= target < rows:
            self.set_status("End of the queue." if delta > 0 else "Start of the queue.")
            if refresh_current and self.current is not None:
                tile, self.current = self.current.tile, None
                self.show_tile(tile)
            return
        self.show_tile(self.model.tile_at(target))
