"""Run-length encoding in the TGS competition's format.

Pixels are numbered column-major (top to bottom, then left to right), starting at 1.
A mask is written as space-separated ``start length`` pairs; a mask without salt is the
empty string.
"""

import re

import numpy as np

from ._errors import DataError, SaltviewerError

__all__ = ["rle_encode", "rle_decode", "parse_runs", "TILE_SHAPE"]

TILE_SHAPE = (101, 101)

_INTEGERS = re.compile(r"^\s*(\d+(\s+\d+)*)?\s*$")


def rle_encode(mask):
    """Encode a mask as the competition's run-length string.

    Parameters
    ----------
    mask : (H, W) ndarray of bool or of 0/1 integers
        Salt pixels are true (non-zero).

    Returns
    -------
    rle : str
        ``"start length start length ..."`` with 1-based, column-major starts;
        ``""`` for an empty mask.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.zeros((3, 3), bool); m[1:, 0] = True; m[0, 2] = True
    >>> rle_encode(m)
    '2 2 7 1'
    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise SaltviewerError(f"rle_encode: mask must be 2-D, got shape {mask.shape}.")
    pixels = mask.ravel(order="F").astype(bool)
    padded = np.concatenate([[False], pixels, [False]])
    changes = np.flatnonzero(padded[1:] != padded[:-1]) + 1
    starts = changes[0::2]
    lengths = changes[1::2] - starts
    return " ".join(f"{s} {n}" for s, n in zip(starts.tolist(), lengths.tolist()))


def rle_decode(rle, shape=TILE_SHAPE, *, where="run-length mask"):
    """Decode a competition run-length string into a mask.

    Parameters
    ----------
    rle : str
        Space-separated ``start length`` pairs (1-based, column-major); empty or
        whitespace for no salt. Runs must be in increasing order and must not overlap.
    shape : tuple of int
        ``(H, W)`` of the mask.
    where : str
        Words naming the source, used in error messages (e.g. ``"train.csv line 7"``).

    Returns
    -------
    mask : (H, W) ndarray of bool

    Raises
    ------
    SaltviewerError
        If the string is not pairs of positive integers that fit the shape in order.

    Examples
    --------
    >>> rle_decode("2 2 7 1", (3, 3)).astype(int)
    array([[0, 0, 1],
           [1, 0, 0],
           [1, 0, 0]])
    """
    starts, lengths = parse_runs(rle, shape, where=where)
    size = int(shape[0]) * int(shape[1])
    flat = np.zeros(size + 1, dtype=np.int8)
    flat[starts] += 1              # starts are distinct, and so are ends: no need for np.add.at
    flat[starts + lengths] -= 1
    pixels = np.cumsum(flat[:size]).astype(bool)
    return pixels.reshape(shape[1], shape[0]).T.copy()


def parse_runs(rle, shape=TILE_SHAPE, *, where="run-length mask"):
    """Check a run-length string and return its runs without building the mask.

    Returns
    -------
    starts, lengths : (R,) ndarray of int64
        0-based starts (column-major) and lengths.

    Raises
    ------
    DataError
        As `rle_decode`.
    """
    if rle is None:
        rle = ""
    if not isinstance(rle, str):
        raise DataError(f"{where}: expected a string of 'start length' pairs, got {type(rle).__name__}.")
    if not _INTEGERS.match(rle):
        shown = rle if len(rle) < 40 else rle[:37] + "..."
        raise DataError(f"{where}: run-length mask must be space-separated non-negative integers, got {shown!r}.")
    numbers = np.array(rle.split(), dtype=np.int64)
    size = int(shape[0]) * int(shape[1])
    if numbers.size % 2:
        raise DataError(f"{where}: run-length mask needs start/length pairs, got an odd count of {numbers.size} numbers.")
    starts, lengths = numbers[0::2] - 1, numbers[1::2]
    if numbers.size:
        if starts.min() < 0:
            raise DataError(f"{where}: run starts are 1-based; found a start of 0.")
        if lengths.min() < 1:
            raise DataError(f"{where}: run lengths must be at least 1; found {int(lengths.min())}.")
        ends = starts + lengths
        if ends.max() > size:
            raise DataError(
                f"{where}: a run ends at pixel {int(ends.max())}, past the {shape[0]}x{shape[1]} mask ({size} pixels).")
        if np.any(starts[1:] < ends[:-1]):
            raise DataError(f"{where}: runs must be in increasing order without overlap.")
    return starts, lengths
