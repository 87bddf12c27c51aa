"""Data-parallel training on two virtual CPU devices (JAX backend, in a subprocess: Keras picks its
backend once per process, and XLA its device count). The subprocess (``jax_checks.py``, the
`jax_checks` fixture) also runs test_backend_jax's training, which is the one-device reference here."""

import importlib.util

import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("jax") is None,
                                reason="JAX is not installed (pip install jax): data-parallel training needs it")


def test_data_parallel_replicates_weights_and_matches_one_device(jax_checks):
    result = jax_checks["toy"]
    assert result["devices"] == 2
    assert result["replicas"] == [2, 2, 2, 2]            # every weight on both devices
    assert result["inside"] and result["restored"]
    assert result["moved"] > 1e-3                        # training moved the weights ...
    assert result["difference"] < 1e-6                   # ... by the same steps as on one device
    assert result["errors"][0].startswith("--batch-size 9: must be a multiple of the 2 devices")
    assert result["errors"][1].startswith("--devices 3: JAX sees 2 device(s)")


@pytest.mark.slow
def test_train_model_runs_data_parallel(jax_checks):
    """train_model inside data_parallel: every fit holds the model's weights on both devices, and
    the version equals the one trained on one device with the same recipe and seed (the batches
    split in two, the gradients averaged: the same steps)."""
    single, result = jax_checks["single"], jax_checks["parallel"]
    assert result["backend"] == "jax" and result["version"] == "v0001"
    assert result["fit_devices"] == [[2], [2]]                        # both loss stages, both devices
    assert result["stages"] == single["stages"]
    assert 0.0 <= result["oof"] <= 1.0
    assert result["weights_difference"] < 1e-4 * max(1.0, result["weights_scale"])
    assert result["oof"] == pytest.approx(single["oof"], abs=0.01)
    assert result["threshold"] == pytest.approx(single["threshold"], abs=0.05)
