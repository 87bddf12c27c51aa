"""The normalized-gradient optimizer and the cosine-restarts schedule."""

import keras
import numpy as np
import pytest

from saltviewer.training.optimizers import CosineRestarts, NormalizedSGD


def test_schedule_values_and_restart():
    schedule = CosineRestarts(0.1, cycle_steps=10, min_lr=0.01)
    values = np.array([float(schedule(step)) for step in range(21)])
    expected = 0.01 + 0.09 * 0.5 * (1 + np.cos(np.pi * (np.arange(21) % 10) / 10))
    np.testing.assert_allclose(values, expected, rtol=1e-6)
    assert values[10] == pytest.approx(0.1) and values[9] < 0.02   # the warm restart


def test_normalized_sgd_matches_reference_updates():
    rng = np.random.default_rng(0)
    start = rng.normal(size=(3, 4)).astype("float32")
    grads = [rng.normal(size=(3, 4)).astype("float32") * scale for scale in (1.0, 100.0, 0.01)]
    variable = keras.Variable(start)
    optimizer = NormalizedSGD(learning_rate=0.05, momentum=0.9, nesterov=True)
    w, m = start.astype(np.float64), np.zeros_like(start, np.float64)
    for g in grads:
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(g), variable)])
        unit = g / (np.linalg.norm(g) + 1e-8)
        m = 0.9 * m - 0.05 * unit
        w = w + 0.9 * m - 0.05 * unit
    np.testing.assert_allclose(keras.ops.convert_to_numpy(variable), w, rtol=1e-5, atol=1e-6)


def test_the_schedule_really_drives_the_applied_step():
    """With momentum 0 each update has norm lr(step): it must follow the schedule, restarts included."""
    schedule = CosineRestarts(0.2, cycle_steps=4, min_lr=0.0)
    variable = keras.Variable(np.zeros(5, "float32"))
    optimizer = NormalizedSGD(learning_rate=schedule, momentum=0.0, nesterov=False)
    gradient = keras.ops.convert_to_tensor(np.full(5, 3.0, "float32"))
    steps = []
    for step in range(8):
        before = keras.ops.convert_to_numpy(variable)
        optimizer.apply_gradients([(gradient, variable)])
        steps.append(np.linalg.norm(keras.ops.convert_to_numpy(variable) - before))
    expected = [float(schedule(s)) for s in range(8)]
    np.testing.assert_allclose(steps, expected, rtol=1e-5, atol=1e-7)
    assert steps[1] < steps[0] and steps[4] > steps[3]   # annealing, then the restart


def test_optimizer_and_schedule_round_trip_through_a_saved_model(tmp_path):
    schedule = CosineRestarts(0.3, cycle_steps=7, min_lr=0.001, warmup_steps=2)
    optimizer = NormalizedSGD(learning_rate=schedule, momentum=0.8, nesterov=False)
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(optimizer))
    assert isinstance(clone, NormalizedSGD) and clone.momentum == 0.8 and clone.nesterov is False
    assert clone.learning_rate is not None
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse")
    model.fit(np.ones((4, 3)), np.ones((4, 1)), verbose=0, epochs=1)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert isinstance(loaded.optimizer, NormalizedSGD)
    assert isinstance(loaded.optimizer._learning_rate, CosineRestarts)
    assert loaded.optimizer._learning_rate.get_config() == schedule.get_config()
    assert int(loaded.optimizer.iterations) == 1


def test_bad_momentum_is_refused():
    from saltviewer import SaltviewerError

    with pytest.raises(SaltviewerError, match="momentum"):
        NormalizedSGD(momentum=1.5)


def test_an_optimizer_built_before_fit_traces_the_step_once_and_trains_the_same():
    """training/fold.py compiles through `_compile`, which builds the optimizer at once: on
    TensorFlow the training step is then traced once instead of twice (the first trace creating
    the optimizer's variables), and the weights come out exactly as before."""
    from saltviewer.training.fold import _compile, _jit_compile
    from tiny_versions import graph_mode

    rng = np.random.default_rng(0)
    x = rng.normal(size=(24, 8, 8, 1)).astype("float32")
    y = (rng.random((24, 8, 8, 1)) > 0.5).astype("float32")
    results = {}
    for build_first in (False, True):
        keras.utils.set_random_seed(3)
        model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, padding="same", activation="relu"),
                                  keras.layers.Conv2D(1, 1)])
        traces = []
        step = model.train_step
        model.train_step = lambda data: (traces.append(1), step(data))[1]
        optimizer = NormalizedSGD(learning_rate=CosineRestarts(0.05, cycle_steps=6))
        loss = keras.losses.BinaryCrossentropy(from_logits=True)
        if build_first:
            _compile(model, optimizer, loss)
        else:
            model.compile(optimizer=optimizer, loss=loss, jit_compile=_jit_compile())
        with graph_mode():                          # the tests run TensorFlow eagerly elsewhere
            model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
        results[build_first] = (len(traces), [np.array(w) for w in model.get_weights()])
    for before, after in zip(results[False][1], results[True][1]):
        np.testing.assert_array_equal(before, after)
    if keras.backend.backend() == "tensorflow":
        assert results[False][0] == 2 and results[True][0] == 1
    else:
        assert results[True][0] <= results[False][0]
