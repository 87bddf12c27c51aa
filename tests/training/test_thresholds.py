"""Threshold and minimum-area tuning against a brute-force reference."""

import numpy as np
import pytest

from saltviewer import SaltviewerError, competition_score
from saltviewer.thresholds import apply_threshold, tune_threshold


def _data(seed=0, n=40):
    rng = np.random.default_rng(seed)
    truth = np.zeros((n, 101, 101), bool)
    probabilities = np.zeros((n, 101, 101), np.float32)
    for i in range(n):
        if i % 3:
            r, c, h = rng.integers(0, 60), rng.integers(0, 60), rng.integers(5, 40)
            truth[i, r:r + h, c:c + h] = True
        noise = rng.normal(0, 0.25, (101, 101))
        probabilities[i] = np.clip(0.65 * truth[i] + 0.2 + noise * 0.5, 0, 1)
    return truth, probabilities


def test_tuning_matches_brute_force():
    truth, probabilities = _data()
    thresholds, areas = [0.3, 0.45, 0.6, 0.75], [0, 20, 200]
    choice = tune_threshold(truth, probabilities, thresholds, areas)
    brute = np.array([[competition_score(truth, apply_threshold(probabilities, t, a)) for a in areas]
                      for t in thresholds])
    np.testing.assert_allclose(choice.scores, brute)
    i, j = np.unravel_index(np.argmax(brute), brute.shape)
    assert choice.score == pytest.approx(brute.max())
    assert brute[thresholds.index(choice.threshold), areas.index(choice.min_area)] == pytest.approx(brute[i, j])


def test_uint8_probabilities_give_the_same_choice():
    truth, probabilities = _data(1)
    quantized = np.rint(probabilities * 255).astype(np.uint8)
    a = tune_threshold(truth, probabilities)
    b = tune_threshold(truth, quantized)
    assert abs(a.score - b.score) < 0.01


def test_min_area_empties_small_masks():
    probabilities = np.zeros((2, 101, 101), np.float32)
    probabilities[0, :3, :3] = 0.9      # 9 pixels
    probabilities[1, :10, :10] = 0.9    # 100 pixels
    masks = apply_threshold(probabilities, 0.5, min_area=10)
    assert not masks[0].any() and masks[1].sum() == 100


def test_shape_mismatch_is_refused():
    with pytest.raises(SaltviewerError, match="tune_threshold"):
        tune_threshold(np.zeros((2, 5, 5), bool), np.zeros((3, 5, 5)))
