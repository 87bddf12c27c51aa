"""The Review dock's work on many tiles at once: batch accept with its preview, export, finding candidates,
undo and redo (asked first when they take back more than one decision)."""

from qtpy.QtWidgets import QDialog, QMessageBox

from .batch_preview import BatchPreviewDialog
from ..common.session import notify_info
from ..common.settings import save_settings
from ..common.workers import Cancelled, start_worker

__all__ = ["BatchActions", "propose_candidates"]


def propose_candidates(dataset, workspace, progress=None):
    """`saltviewer.pseudo.propose_pseudo_labels` in a child process (Cancel ends it at once); the report's lines."""
    from ..common.job_process import run_job

    return run_job("find_candidates", dataset.root, workspace.path, progress=progress)


class BatchActions:
    """Batch, export, propose, undo and redo for `ReviewWidget` (which provides the widgets and the reviewer)."""

    # ------------------------------------------------------------------ batch accept
    def _update_batch_button(self, *_):
        if self.reviewer is None:
            self.batch_button.setText("Accept…")
            return
        level = self.batch_level.value()
        n = len(self.reviewer.batch_candidates(level))
        self.batch_button.setText(f"Accept {n:,}…")                  # the tooltip says which
        self.batch_button.setEnabled(n > 0)
        save_settings(review_batch_level=level)

    def _on_batch_clicked(self):
        from saltviewer import SaltviewerError

        if self.reviewer is None:
            return
        level = self.batch_level.value()
        items = self.reviewer.batch_candidates(level, masks=True)
        if not items:
            self.set_status("No confident pseudo-label is proposed at this agreement level.")
            return
        dialog = BatchPreviewDialog(self.reviewer.dataset, items, level, self)
        self._question = dialog
        try:
            chosen = dialog.exec_() == QDialog.Accepted
        finally:
            self._question = None
        if not chosen:
            self.set_status("Batch accept cancelled; nothing was written.")
            return
        try:
            accepted = self.reviewer.accept_batch(level, tiles=dialog.tiles)
        except SaltviewerError as error:
            self.notify_error(error)
            return
        self.after_batch([(tile, "accepted") for tile in accepted],
                         f"Accepted {len(accepted):,} pseudo-labels in one batch")

    def after_batch(self, decided, text):
        """Show the states a batch wrote (``(tile, state)`` pairs) and say so."""
        for tile, state in decided:
            self.queue.model.set_state(tile, state)
        self._after_write()
        self.queue.update_count()
        self._update_batch_button()
        self.session.decisions_changed.emit(self)
        if self.current is not None and self.current.tile in {tile for tile, _ in decided}:
            if self.edited:                  # never over an edit in progress: say so, keep it
                self.tile_box.show_conflict(f"The batch decided {self.current.tile} while you were editing it. Your "
                                            "edit is kept: Save puts it in force over the batch, or take theirs.")
            else:
                tile, self.current = self.current.tile, None
                self.show_tile(tile)
        self.set_status(f"{text} ({self.reviewer.user}); U asks before undoing it." if decided
                        else "Nothing was written (no mark changed a tile).")

    # ------------------------------------------------------------------ undo and redo
    def _on_undo(self):
        self._undo_or_redo("undo")

    def _on_redo(self):
        self._undo_or_redo("redo")

    def _undo_or_redo(self, action):
        from saltviewer import SaltviewerError

        if self.reviewer is None:
            return
        changed = self.edited
        if changed:                      # an undo shows another state of a tile: never over an unsaved edit
            self.set_status(f"{self.current.tile} has an unsaved edit ({changed:,} pixels): save it (S) or take it "
                            f"back (Ctrl+Z) first; nothing was {action}ne.")
            return
        try:
            plan = self.reviewer.undo_plan() if action == "undo" else self.reviewer.redo_plan()
            if not plan and action == "undo" and plan.others:
                anyone = self.reviewer.undo_plan(any=True)
                question = (f"Nothing of yours ({self.reviewer.user}) is left to undo. The last decision in the "
                            f"store is someone else's:\n\n{anyone.describe()}.\n\nTake it back?")
                if not self.ask(question, f"Undo {len(anyone):,}"):
                    self.set_status("Nothing undone.")
                    return
                plan = anyone
            elif not plan:
                self.set_status(f"Nothing to {action}.")
                return
            elif len(plan) > 1 and not self.ask(f"{plan.describe()[:1].upper()}{plan.describe()[1:]}?",
                                                f"{action.capitalize()} {len(plan):,}"):
                self.set_status(f"Nothing {action}ne.")
                return
            items = self.reviewer.undo(plan=plan) if action == "undo" else self.reviewer.redo(plan=plan)
        except SaltviewerError as error:
            self.notify_error(error)
            return
        for item in items:
            self.queue.model.set_state(item.tile, item.state)
        self._after_write()
        self.queue.update_count()
        self._update_batch_button()
        self.session.decisions_changed.emit(self)
        verb = f"{action.capitalize()}ne"
        if len(items) == 1:
            if not self.triage.active:
                self.current = None
                self.show_tile(items[0].tile)
            message = f"{verb}: {items[0].tile} is {items[0].state} again."
        else:
            if self.current is not None:
                tile, self.current = self.current.tile, None
                self.show_tile(tile)
            message = (f"{verb}: {len(items):,} decisions ({len(items):,} tiles)" +
                       (f"; {len(plan.skipped):,} changed since by others were left" if plan.skipped else "") + ".")
        if self.triage.active:
            self.triage.draw()
        self.set_status(message)

    def ask(self, question, yes_text):
        """A modal yes/no question; True when the person chose `yes_text`."""
        box = QMessageBox(QMessageBox.Question, "saltviewer", question, QMessageBox.Cancel, self)
        yes = box.addButton(yes_text, QMessageBox.AcceptRole)
        box.setDefaultButton(QMessageBox.Cancel)
        self._question = box
        try:
            box.exec_()
        finally:
            self._question = None
        return box.clickedButton() is yes

    # ------------------------------------------------------------------ export
    def _on_export_clicked(self):
        from qtpy.QtWidgets import QFileDialog

        if self.reviewer is None:
            return
        folder = QFileDialog.getExistingDirectory(self, "Export curated masks to a new or empty folder")
        if folder:
            self.export_to(folder)

    def export_to(self, folder):
        """Write the curated masks to `folder` (see `saltviewer.store.export_labels`); returns the summary."""
        from saltviewer import SaltviewerError
        from saltviewer.store import export_labels

        try:
            summary = export_labels(self.reviewer.store, self.reviewer.dataset, folder, kinds=("pseudo", "label"))
        except SaltviewerError as error:
            self.notify_error(error)
            return None
        self.set_status(f"Exported {summary['masks']:,} masks ({summary['empty']:,} empty) to {folder}.")
        return summary

    # ------------------------------------------------------------------ proposing
    def _on_propose_clicked(self):
        if self.reviewer is None or self._worker is not None:
            return
        if not self.reviewer.reload_versions():
            self.notify_error("no model version has predictions for this data yet; train and predict first.")
            return
        dataset, workspace = self.session.dataset, self.session.workspace
        self.queue.propose_button.setEnabled(False)
        self.set_status("Scoring the ensemble and proposing candidates…")
        self._worker = start_worker(propose_candidates, dataset, workspace, desc="Finding candidates",
                                    progress_arg="progress", returned=self._on_proposed,
                                    errored=self._on_propose_failed, finished=self._on_propose_finished)
        self.job_bar.follow(self._worker)

    def _on_propose_failed(self, error):
        if isinstance(error, Cancelled):
            self.set_status("Finding candidates was cancelled; the store is as it was.")
        else:
            self.notify_error(f"finding candidates failed: {error}", error)

    def _on_proposed(self, lines):
        self.set_status("  ·  ".join(lines[-3:]))
        notify_info("\n".join(lines))
        self.reload_queue(show_first=self.current is None)

    def _on_propose_finished(self):
        self._worker = None
        self.queue.propose_button.setEnabled(self.reviewer is not None)
