"""Prediction with flip test-time augmentation, batch by batch."""

import numpy as np

__all__ = ["predict_logits", "predict_probabilities", "sigmoid"]

TILE = 101


def sigmoid(z):
    """Logistic function of a numpy array, as float32: ``(tanh(z / 2) + 1) / 2``.

    Stable for any z (tanh saturates) and, in place on one buffer, 2.5x faster than the
    two-sided exp form: 33 s of the 18,000-tile, six-pass prediction became 13 s.
    """
    out = np.multiply(z, np.float32(0.5), dtype=np.float32)
    np.tanh(out, out=out)
    out += np.float32(1)
    out *= np.float32(0.5)
    return out


def predict_logits(model, x, batch_size=64, flip=False, cancel=None):
    """Logits of a model for inputs `x`, in batches (horizontally flipped first if `flip`).

    Parameters
    ----------
    model : keras.Model
    x : (N, 101, 101, C) ndarray of uint8 or float32
        As made by `as_inputs` (or context windows, ``(N, W, W, C)``, for a context model).
    flip : bool
        Predict the mirrored tiles and mirror the logits back.
    cancel : threading.Event, optional
        Checked between batches; raises `TrainingCancelled` when set.

    Returns
    -------
    logits : (N, 101, 101) ndarray of float32
    """
    from .data import as_float
    from .._errors import TrainingCancelled

    out = np.empty((len(x), TILE, TILE), np.float32)
    for start in range(0, len(x), batch_size):
        if cancel is not None and cancel.is_set():
            raise TrainingCancelled("cancelled while predicting")
        batch = as_float(x[start:start + batch_size])
        n = len(batch)
        if flip:
            batch = batch[:, :, ::-1]
        if n < batch_size and len(x) > batch_size:   # one batch shape: no retracing for the last one
            batch = np.concatenate([batch, np.zeros((batch_size - n,) + batch.shape[1:], np.float32)])
        logits = np.asarray(model.predict_on_batch(batch))[:n, ..., 0]
        out[start:start + n] = logits[:, :, ::-1] if flip else logits
    return out


def predict_probabilities(models, x, batch_size=64, tta=True, cancel=None):
    """Mean sigmoid probability over models and (with `tta`) horizontal flips.

    Parameters
    ----------
    models : keras.Model or list of keras.Model
        A k-fold ensemble averages its fold models.
    x : (N, 101, 101, C) ndarray of float32

    Returns
    -------
    probabilities : (N, 101, 101) ndarray of float32
    """
    if not isinstance(models, (list, tuple)):
        models = [models]
    total = np.zeros((len(x), TILE, TILE), np.float32)
    passes = 0
    for model in models:
        for flip in ((False, True) if tta else (False,)):
            total += sigmoid(predict_logits(model, x, batch_size, flip, cancel))
            passes += 1
    return total / passes
