"""Background work beside other background work must not freeze napari.

napari's ``create_worker(..., _progress=...)`` deadlocks the application when a second
worker thread runs beside it (napari 0.9.2); `start_worker` keeps its progress bar in the
main thread. The check runs in a child process so that a deadlock fails the test instead
of hanging the suite.
"""

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import sys, time
    import napari
    import numpy as np
    from qtpy.QtCore import QTimer
    from qtpy.QtWidgets import QApplication
    from saltviewer.plugins.common.workers import start_worker

    viewer = napari.Viewer(show=True)

    def busy(tag):
        total = 0.0
        for _ in range(3000):
            total += float(np.random.rand(500).sum())
            for _ in range(100):
                total += 1
        return tag

    done = []
    for tag in "ab":
        start_worker(busy, tag, desc=f"busy {tag}", returned=done.append)

    def check():
        if len(done) == 2:
            print("finished", sorted(done), flush=True)
            QApplication.quit()

    timer = QTimer()
    timer.timeout.connect(check)
    timer.start(20)
    napari.run()
""")


def test_two_workers_with_progress_bars_both_finish(tmp_path):
    env = dict(os.environ, SALTVIEWER_CONFIG_DIR=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, env=env)
    assert "finished ['a', 'b']" in result.stdout, result.stderr[-2000:]


CANCEL_SCRIPT = textwrap.dedent("""
    import time
    import napari
    from qtpy.QtCore import QTimer
    from qtpy.QtWidgets import QApplication
    from saltviewer.plugins.common.workers import Cancelled, start_worker

    viewer = napari.Viewer(show=True)

    def slow(steps, progress):
        for step in range(steps):
            time.sleep(0.01)
            progress(step + 1, steps)
        return "all done"

    worker = start_worker(slow, 100_000, desc="slow work", progress_arg="progress")
    outcome, seen = [], {}
    worker.returned.connect(lambda value: outcome.append(value))
    worker.errored.connect(lambda error: outcome.append(type(error).__name__))

    def check():
        from napari._qt.widgets.qt_progress_bar import QtLabeledProgressBar

        bars = viewer.window._qt_window.findChildren(QtLabeledProgressBar)
        if "asked" not in seen and worker.progress_bar.n > 20:
            seen["counted"] = worker.progress_bar.n
            seen["total"] = worker.progress_bar.total
            seen["button"] = any(b.cancel_button.isVisibleTo(b) for b in bars)
            seen["asked"] = time.perf_counter()
            next(b for b in bars if b.cancel_button.isVisibleTo(b)).cancel_button.click()
        if outcome:
            import json
            seen["outcome"], seen["seconds"] = outcome, time.perf_counter() - seen["asked"]
            print("outcome", json.dumps(seen), flush=True)
            QApplication.quit()

    timer = QTimer()
    timer.timeout.connect(check)
    timer.start(20)
    QTimer.singleShot(30_000, QApplication.quit)
    napari.run()
""")


def test_a_counting_worker_shows_its_count_and_stops_at_cancel(tmp_path):
    env = dict(os.environ, SALTVIEWER_CONFIG_DIR=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", CANCEL_SCRIPT], capture_output=True, text=True, timeout=60, env=env)
    import json

    line = next((l for l in result.stdout.splitlines() if l.startswith("outcome")), None)
    assert line is not None, result.stderr[-2000:]
    seen = json.loads(line.split(" ", 1)[1])
    assert seen["outcome"] == ["Cancelled"] and seen["counted"] > 20 and seen["total"] == 100_000
    assert seen["button"] and seen["seconds"] < 2.0
