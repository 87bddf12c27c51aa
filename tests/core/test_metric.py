import numpy as np
import pytest

from saltviewer import SaltviewerError, competition_score, image_precisions


def _reference_precision(truth, prediction):
    """The competition's definition, one image at a time, in plain Python."""
    t, p = truth.astype(bool), prediction.astype(bool)
    if not t.any():
        return 1.0 if not p.any() else 0.0
    inter = np.logical_and(t, p).sum()
    union = np.logical_or(t, p).sum()
    iou = inter / union
    return float(np.mean([1.0 if iou > th else 0.0 for th in np.arange(0.5, 1.0, 0.05)]))


def _square(size, r0, c0, h, w):
    m = np.zeros((size, size), bool)
    m[r0:r0 + h, c0:c0 + w] = True
    return m


CASES = [
    # truth, prediction, expected precision
    (np.zeros((5, 5), bool), np.zeros((5, 5), bool), 1.0),             # empty / empty
    (np.zeros((5, 5), bool), _square(5, 0, 0, 1, 1), 0.0),           # empty truth, any salt
    (_square(5, 0, 0, 2, 2), np.zeros((5, 5), bool), 0.0),           # salt, empty prediction
    (_square(5, 0, 0, 2, 2), _square(5, 0, 0, 2, 2), 1.0),           # perfect
    (_square(10, 0, 0, 2, 10), _square(10, 0, 0, 2, 5), 0.0),        # IoU exactly 0.5: fails > 0.5
    (_square(10, 0, 0, 4, 10), _square(10, 0, 0, 3, 10), 0.5),       # IoU 0.75: passes 0.50..0.70
    (_square(20, 0, 0, 20, 20), _square(20, 0, 0, 19, 20), 0.9),     # IoU 0.95: all but 0.95
    (_square(20, 0, 0, 10, 20), _square(20, 0, 0, 11, 20), 0.9),     # IoU 10/11 = 0.909
    (_square(10, 0, 0, 10, 10), _square(10, 0, 0, 8, 10), 0.6),     # IoU exactly 0.8: fails > 0.8
]


@pytest.mark.parametrize("truth, prediction, expected", CASES)
def test_hand_made_cases(truth, prediction, expected):
    assert image_precisions(truth, prediction)[0] == pytest.approx(expected)
    assert _reference_precision(truth, prediction) == pytest.approx(expected)


def test_vectorised_matches_reference_loop_on_random_masks():
    rng = np.random.default_rng(1)
    n = 300
    truth = np.zeros((n, 101, 101), bool)
    prediction = np.zeros((n, 101, 101), bool)
    for i in range(n):
        if rng.random() < 0.35:
            continue
        r, c = rng.integers(0, 80, 2)
        h, w = rng.integers(1, 40, 2)
        truth[i, r:r + h, c:c + w] = True
        kind = rng.random()
        if kind < 0.6:
            dr, dc = rng.integers(-5, 6, 2)
            prediction[i, max(r + dr, 0):r + dr + h, max(c + dc, 0):c + dc + w] = True
        elif kind < 0.8:
            prediction[i] = rng.random((101, 101)) < 0.1
    expected = np.array([_reference_precision(t, p) for t, p in zip(truth, prediction)])
    got = image_precisions(truth, prediction)
    np.testing.assert_allclose(got, expected)
    assert competition_score(truth, prediction) == pytest.approx(expected.mean())
    assert len(set(np.round(expected, 1))) > 3   # the random cases cover several levels


def test_accepts_uint8_and_single_images():
    t = _square(8, 1, 1, 4, 4).astype(np.uint8)
    assert competition_score(t, t * 255) == 1.0


def test_shape_mismatch_is_a_clear_error():
    with pytest.raises(SaltviewerError, match="same shape"):
        image_precisions(np.zeros((2, 5, 5)), np.zeros((3, 5, 5)))
    with pytest.raises(SaltviewerError, match="no images"):
        competition_score(np.zeros((0, 5, 5)), np.zeros((0, 5, 5)))
