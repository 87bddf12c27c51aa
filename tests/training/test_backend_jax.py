"""The same training code on the JAX backend (runs where JAX is installed; Keras picks the
backend once per process, so this runs in a subprocess: ``jax_checks.py``, shared with
test_distribute through the `jax_checks` fixture)."""

import importlib.util

import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="JAX is not installed")


def test_train_and_predict_on_jax(jax_checks):
    result = jax_checks["single"]
    assert result["backend"] == result["card_backend"] == "jax"
    assert 0.0 <= result["oof"] <= 1.0
    # both loss stages ran (XLA compiled a step for each), on one device
    assert result["stages"] == [[["bce_dice", 1], ["lovasz", 1]]]
    assert result["fit_devices"] == [[1], [1]]
    # the pool was predicted: a map for every tile of the sample, not all zero
    assert result["predicted"] == [80, 101, 101] and result["predicted_max"] > 0
