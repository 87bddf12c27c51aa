"""Read and write single tiles and masks, checking every rule of the competition layout."""

import io
import re
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ._atomic import atomic_path
from ._errors import DataError, SaltviewerError
from .rle import TILE_SHAPE

__all__ = ["read_image", "read_mask", "write_image", "write_mask", "check_id", "TILE_SHAPE"]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_ID = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$")


def check_id(tile_id, where="id"):
    """Return `tile_id` if it is safe to use in a file name, else raise `DataError`.

    Ids become file names (``<id>.png``), so an id may hold only letters, digits, ``_``,
    ``-`` and ``.``, may not start with ``.`` and may not contain ``..``: nothing that could
    escape the folder.
    """
    if not isinstance(tile_id, str) or not _ID.match(tile_id) or ".." in tile_id:
        raise DataError(
            f"{where}: id {tile_id!r} is not allowed; ids may hold only letters, digits, '_', '-' and '.', "
            "may not start with '.' or contain '..' (an id must not escape the folder).")
    return tile_id


def _load_png(path):
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise DataError(f"{path}: cannot be read ({error.strerror or error}).") from None
    if not data.startswith(_PNG_SIGNATURE):
        raise DataError(f"{path}: is not a PNG file (it lacks the PNG signature).")
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            mode = image.mode
            array = np.asarray(image)
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as error:
        raise DataError(f"{path}: is a damaged or truncated PNG ({error}).") from None
    if array.shape[:2] != TILE_SHAPE:
        h, w = array.shape[:2]
        raise DataError(f"{path}: is {w}x{h} pixels; tiles must be {TILE_SHAPE[1]}x{TILE_SHAPE[0]}.")
    return mode, array


def _one_channel(path, mode, array):
    if array.ndim == 2:
        return array
    channels = array[..., :3]
    if array.shape[-1] == 4 and np.any(array[..., 3] != 255):
        raise DataError(f"{path}: has transparent pixels; tiles must be opaque grayscale.")
    if array.shape[-1] == 2:  # LA
        if np.any(array[..., 1] != 255):
            raise DataError(f"{path}: has transparent pixels; tiles must be opaque grayscale.")
        return array[..., 0]
    if not (np.array_equal(channels[..., 0], channels[..., 1]) and np.array_equal(channels[..., 0], channels[..., 2])):
        raise DataError(f"{path}: is a colour image with unequal channels; tiles must be grayscale "
                        "(RGB files are accepted only when R, G and B are equal).")
    return channels[..., 0]


def read_image(path):
    """Read a seismic tile.

    Parameters
    ----------
    path : str or Path
        An 8-bit PNG, grayscale or RGB with three equal channels, 101x101 pixels.

    Returns
    -------
    image : (101, 101) ndarray of uint8

    Raises
    ------
    DataError
        Naming the file and the rule it breaks: not a PNG, truncated, wrong size,
        unequal colour channels, not 8-bit.
    """
    mode, array = _load_png(path)
    if mode == "P":
        with Image.open(path) as image:
            array = np.asarray(image.convert("RGBA"))
    elif mode == "1":
        array = array.astype(np.uint8) * 255
    if array.dtype != np.uint8:
        raise DataError(f"{path}: is a {array.dtype.itemsize * 8}-bit image; tiles must be 8-bit.")
    return np.ascontiguousarray(_one_channel(path, mode, array))


def read_mask(path):
    """Read a salt mask.

    Parameters
    ----------
    path : str or Path
        A 101x101 PNG whose values are 0 (sediment) and 1 or 255 (salt); 16-bit masks
        with values 0 and 65535 are accepted too.

    Returns
    -------
    mask : (101, 101) ndarray of bool
    """
    mode, array = _load_png(path)
    if mode == "P":
        with Image.open(path) as image:
            array = np.asarray(image.convert("L"))
    elif array.ndim == 3:
        array = _one_channel(path, mode, array)
    if array.dtype == bool:
        return np.ascontiguousarray(array)
    values = np.unique(array)
    allowed = (0, 65535) if array.dtype.itemsize > 1 else (0, 1, 255)
    bad = np.setdiff1d(values, allowed)
    if bad.size:
        shown = ", ".join(str(v) for v in bad[:5]) + (" ..." if bad.size > 5 else "")
        kind = "16-bit" if array.dtype.itemsize > 1 else "8-bit"
        raise DataError(f"{path}: mask has values {shown}; {kind} masks may hold only "
                        f"{' and '.join(map(str, allowed))}.")
    return array != 0


def write_image(path, image):
    """Write a (101, 101) uint8 tile as a grayscale PNG, atomically."""
    image = np.asarray(image)
    if image.shape != TILE_SHAPE or image.dtype != np.uint8:
        raise SaltviewerError(f"write_image: expected a {TILE_SHAPE} uint8 array, got {image.shape} {image.dtype}.")
    with atomic_path(path, suffix=".png") as tmp:
        Image.fromarray(image).save(tmp, format="PNG")


def write_mask(path, mask):
    """Write a (101, 101) boolean mask as a PNG with values 0 and 255, atomically."""
    mask = np.asarray(mask)
    if mask.shape != TILE_SHAPE:
        raise SaltviewerError(f"write_mask: expected a {TILE_SHAPE} mask, got shape {mask.shape}.")
    with atomic_path(path, suffix=".png") as tmp:
        Image.fromarray(np.where(mask != 0, 255, 0).astype(np.uint8)).save(tmp, format="PNG")
