"""Fixtures of the training tests: quiet TensorFlow, the JAX checks.

`jax_checks`
    The answer of one JAX subprocess (``jax_checks.py``): the backend check and the
    data-parallel checks, run together; started when collection ends (``tests/conftest.py``)
    when one of its tests is selected, so it runs while the other tests do.
"""

import json
import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


# ---------------------------------------------------------------------------------- JAX
@pytest.fixture(scope="session")
def jax_checks(request, tmp_path_factory):
    """The JSON answer of ``jax_checks.py`` (see that file), for test_backend_jax and test_distribute.

    The subprocess was started when collection ended (``tests/conftest.py``), so that it runs
    while the other tests do; this waits for it. XLA's CPU all-reduce gives up after 40 s when
    one virtual device's thread is not scheduled in time (seen once on a 2-core machine at load
    average 8), or aborts inside Eigen's thread pool (SIGABRT, seen once while a benchmark kept
    both cores busy; the test alone passed right after); those, and only they, are retried once.
    """
    import subprocess
    import sys

    config = request.config
    start = config._saltviewer_start_jax                       # tests/conftest.py
    started = getattr(config, "_saltviewer_jax", None)
    for attempt in range(2):
        if started is None or attempt:
            started = config._saltviewer_jax = start(tmp_path_factory.mktemp("jax"))
        process, folder = started
        try:
            process.wait(timeout=1800)                         # a hang guard; loaded CI machines are slow
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        err = (folder / "err.txt").read_text(errors="replace")
        if process.returncode == 0 or not ("rendezvous" in err or process.returncode < 0):
            break
        print(f"jax_checks.py ended with {process.returncode}; once more", file=sys.stderr)
    assert process.returncode == 0, err[-3000:]
    return json.loads((folder / "out.txt").read_text().strip().splitlines()[-1])
