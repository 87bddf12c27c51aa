"""Dense-CRF refinement of salt probability maps (optional: the ``crf`` extra, pydensecrf2).

A fully connected CRF (Krähenbühl and Koltun, 2011) with two labels, salt and sediment:
the unary term is ``-log p`` of the network's probabilities, a Gaussian pairwise term
smooths labels between nearby pixels, and an optional bilateral term makes pixels of
similar seismic amplitude that lie near each other take the same label.

Whether this helps on the competition's tiles is measured, not assumed:
``benchmarks/bench_crf.py`` scores out-of-fold predictions with and without it
(``benchmarks/results/crf.json``); `CRF_DEFAULT` records the outcome. On the U-Net's
out-of-fold maps of the 3,200 labelled tiles (score 0.612 at its best threshold) the best
setting, Gaussian smoothing alone, gained +0.0016 (95% interval -0.0008 to +0.0041) and the
bilateral settings gained nothing or lost up to 0.04; it helps only much weaker maps (a pixel
classifier scoring 0.40 gains 0.10). So refinement is off by default and available on request.
"""

import warnings

import numpy as np

from ._errors import SaltviewerError
from .rle import TILE_SHAPE

__all__ = ["refine_with_crf", "crf_available", "CRF_MISSING", "CRF_DEFAULT", "CRF_PARAMETERS"]

#: What the benchmark says about refining by default (see benchmarks/results/crf.json).
CRF_DEFAULT = False
#: The parameters of the best setting on the U-Net's out-of-fold maps (used when refinement is asked for).
CRF_PARAMETERS = dict(gaussian_sxy=3.0, gaussian_compat=3.0, bilateral_compat=0.0)

CRF_MISSING = ("dense-CRF refinement needs the optional `crf` extra (the pydensecrf2 package, module "
               "`pydensecrf`): pip install 'saltviewer[crf]'")

_EPSILON = 1e-5


def crf_available():
    """Whether `refine_with_crf` can run (pydensecrf is importable)."""
    try:
        import pydensecrf.densecrf  # noqa: F401
    except ImportError:
        return False
    return True


def _grid(shape, scale):
    rows, cols = np.mgrid[:shape[0], :shape[1]].astype(np.float32)
    return np.stack([rows.reshape(-1) / scale, cols.reshape(-1) / scale])


def refine_with_crf(probabilities, image=None, *, iterations=5, gaussian_sxy=3.0, gaussian_compat=3.0,
                    bilateral_sxy=10.0, bilateral_srgb=20.0, bilateral_compat=5.0, missing="raise"):
    """Refine salt probabilities with a fully connected CRF.

    Parameters
    ----------
    probabilities : (H, W) or (N, H, W) ndarray of float in [0, 1], or of uint8 (``p * 255``)
    image : (H, W) or (N, H, W) ndarray of uint8, optional
        The seismic tiles; when given (and `bilateral_compat` > 0) the bilateral term is used.
    iterations : int
        Mean-field iterations.
    gaussian_sxy, gaussian_compat : float
        Width in pixels and weight of the smoothness term (weight 0 leaves it out).
    bilateral_sxy, bilateral_srgb, bilateral_compat : float
        Width in pixels, width in grey levels and weight of the appearance term.
    missing : {"raise", "warn"}
        Without pydensecrf: raise `SaltviewerError`, or warn and return the
        probabilities unchanged (as float32).

    Returns
    -------
    refined : ndarray of float32, the shape of `probabilities`
        The CRF's marginal probability of salt; threshold it (``> 0.5``) for a mask.

    Raises
    ------
    SaltviewerError
        For bad shapes or values, or when pydensecrf is missing and ``missing="raise"``.
    """
    if missing not in ("raise", "warn"):
        raise SaltviewerError(f"missing must be 'raise' or 'warn', got {missing!r}.")
    probabilities = np.asarray(probabilities)
    single = probabilities.ndim == 2
    stack = probabilities[None] if single else probabilities
    if stack.ndim != 3:
        raise SaltviewerError(f"probabilities: expected (H, W) or (N, H, W), got shape {probabilities.shape}.")
    if stack.dtype == np.uint8:
        stack = stack.astype(np.float32) / 255
    elif not np.issubdtype(stack.dtype, np.floating):
        raise SaltviewerError(f"probabilities: expected floats in [0, 1] or uint8, got dtype {probabilities.dtype}.")
    else:
        stack = stack.astype(np.float32)
        if not np.all(np.isfinite(stack)) or stack.min(initial=0) < 0 or stack.max(initial=0) > 1:
            raise SaltviewerError("probabilities: must be finite and within [0, 1].")
    images = None
    if image is not None:
        images = np.asarray(image)
        images = images[None] if images.ndim == 2 else images
        if images.shape != stack.shape or images.dtype != np.uint8:
            raise SaltviewerError(f"image: expected uint8 of shape {probabilities.shape}, "
                                  f"got {np.asarray(image).dtype} {np.asarray(image).shape}.")
    iterations = int(iterations)
    if iterations < 1:
        raise SaltviewerError(f"iterations must be at least 1, got {iterations}.")
    for name, value in (("gaussian_sxy", gaussian_sxy), ("bilateral_sxy", bilateral_sxy),
                        ("bilateral_srgb", bilateral_srgb)):
        if not value > 0:
            raise SaltviewerError(f"{name} must be positive, got {value!r}.")
    for name, value in (("gaussian_compat", gaussian_compat), ("bilateral_compat", bilateral_compat)):
        if not value >= 0:
            raise SaltviewerError(f"{name} must be >= 0, got {value!r}.")
    try:
        import pydensecrf.densecrf as dcrf
    except ImportError:
        if missing == "raise":
            raise SaltviewerError(CRF_MISSING + ".") from None
        warnings.warn(CRF_MISSING + "; returning the probabilities unrefined.", stacklevel=2)
        return stack[0] if single else stack

    shape = stack.shape[1:]
    pixels = shape[0] * shape[1]
    smooth = np.ascontiguousarray(_grid(shape, gaussian_sxy))
    place = _grid(shape, bilateral_sxy)
    out = np.empty(stack.shape, np.float32)
    for k in range(len(stack)):
        p = np.clip(stack[k].reshape(-1), _EPSILON, 1 - _EPSILON)
        unary = np.ascontiguousarray(-np.log(np.stack([1 - p, p])), dtype=np.float32)
        crf = dcrf.DenseCRF(pixels, 2)
        crf.setUnaryEnergy(unary)
        if gaussian_compat > 0:
            crf.addPairwiseEnergy(smooth, compat=float(gaussian_compat), kernel=dcrf.DIAG_KERNEL,
                                  normalization=dcrf.NORMALIZE_SYMMETRIC)
        if images is not None and bilateral_compat > 0:
            amplitude = images[k].reshape(1, -1).astype(np.float32) / float(bilateral_srgb)
            features = np.ascontiguousarray(np.concatenate([place, amplitude]), dtype=np.float32)
            crf.addPairwiseEnergy(features, compat=float(bilateral_compat), kernel=dcrf.DIAG_KERNEL,
                                  normalization=dcrf.NORMALIZE_SYMMETRIC)
        marginals = np.asarray(crf.inference(iterations), np.float32).reshape(2, pixels)
        out[k] = marginals[1].reshape(shape)
    return out[0] if single else out
