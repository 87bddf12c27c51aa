"""Every long job of the docks stops within 2 s of Cancel, pressed in the dock itself, and writes nothing.

Find mosaics took 15 to 28 s to cancel and Explore 12 s (once over 120 s), with Cancel only in
napari's activity popup; Explore's bar read 100% for 18 s while it still worked.
"""

import time

import numpy as np
import pytest
from qtpy.QtCore import Qt

LIMIT = 2.0          # seconds from Cancel to the job's end


def cancel_in_dock(qtbot, bar, started):
    """Wait until the dock's job bar shows a running job and `started()` holds, press its Cancel, and return
    the seconds until the job ended (the bar hidden again)."""
    qtbot.waitUntil(lambda: not bar.isHidden() and not bar.cancel_button.isHidden() and started(), timeout=60_000)
    assert bar.cancel_button.isEnabled()
    start = time.perf_counter()
    qtbot.mouseClick(bar.cancel_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: bar.isHidden(), timeout=30_000)
    return time.perf_counter() - start


def test_find_candidates_and_find_mosaics_cancel_from_their_docks(make_napari_viewer, qtbot, sample_dir,
                                                                  sample_dataset, review_workspace):
    from saltviewer.mosaic import mosaics_folder
    from saltviewer.plugins.common.session import session_for

    viewer = make_napari_viewer()
    session = session_for(viewer)
    session.open(sample_dir, review_workspace.path)
    _, review = viewer.window.add_plugin_dock_widget("saltviewer", "Review")
    qtbot.waitUntil(lambda: review.current is not None, timeout=10_000)
    revision = review.reviewer.store.revision()
    review.queue.propose_button.click()
    seconds = cancel_in_dock(qtbot, review.job_bar, lambda: True)
    assert seconds < LIMIT, f"Find candidates took {seconds:.1f} s to cancel"
    assert "cancelled" in review.status_label.text() and review.reviewer.store.revision() == revision

    _, mosaics = viewer.window.add_plugin_dock_widget("saltviewer", "Mosaics", tabify=True)
    folder = mosaics_folder(review_workspace, sample_dataset)
    written = sorted(p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file())
    mosaics.build_button.click()
    seconds = cancel_in_dock(qtbot, mosaics.job_bar, lambda: True)
    assert seconds < LIMIT, f"Find mosaics took {seconds:.1f} s to cancel"
    assert "cancelled" in mosaics.summary_label.text()
    assert sorted(p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()) == written   # nothing rewritten


def test_explore_on_the_tgs_tiles_cancels_from_its_dock(make_napari_viewer, qtbot, tgs_dir, tmp_path, monkeypatch):
    from saltviewer.plugins.common.session import Session, session_for

    monkeypatch.setattr(Session, "_pack_in_background", lambda self: None)   # no 20 s of packing left running
    viewer = make_napari_viewer()
    session_for(viewer).open(tgs_dir, tmp_path / "ws")
    _, explore = viewer.window.add_plugin_dock_widget("saltviewer", "Explore")
    qtbot.waitUntil(lambda: explore.explore_button.isEnabled(), timeout=10_000)
    explore.explore_button.click()
    seconds = cancel_in_dock(qtbot, explore.job_bar, lambda: explore._worker.report.done >= 1000)
    assert seconds < LIMIT, f"Explore took {seconds:.1f} s to cancel"
    assert "cancelled" in explore.summary.text() and explore.exploration is None


def test_an_interruptible_worker_stops_between_two_progress_calls(qtbot):
    """Work that goes on in numpy without asking (as Explore's mask and duplicate stage does) stops anyway."""
    from saltviewer.plugins.common.job_bar import JobBar
    from saltviewer.plugins.common.workers import start_worker

    def silent(progress):
        progress("a long silent stage", 0, 0)
        a = np.random.default_rng(0).random((300, 300))
        for _ in range(1_000_000):                    # minutes of numpy without a progress call
            a = np.tanh(a @ a.T / 300)
        return "finished"

    bar = JobBar()
    outcome = []
    worker = start_worker(silent, desc="Silent", progress_arg="progress", interruptible=True,
                          returned=outcome.append, errored=lambda error: outcome.append(type(error).__name__))
    bar.follow(worker)
    seconds = cancel_in_dock(qtbot, bar, lambda: worker.report.stage is not None)
    qtbot.waitUntil(lambda: bool(outcome), timeout=5_000)
    assert outcome == ["Cancelled"] and seconds < LIMIT
    bar.deleteLater()


def test_explores_bar_never_reads_full_while_it_works(sample_dataset):
    """The tiles read (a count), then a stage with no count (a busy bar, not 100%), then the pairs (a count)."""
    from saltviewer.plugins.explore.widget import explore_in_stages

    seen = []
    explore_in_stages(sample_dataset, lambda stage, done, total: seen.append((stage, done, total)))
    stages = [stage for stage, _, _ in seen]
    assert stages[0] == "reading the tiles" and stages[-1] == "near-duplicate pairs"
    busy = stages.index("masks, grey levels and duplicates")
    assert seen[busy][2] == 0                                       # no count: a busy bar
    assert all(total > 0 for stage, _, total in seen if stage != "masks, grey levels and duplicates")
    assert seen[busy - 1][1] == seen[busy - 1][2] == len(sample_dataset)
