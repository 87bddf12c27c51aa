"""Fixtures of the training tests: one tiny trained version for the session, the JAX checks.

Training costs here are mostly TensorFlow tracing each fold's step once per loss stage (a few
seconds of CPU each), not arithmetic: so the tests share trained versions instead of training
their own, a test trains only what it is about (a fine-tune, a cancel, a budget), and
TensorFlow runs its functions eagerly in these tests (`eager_tensorflow`): the same Keras
steps, losses, optimizer and callbacks, op by op, at 2.4 times less CPU for a tiny training
(13.8 s instead of 33-35 s for 2 folds x 3 epochs, the same out-of-fold score). The session's
tiny version trains in graph mode, as outside the tests (`tiny_versions.graph_mode`), so the
traced step of both losses, SWA, the BatchNorm pass and prediction stay covered.

`tiny_version`
    One version trained once per session with the whole recipe (2 folds, 64-pixel inputs, a
    BCE + Dice epoch then two Lovasz epochs averaged by SWA; see `tiny_recipe`) on the
    synthetic sample (`sample_dir`), with the progress events it sent. Read-only: a test that
    adds versions, predicts or writes to the store works on a copy (`tiny_workspace`, or
    `copy_version` into a workspace of its own).
`tiny_workspace`
    A fresh copy of that workspace for one test to change (its version, cards and models).
`eager_tensorflow` (automatic)
    ``tf.config.run_functions_eagerly(True)`` for the session when Keras runs on TensorFlow.
`jax_checks`
    The answer of one JAX subprocess (``jax_checks.py``): the backend check and the
    data-parallel checks, run together; started when collection ends (``tests/conftest.py``)
    when one of its tests is selected, so it runs while the other tests do.

Usage (``tiny_versions.py`` beside this file holds the recipe and the copy)::

    from tiny_versions import copy_version, tiny_recipe

    def test_something(tiny_version, tmp_path):
        workspace, version = tiny_version.workspace, tiny_version.version      # read-only
        copy = copy_version(tiny_version, tmp_path / "ws")                       # a Workspace to change
        child = train_model(sample_dir, copy, tiny_recipe(epochs=1, ...), base_version=version)

A test that must train in graph mode (about tracing) wraps it in ``with graph_mode():``.
"""

import json
import os

import pytest

from tiny_versions import TinyVersion, copy_version, graph_mode, tiny_recipe

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session", autouse=True)
def eager_tensorflow():
    """TensorFlow's functions run eagerly in the training tests (see the module's notes)."""
    import keras

    if keras.backend.backend() != "tensorflow":
        yield
        return
    import tensorflow as tf

    tf.config.run_functions_eagerly(True)
    yield
    tf.config.run_functions_eagerly(False)


@pytest.fixture(scope="session")
def tiny_version(sample_dir, tmp_path_factory):
    """The session's tiny version (trained once; see the module's notes). Treat it as read-only."""
    from saltviewer import Workspace
    from saltviewer.training import train_model

    workspace = Workspace(tmp_path_factory.mktemp("tiny") / "ws")
    events = []
    recipe = tiny_recipe()
    with graph_mode():                              # as every run outside the tests
        result = train_model(sample_dir, workspace, recipe, on_progress=events.append)
    return TinyVersion(workspace, result, events, recipe)


@pytest.fixture
def tiny_workspace(tiny_version, tmp_path):
    """A copy of the tiny version's workspace for one test to change."""
    return copy_version(tiny_version, tmp_path / "tiny_ws")


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
