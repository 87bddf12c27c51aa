"""One-step cleanups of a drawn mask: fill holes, remove specks, smooth the outline, clear.

Plain functions on (101, 101) masks (no Qt), so that the correction tools and the tests
call the same code.
"""

import numpy as np
from scipy import ndimage

__all__ = ["fill_holes", "remove_specks", "smooth_outline", "clear_mask", "CLEANUPS"]


def fill_holes(mask):
    """Fill the holes of a mask: empty regions that salt encloses (not those that reach the border).

    Parameters
    ----------
    mask : (H, W) ndarray of bool

    Returns
    -------
    filled : (H, W) ndarray of bool
    """
    return ndimage.binary_fill_holes(np.asarray(mask, bool))


def remove_specks(mask, min_size=20):
    """Remove salt regions (4-connected) smaller than `min_size` pixels.

    >>> m = np.zeros((5, 5), bool); m[0, 0] = True; m[2:5, 2:5] = True
    >>> int(remove_specks(m, 4).sum())
    9
    """
    mask = np.asarray(mask, bool)
    labels, count = ndimage.label(mask)
    if count == 0:
        return mask.copy()
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    keep = sizes >= int(min_size)
    keep[0] = False
    return keep[labels]


def smooth_outline(mask, sigma=1.5):
    """Round off a ragged outline: blur the mask (Gaussian, `sigma` pixels) and keep what stays above half.

    Straight edges and the area stay nearly as they are; one-pixel spurs and notches go.
    """
    mask = np.asarray(mask, bool)
    if not mask.any() or mask.all():
        return mask.copy()
    return ndimage.gaussian_filter(mask.astype(np.float32), float(sigma), mode="nearest") > 0.5


def clear_mask(mask):
    """An empty mask of the same shape."""
    return np.zeros(np.shape(mask), bool)


#: action -> (function, label for the status line)
CLEANUPS = {
    "fill_holes": (fill_holes, "holes filled"),
    "remove_specks": (remove_specks, "specks removed"),
    "smooth": (smooth_outline, "outline smoothed"),
    "clear": (clear_mask, "cleared"),
}
