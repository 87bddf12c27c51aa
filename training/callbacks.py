"""Keras callbacks of the training recipe, and BatchNorm statistics recomputation.

- `TrainingControl`: stops at the next batch end on cancel or when the time budget runs out.
- `ValidationScore`: the competition score (and BCE) on the validation fold at each epoch end.
- `BestWeights`: keeps the weights of the epoch with the best validation score.
- `SWA`: stochastic weight averaging over the last epochs.
- `ProgressReporter`: turns Keras events into `ProgressEvent` objects for a GUI or a CLI.

Every callback resets its state in ``on_train_begin`` and is registered serializable.
"""

import time
from dataclasses import dataclass, field

import keras
import numpy as np

__all__ = ["ProgressEvent", "TrainingControl", "ValidationScore", "BestWeights", "SWA", "ProgressReporter",
           "recompute_batchnorm", "batchnorm_layers"]


@dataclass
class ProgressEvent:
    """One progress report of `train_model` (or `predict_dataset`).

    Attributes
    ----------
    kind : {"phase", "batch", "epoch", "fold", "done"}
        ``phase``: a named step started (``message``); ``batch``/``epoch``: one finished
        (``logs`` has ``loss``, and at epoch end ``val_loss`` and ``val_score``, the
        competition score on the validation fold); ``fold``: a fold finished (``logs``
        has its ``val_score``); ``done``: the version is written (``message`` is its name).
    fold, n_folds, epoch, n_epochs, batch, n_batches : int
        Positions are 0-based; ``n_*`` are totals (0 where unknown).
    logs : dict of str to float
    message : str
    """

    kind: str
    fold: int = 0
    n_folds: int = 0
    epoch: int = 0
    n_epochs: int = 0
    batch: int = 0
    n_batches: int = 0
    logs: dict = field(default_factory=dict)
    message: str = ""

    def __getitem__(self, key):   # dict-style access for callers that prefer it
        return getattr(self, key)


class _Callback(keras.callbacks.Callback):
    """A callback that Keras can rebuild from its `get_config` (data and functions are not kept)."""

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@keras.saving.register_keras_serializable(package="saltviewer")
class TrainingControl(_Callback):
    """Stop training at the next batch end when `cancel` is set or `deadline` has passed.

    Parameters
    ----------
    cancel : threading.Event, optional
    deadline : float, optional
        A `time.monotonic()` value.

    Attributes
    ----------
    cancelled_, out_of_time_ : bool
    """

    def __init__(self, cancel=None, deadline=None):
        super().__init__()
        self.cancel = cancel
        self.deadline = deadline
        self.cancelled_ = False
        self.out_of_time_ = False

    def on_train_begin(self, logs=None):
        self.cancelled_ = False
        self.out_of_time_ = False
        self._check()

    def on_train_batch_end(self, batch, logs=None):
        self._check()

    def _check(self):
        if self.cancel is not None and self.cancel.is_set():
            self.cancelled_ = True
        elif self.deadline is not None and time.monotonic() > self.deadline:
            self.out_of_time_ = True
        if self.cancelled_ or self.out_of_time_:
            self.model.stop_training = True

    def get_config(self):
        return {"deadline": self.deadline}


@keras.saving.register_keras_serializable(package="saltviewer")
class ValidationScore(_Callback):
    """Add ``val_score`` (competition score at probability 0.5) and ``val_loss`` (BCE) to the logs.

    Parameters
    ----------
    x : (N, 101, 101, C) ndarray of float32
    y : (N, 101, 101) ndarray of bool
    batch_size : int
    """

    def __init__(self, x=None, y=None, batch_size=64):
        super().__init__()
        self.x = x
        self.y = y
        self.batch_size = int(batch_size)
        self.history_ = []

    def on_train_begin(self, logs=None):
        self.history_ = []

    def evaluate(self):
        from .. import competition_score
        from .tta import predict_logits

        logits = predict_logits(self.model, self.x, self.batch_size)
        truth = np.asarray(self.y, bool)
        bce = np.maximum(logits, 0) - logits * truth + np.log1p(np.exp(-np.abs(logits)))
        return {"val_score": competition_score(truth, logits > 0), "val_loss": float(bce.mean())}

    def on_epoch_end(self, epoch, logs=None):
        if self.x is None or len(self.x) == 0:
            return
        scores = self.evaluate()
        self.history_.append(scores)
        if logs is not None:
            logs.update(scores)

    def get_config(self):
        return {"batch_size": self.batch_size}


@keras.saving.register_keras_serializable(package="saltviewer")
class BestWeights(_Callback):
    """Remember the weights of the epoch with the highest ``monitor`` value.

    Attributes
    ----------
    best_ : float
    best_epoch_ : int
    weights_ : list of ndarray or None
    """

    def __init__(self, monitor="val_score"):
        super().__init__()
        self.monitor = monitor
        self.reset()

    def reset(self):
        self.best_ = -np.inf
        self.best_epoch_ = -1
        self.weights_ = None

    def on_train_begin(self, logs=None):
        pass   # spans the stages of one fold: reset explicitly with `reset()`

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is not None and value >= self.best_:
            self.best_ = float(value)
            self.best_epoch_ = int(epoch)
            self.weights_ = [np.array(w) for w in self.model.get_weights()]

    def get_config(self):
        return {"monitor": self.monitor}


@keras.saving.register_keras_serializable(package="saltviewer")
class SWA(_Callback):
    """Stochastic weight averaging of the trainable weights at the end of epochs >= `start_epoch`.

    After training, `apply` puts the average into the model; then recompute the BatchNorm
    statistics (`recompute_batchnorm`), since the averaged weights never produced the
    running statistics the model holds.

    Parameters
    ----------
    start_epoch : int
        First (0-based, global) epoch whose weights enter the average.

    Attributes
    ----------
    n_averaged_ : int
    """

    def __init__(self, start_epoch=0):
        super().__init__()
        self.start_epoch = int(start_epoch)
        self.n_averaged_ = 0
        self._average = None

    def on_train_begin(self, logs=None):
        self.n_averaged_ = 0
        self._average = None

    def on_epoch_end(self, epoch, logs=None):
        if epoch < self.start_epoch:
            return
        weights = [np.asarray(v.numpy() if hasattr(v, "numpy") else v, np.float64) for v in self.model.trainable_weights]
        if self._average is None:
            self._average = weights
        else:
            k = self.n_averaged_
            self._average = [(a * k + w) / (k + 1) for a, w in zip(self._average, weights)]
        self.n_averaged_ += 1

    def apply(self, model=None):
        """Assign the averaged weights to the model; returns False if nothing was averaged."""
        model = model or self.model
        if not self.n_averaged_:
            return False
        for variable, value in zip(model.trainable_weights, self._average):
            variable.assign(value.astype(variable.dtype))
        return True

    def get_config(self):
        return {"start_epoch": self.start_epoch}


@keras.saving.register_keras_serializable(package="saltviewer")
class ProgressReporter(_Callback):
    """Call ``on_progress(ProgressEvent)`` at every batch end and epoch end.

    Parameters
    ----------
    on_progress : callable
    fold, n_folds, n_epochs : int
        Fold position and totals, copied into each event.
    """

    def __init__(self, on_progress=None, fold=0, n_folds=1, n_epochs=0):
        super().__init__()
        self.on_progress = on_progress
        self.fold = fold
        self.n_folds = n_folds
        self.n_epochs = n_epochs
        self._epoch = 0
        self._n_batches = 0

    def on_train_begin(self, logs=None):
        self._n_batches = int(self.params.get("steps") or 0) if self.params else 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def _emit(self, kind, batch=0, logs=None):
        if self.on_progress is not None:
            clean = {k: float(v) for k, v in (logs or {}).items() if np.ndim(v) == 0}
            self.on_progress(ProgressEvent(kind, self.fold, self.n_folds, self._epoch, self.n_epochs, batch,
                                           self._n_batches, clean))

    def on_train_batch_end(self, batch, logs=None):
        self._emit("batch", batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._emit("epoch", self._n_batches, logs)

    def get_config(self):
        return {"fold": self.fold, "n_folds": self.n_folds, "n_epochs": self.n_epochs}


def batchnorm_layers(model):
    """Every `BatchNormalization` layer of a model, nested models included."""
    found = []

    def walk(layer):
        if isinstance(layer, keras.layers.BatchNormalization):
            found.append(layer)
        for child in getattr(layer, "layers", []):
            walk(child)

    walk(model)
    return found


def recompute_batchnorm(model, batches, cancel=None):
    """Recompute every BatchNorm layer's moving mean and variance on data.

    Each layer's statistics become the average over `batches` of the batch means and
    variances it sees in training mode (a cumulative average, done by setting each
    layer's momentum to ``(k - 1) / k`` for the k-th batch). Weights do not change.

    Parameters
    ----------
    model : keras.Model
    batches : iterable of (B, 101, 101, C) ndarray of float32
    cancel : threading.Event, optional

    Returns
    -------
    n_batches : int
    """
    from .data import as_float
    from .._errors import TrainingCancelled

    bn = batchnorm_layers(model)
    if not bn:
        return 0
    momentum = [layer.momentum for layer in bn]
    trainable = [w for w in model.trainable_weights]
    saved = [keras.ops.convert_to_numpy(w) for w in trainable]
    k = 0
    try:
        for batch in batches:
            if cancel is not None and cancel.is_set():
                raise TrainingCancelled("cancelled while recomputing BatchNorm statistics")
            k += 1
            for layer in bn:
                layer.momentum = (k - 1) / k
            model(as_float(batch), training=True)
    finally:
        for layer, m in zip(bn, momentum):
            layer.momentum = m
    for variable, value in zip(trainable, saved):   # training-mode calls must not touch weights
        variable.assign(value)
    return k
