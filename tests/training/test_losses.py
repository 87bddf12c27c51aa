"""Losses: values against plain numpy references, serialization round trips."""

import keras
import numpy as np
import pytest

from saltviewer.training.losses import BCEDice, LovaszHinge, get_loss


def lovasz_reference(truth, logits):
    """Per-image Lovasz hinge, written out with a Python loop over the sorted errors."""
    losses = []
    for t, z in zip(truth.reshape(len(truth), -1), logits.reshape(len(logits), -1)):
        errors = 1.0 - z * (2.0 * t - 1.0)
        order = sorted(range(len(errors)), key=lambda i: -errors[i])
        gts = t.sum()
        previous_jaccard = 0.0
        total = 0.0
        seen_true = seen_false = 0
        for i in order:
            if t[i]:
                seen_true += 1
            else:
                seen_false += 1
            intersection = gts - seen_true
            union = gts + seen_false
            jaccard = 1.0 - intersection / union
            total += max(errors[i], 0.0) * (jaccard - previous_jaccard)
            previous_jaccard = jaccard
        losses.append(total)
    return np.mean(losses)


def test_lovasz_matches_numpy_reference():
    rng = np.random.default_rng(0)
    truth = (rng.random((4, 9, 9, 1)) > 0.6).astype("float32")
    truth[1] = 0                       # an image with no salt
    truth[2] = 1                       # an image all salt
    logits = rng.normal(0, 2, size=truth.shape).astype("float32")
    value = float(LovaszHinge()(truth, logits))
    assert value == pytest.approx(lovasz_reference(truth, logits), rel=1e-5)


def test_lovasz_is_zero_for_confident_correct_logits_and_positive_otherwise():
    truth = np.zeros((2, 8, 8, 1), "float32")
    truth[:, 2:6, 2:6] = 1
    perfect = np.where(truth > 0, 5.0, -5.0).astype("float32")
    assert float(LovaszHinge()(truth, perfect)) == pytest.approx(0.0, abs=1e-6)
    assert float(LovaszHinge()(truth, -perfect)) > 1.0


def test_bce_dice_matches_numpy():
    rng = np.random.default_rng(1)
    truth = (rng.random((3, 7, 7, 1)) > 0.5).astype("float32")
    logits = rng.normal(0, 1.5, size=truth.shape).astype("float32")
    p = 1 / (1 + np.exp(-logits))
    t = truth.reshape(3, -1)
    pf = p.reshape(3, -1)
    bce = -(t * np.log(pf) + (1 - t) * np.log(1 - pf)).mean(axis=1)
    dice = (2 * (pf * t).sum(1) + 1) / (pf.sum(1) + t.sum(1) + 1)
    expected = (bce + 0.5 * (1 - dice)).mean()
    assert float(BCEDice(dice_weight=0.5)(truth, logits)) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("loss", [BCEDice(dice_weight=0.7), LovaszHinge()])
def test_losses_serialize_and_survive_a_model_save(loss, tmp_path):
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert type(clone) is type(loss) and clone.get_config() == loss.get_config()
    model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Conv2D(1, 1)])
    model.compile(optimizer="sgd", loss=loss)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert type(loaded.loss) is type(loss)
    x = np.random.default_rng(2).random((2, 4, 4, 1)).astype("float32")
    y = (x > 0.5).astype("float32")
    assert float(loaded.loss(y, loaded(x))) == pytest.approx(float(loss(y, model(x))), rel=1e-5)


def test_get_loss_rejects_unknown_names():
    from saltviewer import SaltviewerError

    with pytest.raises(SaltviewerError, match="loss must be one of"):
        get_loss("focal")
