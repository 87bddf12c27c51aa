"""The Review dock's corrections, views and decisions made elsewhere (a part of `ReviewWidget`).

Corrections: start the edit from a model's mask, the consensus at the slider's threshold or
the current mask, and one-key cleanups, each one undoable step of napari's labels history.
Views: the list, the triage grid, the history. Decisions made elsewhere: rows, the shown tile
and the grid follow them; an edit in progress is never overwritten (the conflict is shown).
"""

import numpy as np

from .cleanup import CLEANUPS
from .correction import set_mask
from ..common.layers import find_layer

__all__ = ["EditAndSync"]

GROUP = "review"


class EditAndSync:
    """Corrections, views and outside decisions for `ReviewWidget`."""

    # ================================================================= corrections
    def _edit_layer(self):
        layer = find_layer(self.viewer, f"{GROUP}:edit")
        return layer if self.current is not None and layer is not None else None

    def _on_start_from(self, source):
        layer, display = self._edit_layer(), self.current
        if layer is None:
            return
        view = display.view
        if source == "current":
            mask = display.edit_mask != 0
        elif source == "consensus" and view is not None:
            mask = view.probability > self.correction.threshold
            source = f"consensus at {self.correction.threshold:.2f}"
        elif view is not None and source in view.versions:
            mask = view.member_masks[list(view.versions).index(source)]
        else:
            return
        set_mask(layer, mask)
        self._edit_source = source
        self._on_painted()
        self.set_status(f"Editing from {source}: paint, clean up, then Save (Ctrl+Z steps back).")

    def _on_cleanup(self, action):
        layer = self._edit_layer()
        if layer is None:
            return
        function, done = CLEANUPS[action]
        mask = np.asarray(layer.data) != 0
        cleaned = function(mask, self.correction.speck_size.value()) if action == "remove_specks" else function(mask)
        changed = set_mask(layer, cleaned)
        self._on_painted()
        self.set_status(f"{done[:1].upper()}{done[1:]}: {changed:,} pixels changed (Ctrl+Z takes it back)."
                        if changed else f"Nothing to change ({done.split()[-1]}).")

    # ================================================================= views
    def show_grid(self):
        self.tabs.setCurrentIndex(1)

    def show_list(self):
        self.tabs.setCurrentIndex(0)

    def open_from_grid(self, tiles):
        """Correct these tiles (marked open in the grid) one after another in the single-tile view."""
        self._corrections = list(tiles)
        self._from_grid = True
        self.show_list()
        self.show_tile(self._corrections[0])
        if len(tiles) > 1:
            self.set_status(f"{len(tiles):,} tiles to correct from the grid; each decision moves to the next, "
                            "then back to the grid.")

    def _on_tab_changed(self, index):
        previous, self._tab = getattr(self, "_tab", 0), index
        if index == 1 and not self._leave_current():       # stay on the tile: back to the list
            self._tab = previous
            self.tabs.blockSignals(True)
            self.tabs.setCurrentIndex(previous)
            self.tabs.blockSignals(False)
            return
        self.triage.active = index == 1
        if index == 1:
            self.triage.draw(fit=True)
        elif previous == 1 and self.current is not None:   # back from the grid (the History tab keeps an edit)
            self._draw(self.current)
        if index == 2:
            self._show_history()

    # ================================================================= decisions made elsewhere
    def _on_outside(self, events):
        """Others' decisions: update the rows, the shown tile (unless it is being edited), the grid."""
        if self.reviewer is None:
            return
        tiles = sorted({e.tile for e in events})
        if any(e.action in ("propose", "repropose") for e in events):
            self.reload_queue()
        else:
            for item in self.reviewer.store.items(self.reviewer.dataset, tiles=tiles, scores=False):
                self.queue.model.set_state(item.tile, item.state)
            self.queue.update_count()
            self._batch_timer.start()
        decisions = [e for e in events if e.action not in ("propose", "repropose")]
        if decisions:
            users = ", ".join(sorted({e.user for e in decisions}))
            self.set_status(f"{len(decisions):,} decision{'s' if len(decisions) != 1 else ''} by {users} "
                            "arrived from elsewhere.")
        current = self.current
        if current is not None and current.tile in tiles:
            last = [e for e in events if e.tile == current.tile][-1]
            if self.edited:
                self.tile_box.show_conflict(
                    f"{last.user} {'undid a decision on' if last.action == 'undo' else last.state_after} this "
                    f"tile at {last.at[11:16]} UTC while you were editing it. Your edit is kept: Save puts it in "
                    "force over theirs, or take theirs.")
            else:
                self.current = None
                self.show_tile(current.tile)
        if self.triage.active:
            self.triage.draw()
        self.session.decisions_changed.emit(self)

    def _on_conflict_choice(self, choice):
        self.tile_box.show_conflict("")
        if choice == "theirs" and self.current is not None:
            tile, self.current = self.current.tile, None      # the edit is dropped, as asked
            self.show_tile(tile)
