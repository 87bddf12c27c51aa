"""The integer levels behind an ensemble's thresholds, and the consensus threshold.

Stored maps are uint8 ``round(p * 255)``; a threshold on probabilities becomes a level on
the summed maps, so masks are drawn without converting to floats.
"""

import math

import numpy as np

from .._errors import SaltviewerError
from ..rle import TILE_SHAPE

__all__ = ["PIXELS", "UNCERTAIN_RANGE", "probability_level", "default_consensus_threshold", "check_threshold"]

PIXELS = TILE_SHAPE[0] * TILE_SHAPE[1]
#: Consensus probabilities inside this closed range count as uncertain pixels.
UNCERTAIN_RANGE = (0.2, 0.8)


def probability_level(threshold, members=1):
    """The integer level ``L`` with ``sum of members' uint8 maps > L  <=>  mean p > threshold``.

    Parameters
    ----------
    threshold : float in [0, 1]
    members : int
        How many uint8 maps (each ``round(p * 255)``) are summed.

    Returns
    -------
    level : int

    Examples
    --------
    >>> probability_level(0.5)       # p > 0.5  <=>  q >= 128
    127
    >>> probability_level(0.2, 5)    # mean of 5 maps > 0.2  <=>  sum > 255
    255
    """
    return int(math.floor(round(threshold * 255 * members, 6)))


def default_consensus_threshold(thresholds, luts=None):
    """The consensus threshold of members with these thresholds (and calibration tables).

    The mean of the members' thresholds; with calibration tables (``(m, 256)`` uint8, one
    row per member), each threshold is first carried through its table, to the middle of
    the levels on either side of it.
    """
    if luts is None:
        return float(np.mean(thresholds))
    levels = [probability_level(t) for t in thresholds]
    return float(np.mean([(int(lut[lv]) + int(lut[min(lv + 1, 255)])) / 510.0 for lut, lv in zip(luts, levels)]))


def check_threshold(value, where):
    """`value` as a float in [0, 1]; a `SaltviewerError` naming `where` otherwise."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise SaltviewerError(f"{where}: threshold must be a number in [0, 1], got {value!r}.") from None
    if not 0 <= value <= 1:
        raise SaltviewerError(f"{where}: threshold must be within [0, 1], got {value}.")
    return value
