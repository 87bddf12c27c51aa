"""Segmentation losses on logits: BCE + soft Dice, and the Lovasz hinge.

Models output logits ``(batch, 101, 101, 1)``; targets are 0/1 masks of the same shape.
Both losses are registered Keras-serializable and written in `keras.ops` only.
"""

import keras
from keras import ops

from .._errors import SaltviewerError

__all__ = ["BCEDice", "LovaszHinge", "get_loss", "LOSSES", "lovasz_hinge_per_image"]


def _flatten(y_true, y_pred):
    batch = ops.shape(y_pred)[0]
    y_pred = ops.reshape(ops.cast(y_pred, "float32"), (batch, -1))
    y_true = ops.reshape(ops.cast(y_true, "float32"), (batch, -1))
    return y_true, y_pred


@keras.saving.register_keras_serializable(package="saltviewer")
class BCEDice(keras.losses.Loss):
    """Binary cross-entropy on logits plus ``dice_weight`` x (1 - soft Dice), per image.

    Soft Dice of an image is ``(2 sum(p t) + 1) / (sum(p) + sum(t) + 1)`` with
    ``p = sigmoid(logits)``; the +1 keeps empty masks well defined (an empty
    prediction of an empty mask has Dice 1).

    Returns one value per image, which Keras averages over the batch.
    """

    def __init__(self, dice_weight=1.0, name="bce_dice", reduction="sum_over_batch_size", **kwargs):
        super().__init__(name=name, reduction=reduction, **kwargs)
        self.dice_weight = float(dice_weight)

    def call(self, y_true, y_pred):
        y_true, logits = _flatten(y_true, y_pred)
        # Stable BCE with logits: max(z, 0) - z t + log(1 + exp(-|z|)).
        bce = ops.mean(ops.relu(logits) - logits * y_true + ops.log1p(ops.exp(-ops.abs(logits))), axis=-1)
        probabilities = ops.sigmoid(logits)
        intersection = ops.sum(probabilities * y_true, axis=-1)
        dice = (2.0 * intersection + 1.0) / (ops.sum(probabilities, axis=-1) + ops.sum(y_true, axis=-1) + 1.0)
        return bce + self.dice_weight * (1.0 - dice)

    def get_config(self):
        return dict(super().get_config(), dice_weight=self.dice_weight)


def lovasz_hinge_per_image(y_true, logits):
    """Lovasz hinge of each image (Berman et al., 2018).

    Parameters
    ----------
    y_true : (B, P) tensor of {0, 1}
    logits : (B, P) tensor

    Returns
    -------
    loss : (B,) tensor
        ``sum_i relu(e_(i)) * g_i`` with errors ``e = 1 - z (2t - 1)`` sorted in decreasing
        order and ``g`` the gradient of the Lovasz extension of the Jaccard loss at that
        order. An image with no salt is penalised by its largest error only.
    """
    signs = 2.0 * y_true - 1.0
    errors = 1.0 - logits * signs
    order = ops.argsort(-errors, axis=-1)
    errors_sorted = ops.take_along_axis(errors, order, axis=-1)
    truth_sorted = ops.stop_gradient(ops.take_along_axis(y_true, order, axis=-1))
    total = ops.sum(truth_sorted, axis=-1, keepdims=True)
    intersection = total - ops.cumsum(truth_sorted, axis=-1)
    union = total + ops.cumsum(1.0 - truth_sorted, axis=-1)
    jaccard = 1.0 - intersection / union
    grad = ops.concatenate([jaccard[:, :1], jaccard[:, 1:] - jaccard[:, :-1]], axis=-1)
    return ops.sum(ops.relu(errors_sorted) * ops.stop_gradient(grad), axis=-1)


@keras.saving.register_keras_serializable(package="saltviewer")
class LovaszHinge(keras.losses.Loss):
    """Lovasz hinge on logits, per image, averaged over the batch.

    A convex surrogate of 1 - IoU, closer to the competition metric than BCE; best
    used after a BCE + Dice warm-up (see `saltviewer.training.fit`).
    """

    def __init__(self, name="lovasz", reduction="sum_over_batch_size", **kwargs):
        super().__init__(name=name, reduction=reduction, **kwargs)

    def call(self, y_true, y_pred):
        y_true, logits = _flatten(y_true, y_pred)
        return lovasz_hinge_per_image(y_true, logits)


LOSSES = {"bce_dice": BCEDice, "lovasz": LovaszHinge}


def get_loss(name):
    """A loss instance for a schedule name (``"bce_dice"`` or ``"lovasz"``)."""
    if name not in LOSSES:
        raise SaltviewerError(f"loss must be one of {', '.join(LOSSES)}; got {name!r}.")
    return LOSSES[name]()
