"""Simple per-pixel features of tiles, to feed a model as extra input channels or to look at.

Every channel is computed on the tile's grey levels scaled to [0, 1] (``image / 255``),
tile by tile (nothing is learned from other tiles), and brought to a small fixed range so
that channels can sit beside the image in one input tensor:

============  ==========================================================  ==============
name          what                                                        range
============  ==========================================================  ==============
depth         the tile's depth in feet / 1000, the same in every pixel    TGS: 0.05-0.96
position      row / (H - 1): 0 on the top row, 1 on the bottom row        [0, 1]
cumsum        running sum down each column of (image - tile mean),        [-5, 5]
              standardised per tile (mean 0, std 1; 0 for a constant
              tile), clipped to [-5, 5]
sobel         Sobel gradient magnitude, in grey-level change per pixel    [0, 0.71]
laplacian     4-neighbour Laplacian / 4                                   [-1, 1]
variance      local variance in a 7x7 window, times 4                     [0, 1]
entropy       local Shannon entropy of 16 grey-level bins in a 7x7        [0, 1]
              window, in bits / 4
============  ==========================================================  ==============

Windows and derivatives see past the tile's edge by mirroring it (``d c b a | a b c d``),
so a feature at the edge is computed like one inside.
"""

import numpy as np
from scipy import ndimage

from ._errors import SaltviewerError

__all__ = ["FEATURE_NAMES", "compute_features", "DEPTH_SCALE", "WINDOW", "ENTROPY_LEVELS", "CUMSUM_CLIP"]

FEATURE_NAMES = ("depth", "position", "cumsum", "sobel", "laplacian", "variance", "entropy")
"""Every channel `compute_features` knows, in a fixed order."""

DEPTH_SCALE = 1000.0
"""Feet per unit of the depth channel (TGS depths run 50 to 959 ft)."""

WINDOW = 7
"""Side in pixels of the square window of the variance and entropy channels."""

ENTROPY_LEVELS = 16
"""Grey-level bins of the entropy channel (256 / 16 = 16 grey levels a bin)."""

CUMSUM_CLIP = 5.0
"""The standardised cumsum channel is clipped to [-5, 5] (a few tiles have long tails)."""

_CHUNK = 256


def _check_names(names):
    if isinstance(names, str):
        names = (names,)
    try:
        names = tuple(names)
    except TypeError:
        raise SaltviewerError(f"names must be a sequence of feature names from {', '.join(FEATURE_NAMES)}; "
                              f"got {names!r}.") from None
    unknown = [name for name in names if name not in FEATURE_NAMES]
    if unknown:
        raise SaltviewerError(f"unknown feature name{'s' if len(unknown) > 1 else ''} "
                              f"{', '.join(repr(n) for n in unknown)}; valid names: {', '.join(FEATURE_NAMES)}.")
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise SaltviewerError(f"names: {', '.join(repr(n) for n in twice)} given more than once; "
                              "each channel may appear once.")
    return names


def compute_features(images, depths=None, names=FEATURE_NAMES):
    """Feature channels of a stack of tiles.

    Parameters
    ----------
    images : (N, H, W) ndarray of uint8
        Tiles (101x101 in the TGS data; any H, W >= 2 works).
    depths : (N,) array of float, optional
        Depth of each tile in feet; needed only for the ``"depth"`` channel, and then for
        every tile (no NaN).
    names : sequence of str
        Channels to compute, in the order wanted; any of `FEATURE_NAMES`, each at most once.

    Returns
    -------
    features : (N, H, W, C) ndarray of float32
        ``C = len(names)``; channel ``c`` is feature ``names[c]`` (see the module notes
        for each one's meaning and range).

    Raises
    ------
    SaltviewerError
        On an unknown or repeated name, images that are not a uint8 stack, or missing depths.

    Examples
    --------
    >>> import numpy as np
    >>> ramp = np.repeat(np.arange(101, dtype=np.uint8)[:, None] * 2, 101, axis=1)[None]
    >>> f = compute_features(ramp, names=("position", "sobel", "variance"))
    >>> f.shape
    (1, 101, 101, 3)
    >>> round(float(f[0, 50, 50, 1]) * 255, 3)  # two grey levels a row
    2.0
    """
    names = _check_names(names)
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1] < 2 or images.shape[2] < 2:
        raise SaltviewerError(f"images must be a stack of tiles, shape (N, H, W) with H, W >= 2; got {images.shape}.")
    if images.dtype != np.uint8:
        raise SaltviewerError(f"images must be uint8 grey levels, got dtype {images.dtype}.")
    n, height, width = images.shape
    if "depth" in names:
        if depths is None:
            raise SaltviewerError("depths: the 'depth' channel needs the depth of every tile, got none "
                                  "(is depths.csv missing?).")
        depths = np.asarray(depths, dtype=float)
        if depths.shape != (n,):
            raise SaltviewerError(f"depths must have one value per tile, shape ({n},); got {depths.shape}.")
        unknown = np.flatnonzero(~np.isfinite(depths))
        if len(unknown):
            raise SaltviewerError(f"depths: {len(unknown)} of {n} tiles have no depth (first at position "
                                  f"{unknown[0]}); the 'depth' channel needs every tile's depth.")
    out = np.empty((n, height, width, len(names)), np.float32)
    for start in range(0, n, _CHUNK):
        stop = min(start + _CHUNK, n)
        tiles = images[start:stop]
        scaled = tiles.astype(np.float32) / 255.0
        for c, name in enumerate(names):
            if name == "depth":
                out[start:stop, :, :, c] = (depths[start:stop] / DEPTH_SCALE)[:, None, None]
            elif name == "entropy":
                out[start:stop, :, :, c] = _local_entropy(tiles)
            else:
                out[start:stop, :, :, c] = _CHANNELS[name](scaled)
    return out


def _position(scaled):
    _, height, _ = scaled.shape
    return np.broadcast_to(np.linspace(0, 1, height, dtype=np.float32)[None, :, None], scaled.shape)


def _cumsum(scaled):
    centred = scaled - scaled.mean((1, 2), keepdims=True)
    running = np.cumsum(centred, axis=1)
    running -= running.mean((1, 2), keepdims=True)
    spread = running.std((1, 2), keepdims=True)
    standard = np.divide(running, spread, out=np.zeros_like(running), where=spread > 1e-6)
    return np.clip(standard, -CUMSUM_CLIP, CUMSUM_CLIP)


# Derivative and smoothing kernels applied along one tile axis at a time (axes 1 and 2 of the
# stack), never across tiles: scipy's sobel and laplace would also act along the stack axis.
def _along(values, weights, axis):
    return ndimage.correlate1d(values, weights, axis=axis, mode="reflect")


def _sobel(scaled):
    difference, smoothing = np.array([-1.0, 0.0, 1.0]), np.array([1.0, 2.0, 1.0])
    down = _along(_along(scaled, difference, 1), smoothing, 2)
    across = _along(_along(scaled, difference, 2), smoothing, 1)
    return np.hypot(down, across) / 8.0


def _laplacian(scaled):
    second = np.array([1.0, -2.0, 1.0])
    return (_along(scaled, second, 1) + _along(scaled, second, 2)) / 4.0


def _box_mean(values):
    return ndimage.uniform_filter(values, size=(1, WINDOW, WINDOW), mode="reflect")


def _variance(scaled):
    mean = _box_mean(scaled)
    square = _box_mean(scaled * scaled)
    return np.clip(4.0 * (square - mean * mean), 0.0, 1.0)


def _local_entropy(tiles):
    # Counts c_l of each bin l in the window; entropy = log2(n) - sum_l c_l log2(c_l) / n.
    bins = tiles // (256 // ENTROPY_LEVELS)
    area = WINDOW * WINDOW
    ones = np.ones(WINDOW)
    plogp = np.zeros(tiles.shape, np.float32)
    for level in np.unique(bins):
        present = (bins == level).view(np.uint8)
        counts = ndimage.correlate1d(present, ones, axis=1, mode="reflect")
        counts = ndimage.correlate1d(counts, ones, axis=2, mode="reflect").astype(np.float32)
        np.maximum(counts, 1.0, out=counts)       # 1 * log2(1) = 0 stands in for 0 * log2(0)
        plogp += counts * np.log2(counts)
    entropy = (np.log2(area) - plogp / area) / np.log2(ENTROPY_LEVELS)
    return np.clip(entropy, 0.0, 1.0)


_CHANNELS = {
    "position": _position,
    "cumsum": _cumsum,
    "sobel": _sobel,
    "laplacian": _laplacian,
    "variance": _variance,
}
