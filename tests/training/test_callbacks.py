"""SWA, BatchNorm recomputation, cancellation and serialization of the callbacks."""

import threading

import keras
import numpy as np
import pytest

from saltviewer.training.callbacks import (SWA, BestWeights, ProgressReporter, TrainingControl, ValidationScore,
                                           recompute_batchnorm)


def _tiny_model():
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(3, 3, padding="same", name="conv")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    return keras.Model(inputs, keras.layers.Conv2D(1, 1)(x))


def test_recompute_batchnorm_matches_the_data_statistics():
    rng = np.random.default_rng(0)
    model = _tiny_model()
    data = (rng.random((40, 8, 8, 1)) * 5 + 3).astype("float32")
    bn = model.get_layer("bn")
    before = keras.ops.convert_to_numpy(bn.moving_mean).copy()
    weights_before = [w.copy() for w in model.get_weights() if w.ndim > 1]
    n = recompute_batchnorm(model, (data[i:i + 10] for i in range(0, 40, 10)))
    assert n == 4
    conv = keras.Model(model.input, model.get_layer("conv").output)
    features = keras.ops.convert_to_numpy(conv(data)).reshape(4, 10 * 64, 3)
    expected_mean = features.mean(axis=1).mean(axis=0)
    expected_var = features.var(axis=1).mean(axis=0)
    mean = keras.ops.convert_to_numpy(bn.moving_mean)
    np.testing.assert_allclose(mean, expected_mean, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(bn.moving_variance), expected_var, rtol=1e-4, atol=1e-5)
    assert not np.allclose(mean, before)
    assert bn.momentum == 0.99   # restored
    for a, b in zip(weights_before, [w for w in model.get_weights() if w.ndim > 1]):
        np.testing.assert_array_equal(a, b)


def test_swa_averages_the_weights_of_the_chosen_epochs():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, use_bias=False)])
    swa = SWA(start_epoch=1)
    swa.set_model(model)
    swa.on_train_begin()
    seen = []
    for epoch, value in enumerate([1.0, 2.0, 4.0, 9.0]):
        model.layers[0].kernel.assign(np.full((2, 1), value, "float32"))
        swa.on_epoch_end(epoch)
        seen.append(value)
    assert swa.n_averaged_ == 3
    assert swa.apply()
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model.layers[0].kernel), np.full((2, 1), 5.0))
    swa.on_train_begin()
    assert swa.n_averaged_ == 0 and not swa.apply()


def test_cancel_stops_training_at_the_next_batch_end():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    cancel = threading.Event()
    events = []

    def on_progress(event):
        events.append(event)
        if event.kind == "batch" and event.batch == 2:
            cancel.set()

    control = TrainingControl(cancel)
    model.fit(np.ones((40, 3)), np.ones((40, 1)), batch_size=4, epochs=3, verbose=0,
              callbacks=[ProgressReporter(on_progress, n_epochs=3), control])
    batches = [e for e in events if e.kind == "batch"]
    assert control.cancelled_ and len(batches) == 3
    assert batches[0].n_batches == 10 and batches[0]["kind"] == "batch"


def test_deadline_stops_training():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    control = TrainingControl(deadline=0.0)
    history = model.fit(np.ones((40, 3)), np.ones((40, 1)), batch_size=4, epochs=5, verbose=0, callbacks=[control])
    assert control.out_of_time_ and len(history.history["loss"]) == 1


def test_validation_score_and_best_weights():
    model = keras.Sequential([keras.Input((101, 101, 1)), keras.layers.Conv2D(1, 1)])
    x = np.zeros((3, 101, 101, 1), "float32")
    y = np.zeros((3, 101, 101), bool)
    validation = ValidationScore(x, y)
    best = BestWeights()
    for callback in (validation, best):
        callback.set_model(model)
    model.layers[0].bias.assign([-3.0])        # predicts empty: all three empty truths score 1
    logs = {}
    validation.on_epoch_end(0, logs)
    best.on_epoch_end(0, logs)
    assert logs["val_score"] == 1.0 and best.best_epoch_ == 0
    model.layers[0].bias.assign([3.0])         # predicts salt everywhere: 0
    logs = {}
    validation.on_epoch_end(1, logs)
    best.on_epoch_end(1, logs)
    assert logs["val_score"] == 0.0 and best.best_epoch_ == 0 and best.weights_[1][0] == -3.0


@pytest.mark.parametrize("callback", [SWA(start_epoch=3), BestWeights(monitor="val_loss"), TrainingControl(deadline=5.0),
                                      ValidationScore(batch_size=8), ProgressReporter(fold=1, n_folds=3, n_epochs=4)])
def test_callbacks_serialize(callback):
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(callback))
    assert type(clone) is type(callback) and clone.get_config() == callback.get_config()
