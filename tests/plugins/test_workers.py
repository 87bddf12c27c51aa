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
    from saltviewer.plugins._workers import start_worker

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
        start_worker(busy, tag, desc=f"busy {tag}").returned.connect(done.append)

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
