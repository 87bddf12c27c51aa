"""The same training code on the JAX backend (runs where JAX is installed; Keras picks the
backend once per process, so this runs in a subprocess)."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="JAX is not installed")

SCRIPT = """
import json, sys
import keras
from saltviewer.training import train_model, predict_dataset
# one model on 64-pixel inputs: XLA compiles each loss stage's step, slow on 2 CPU cores
r = train_model(sys.argv[1], sys.argv[2], encoder="small", width=4, epochs=2, folds=1, batch_size=16,
                input_size=64, resize_mode="resize", loss_schedule=[("bce_dice", 1), ("lovasz", 1)],
                swa_epochs=0, tta=False)
predict_dataset(sys.argv[1], sys.argv[2], [r.version], tta=False)
print(json.dumps({"backend": keras.backend.backend(), "card_backend": r.card["keras_backend"],
                  "oof": r.card["oof_score"]}))
"""


def test_train_and_predict_on_jax(sample_dir, tmp_path):
    env = dict(os.environ, KERAS_BACKEND="jax")
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(sample_dir), str(tmp_path / "ws")], env=env,
                          capture_output=True, text=True, timeout=1800)   # a hang guard; loaded CI machines are slow
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["backend"] == result["card_backend"] == "jax"
    assert 0.0 <= result["oof"] <= 1.0
