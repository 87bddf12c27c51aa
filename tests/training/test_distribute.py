"""Data-parallel training on two virtual CPU devices (JAX backend, in a subprocess: Keras picks its
backend once per process, and XLA its device count)."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("jax") is None,
                                reason="JAX is not installed (pip install jax): data-parallel training needs it")

SCRIPT = """
import json, sys
import numpy as np
import keras
from saltviewer import SaltviewerError
from saltviewer.training.distribute import data_parallel, device_count

def make():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((16, 16, 1))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    model = keras.Model(inputs, keras.layers.Conv2D(1, 1)(x))
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    return model

rng = np.random.default_rng(0)
x, y = rng.random((8, 16, 16, 1), np.float32), rng.random((8, 16, 16, 1), np.float32)
single = make()
single.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
with data_parallel(batch_size=8) as distribution:
    model = make()
    replicas = [len(v.value.sharding.device_set) for v in model.weights]
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
    inside = keras.distribution.distribution() is distribution
errors = []
for kwargs in ({"batch_size": 9}, {"devices": 3}):
    try:
        with data_parallel(**kwargs):
            pass
    except SaltviewerError as error:
        errors.append(str(error))
result = {"devices": device_count(), "replicas": replicas, "inside": inside,
          "restored": keras.distribution.distribution() is None, "errors": errors,
          "difference": max(float(np.abs(a - b).max()) for a, b in zip(single.get_weights(), model.get_weights()))}
if len(sys.argv) > 1:
    from saltviewer.training import train_model
    with data_parallel(batch_size=16):
        # one model on 64-pixel inputs, as in test_backend_jax: XLA compiles the step for two devices
        r = train_model(sys.argv[1], sys.argv[2], encoder="small", width=4, epochs=1, folds=1, batch_size=16,
                        input_size=64, resize_mode="resize", loss_schedule=[("bce_dice", 1)], swa_epochs=0, tta=False)
    result.update(backend=r.card["keras_backend"], oof=r.card["oof_score"], version=r.version)
print(json.dumps(result))
"""


def _run(*args):
    env = dict(os.environ, KERAS_BACKEND="jax", XLA_FLAGS="--xla_force_host_platform_device_count=2",
               TF_CPP_MIN_LOG_LEVEL="2")
    for attempt in range(2):
        done = subprocess.run([sys.executable, "-c", SCRIPT, *map(str, args)], env=env, capture_output=True,
                              text=True, timeout=1800)
        # XLA's CPU all-reduce gives up after 40 s when one virtual device's thread is not scheduled in
        # time (seen once on a 2-core machine at load average 8), or aborts inside Eigen's thread pool
        # (SIGABRT, seen once while a mosaic benchmark kept both cores busy; the test alone passed
        # right after); those, and only they, are retried once
        if done.returncode == 0 or not ("rendezvous" in done.stderr or done.returncode < 0):
            break
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_data_parallel_replicates_weights_and_matches_one_device():
    result = _run()
    assert result["devices"] == 2
    assert result["replicas"] == [2, 2, 2, 2]            # every weight on both devices
    assert result["inside"] and result["restored"]
    assert result["difference"] < 1e-6                   # the same steps as on one device
    assert result["errors"][0].startswith("--batch-size 9: must be a multiple of the 2 devices")
    assert result["errors"][1].startswith("--devices 3: JAX sees 2 device(s)")


@pytest.mark.slow
def test_train_model_runs_data_parallel(sample_dir, tmp_path):
    result = _run(sample_dir, tmp_path / "ws")
    assert result["backend"] == "jax" and result["version"] == "v0001"
    assert 0.0 <= result["oof"] <= 1.0
