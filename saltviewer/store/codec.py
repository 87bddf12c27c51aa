"""Masks as compact bytes for the curation store: packed bits, deflated."""

import zlib

import numpy as np

from .._errors import SaltviewerError
from ..rle import TILE_SHAPE

__all__ = ["check_mask", "encode_mask", "decode_mask"]

_MASK_CODEC = 1


def check_mask(mask, where="mask"):
    """Return `mask` as a (101, 101) bool array, or raise `SaltviewerError`.

    Accepted: bool arrays, and integer arrays holding only 0 and 1 (as a napari labels
    layer gives). Float arrays and other values are refused: a probability map is not a
    mask.

    Parameters
    ----------
    mask : (101, 101) ndarray of bool or of integers 0/1
    where : str
        Named in the error message.

    Returns
    -------
    mask : (101, 101) ndarray of bool
    """
    if mask is None:
        raise SaltviewerError(f"{where}: expected a (101, 101) mask, got None.")
    mask = np.asarray(mask)
    if mask.shape != TILE_SHAPE:
        raise SaltviewerError(f"{where}: masks must be 101x101, got shape {mask.shape}.")
    if mask.dtype == bool:
        return np.ascontiguousarray(mask)
    if not np.issubdtype(mask.dtype, np.integer):
        raise SaltviewerError(f"{where}: masks must be bool (or integers 0/1), got dtype {mask.dtype}; "
                              "threshold a probability map first.")
    values = np.unique(mask)
    if not np.isin(values, (0, 1)).all():
        shown = ", ".join(str(v) for v in values[~np.isin(values, (0, 1))][:5])
        raise SaltviewerError(f"{where}: integer masks may hold only 0 and 1, found {shown}.")
    return mask.astype(bool)


def encode_mask(mask, where="mask"):
    """A (101, 101) mask as compact bytes (packed bits, deflated): 20 to 1,300 bytes.

    >>> len(encode_mask(np.zeros((101, 101), bool))) < 40
    True
    """
    mask = check_mask(mask, where)
    return bytes([_MASK_CODEC]) + zlib.compress(np.packbits(mask.reshape(-1)).tobytes(), 6)


def decode_mask(blob):
    """The (101, 101) bool mask of bytes from `encode_mask`; None stays None."""
    if blob is None:
        return None
    blob = bytes(blob)
    if not blob or blob[0] != _MASK_CODEC:
        raise SaltviewerError(f"curation store: a stored mask has an unknown encoding ({blob[:1]!r}).")
    bits = np.frombuffer(zlib.decompress(blob[1:]), np.uint8)
    return np.unpackbits(bits, count=TILE_SHAPE[0] * TILE_SHAPE[1]).astype(bool).reshape(TILE_SHAPE)
