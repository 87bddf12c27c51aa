"""The TGS Salt Identification competition metric."""

import numpy as np

from ._errors import SaltviewerError

__all__ = ["competition_score", "image_precisions", "IOU_THRESHOLDS"]

#: IoU thresholds of the competition: 0.50, 0.55, ..., 0.95.
IOU_THRESHOLDS = np.arange(10, 20) / 20.0
_THRESHOLD_TWENTIETHS = np.arange(10, 20)


def _as_mask_stack(masks, name):
    masks = np.asarray(masks)
    if masks.ndim == 2:
        masks = masks[None]
    if masks.ndim != 3:
        raise SaltviewerError(f"`{name}` must be (N, H, W) masks or one (H, W) mask, got shape {masks.shape}.")
    if masks.dtype != bool:
        masks = masks != 0
    return masks


def _intersections_and_unions(truth, prediction, chunk=4096):
    n = truth.shape[0]
    inter = np.empty(n, np.int64)
    union = np.empty(n, np.int64)
    for lo in range(0, n, chunk):
        t = np.packbits(truth[lo:lo + chunk].reshape(min(chunk, n - lo), -1), axis=1)
        p = np.packbits(prediction[lo:lo + chunk].reshape(min(chunk, n - lo), -1), axis=1)
        pad = (-t.shape[1]) % 8
        if pad:
            t = np.pad(t, ((0, 0), (0, pad)))
            p = np.pad(p, ((0, 0), (0, pad)))
        t64, p64 = t.view(np.uint64), p.view(np.uint64)
        inter[lo:lo + chunk] = np.bitwise_count(t64 & p64).sum(axis=1, dtype=np.int64)
        union[lo:lo + chunk] = np.bitwise_count(t64 | p64).sum(axis=1, dtype=np.int64)
    return inter, union


def image_precisions(truth, prediction):
    """Per-image competition precision: the mean over IoU thresholds of ``IoU > t``.

    Parameters
    ----------
    truth, prediction : (N, H, W) ndarray of bool, or one (H, W) mask each
        True salt and predicted salt; non-bool arrays are read as ``!= 0``.

    Returns
    -------
    precisions : (N,) ndarray of float64
        In ``{0, 0.1, ..., 1}``. An empty truth scores 1 with an empty prediction and
        0 otherwise.

    Notes
    -----
    The comparison ``IoU > k / 20`` is done in integers (``20 * I > k * U``), so an IoU
    of exactly 0.5 does not pass the 0.5 threshold, as in the competition's definition.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.zeros((4, 4), bool); t[:2] = True          # 8 pixels
    >>> p = np.zeros((4, 4), bool); p[:2, :3] = True      # 6 of them: IoU 0.75
    >>> image_precisions(t, p)
    array([0.5])
    """
    truth = _as_mask_stack(truth, "truth")
    prediction = _as_mask_stack(prediction, "prediction")
    if truth.shape != prediction.shape:
        raise SaltviewerError(
            f"`truth` and `prediction` must have the same shape, got {truth.shape} and {prediction.shape}.")
    inter, union = _intersections_and_unions(truth, prediction)
    passed = (20 * inter[:, None]) > (_THRESHOLD_TWENTIETHS[None, :] * union[:, None])
    precisions = passed.mean(axis=1)
    precisions[union == 0] = 1.0
    return precisions


def competition_score(truth, prediction):
    """The competition score: the mean of `image_precisions` over images.

    Parameters
    ----------
    truth, prediction : (N, H, W) ndarray of bool

    Returns
    -------
    score : float

    Examples
    --------
    >>> import numpy as np
    >>> empty = np.zeros((2, 5, 5), bool)
    >>> competition_score(empty, empty)
    1.0
    """
    precisions = image_precisions(truth, prediction)
    if precisions.size == 0:
        raise SaltviewerError("competition_score: no images to score.")
    return float(precisions.mean())
