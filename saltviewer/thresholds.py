"""Choose the binarisation threshold and minimum salt area that maximise the competition score."""

from dataclasses import dataclass

import numpy as np

from ._errors import SaltviewerError
from .metric import image_precisions

__all__ = ["tune_threshold", "apply_threshold", "ThresholdChoice", "DEFAULT_THRESHOLDS", "DEFAULT_MIN_AREAS"]

#: Probability thresholds tried by default: 0.20, 0.225, ..., 0.80.
DEFAULT_THRESHOLDS = np.round(np.arange(0.20, 0.8001, 0.025), 3)
#: Minimum salt areas (pixels) tried by default; a mask with fewer salt pixels is emptied.
DEFAULT_MIN_AREAS = (0, 10, 20, 30, 50, 75, 100, 150, 200, 300, 400, 600, 800, 1000, 1500)


@dataclass
class ThresholdChoice:
    """The tuned binarisation.

    Attributes
    ----------
    threshold : float
        Salt where probability > threshold.
    min_area : int
        Masks with fewer salt pixels than this are emptied.
    score : float
        Competition score at (threshold, min_area).
    scores : (T, M) ndarray of float
        Score for every pair of `thresholds` x `min_areas`.
    thresholds : (T,) ndarray of float
    min_areas : (M,) ndarray of int
    """

    threshold: float
    min_area: int
    score: float
    scores: np.ndarray
    thresholds: np.ndarray
    min_areas: np.ndarray


def _as_float(probabilities):
    probabilities = np.asarray(probabilities)
    if probabilities.dtype == np.uint8:
        return probabilities.astype(np.float32) / 255.0
    return probabilities.astype(np.float32, copy=False)


def apply_threshold(probabilities, threshold=0.5, min_area=0):
    """Binarise probability maps: ``p > threshold``, then empty masks smaller than `min_area`.

    Parameters
    ----------
    probabilities : (N, H, W) ndarray of float in [0, 1], or of uint8 (``p * 255``)
    threshold : float
    min_area : int

    Returns
    -------
    masks : (N, H, W) ndarray of bool
    """
    masks = _as_float(probabilities) > threshold
    if min_area > 0:
        small = masks.reshape(len(masks), -1).sum(axis=1) < min_area
        masks[small] = False
    return masks


def tune_threshold(truth, probabilities, thresholds=None, min_areas=None, chunk=2048):
    """Grid-search the threshold and minimum area on labelled (e.g. out-of-fold) predictions.

    Parameters
    ----------
    truth : (N, H, W) ndarray of bool
    probabilities : (N, H, W) ndarray of float, or uint8 (``p * 255``)
    thresholds : sequence of float, optional
        Default `DEFAULT_THRESHOLDS`.
    min_areas : sequence of int, optional
        Default `DEFAULT_MIN_AREAS`.

    Returns
    -------
    choice : ThresholdChoice
        Ties go to the threshold closest to 0.5, then to the smallest area.

    Notes
    -----
    Emptying a mask scores 1 on an image with no salt and 0 otherwise, so for each
    threshold the per-image precisions and areas are computed once and every minimum
    area is scored from them.
    """
    truth = np.asarray(truth, bool)
    if truth.shape != np.shape(probabilities) or truth.ndim != 3 or len(truth) == 0:
        raise SaltviewerError(f"tune_threshold: truth {truth.shape} and probabilities {np.shape(probabilities)} "
                              "must be the same non-empty (N, H, W) shape.")
    thresholds = np.asarray(DEFAULT_THRESHOLDS if thresholds is None else thresholds, float)
    min_areas = np.asarray(DEFAULT_MIN_AREAS if min_areas is None else min_areas, int)
    n = len(truth)
    empty_truth = ~truth.reshape(n, -1).any(axis=1)
    scores = np.zeros((len(thresholds), len(min_areas)))
    for i, t in enumerate(thresholds):
        precisions = np.empty(n)
        areas = np.empty(n, np.int64)
        for lo in range(0, n, chunk):
            masks = _as_float(probabilities[lo:lo + chunk]) > t
            areas[lo:lo + chunk] = masks.reshape(len(masks), -1).sum(axis=1)
            precisions[lo:lo + chunk] = image_precisions(truth[lo:lo + chunk], masks)
        for j, m in enumerate(min_areas):
            scores[i, j] = np.where(areas < m, empty_truth, precisions).mean()
    best = scores.max()
    candidates = np.argwhere(scores >= best - 1e-12)
    i, j = min(candidates, key=lambda ij: (abs(thresholds[ij[0]] - 0.5), min_areas[ij[1]]))
    return ThresholdChoice(float(thresholds[i]), int(min_areas[j]), float(scores[i, j]), scores, thresholds, min_areas)
