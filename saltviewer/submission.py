"""Competition submission files: ``id,rle_mask`` CSV."""

import csv

import numpy as np

from ._atomic import atomic_open
from ._errors import DataError, SaltviewerError
from ._tables import read_rows
from .rle import TILE_SHAPE, rle_decode, rle_encode
from .tiles import check_id

__all__ = ["read_submission", "write_submission", "read_masks_csv"]


def read_submission(path):
    """Read an ``id,rle_mask`` CSV, checking every row.

    Returns
    -------
    rles : dict of str to str
        Id to run-length string, in file order.

    Raises
    ------
    DataError
        For a wrong header, a row with the wrong number of fields, an unsafe or duplicate
        id, or a run-length string that does not fit a 101x101 tile; the message names
        the file and line.
    """
    rles = {}
    lines = {}
    for line, (tile_id, rle) in read_rows(path, ("id", "rle_mask")):
        where = f"{path} line {line}"
        check_id(tile_id, where)
        if tile_id in rles:
            raise DataError(f"{where}: duplicate id {tile_id!r}, first on line {lines[tile_id]}.")
        rle_decode(rle, TILE_SHAPE, where=where)
        rles[tile_id] = rle
        lines[tile_id] = line
    return rles


def read_masks_csv(path):
    """Read an ``id,rle_mask`` CSV as masks: dict of id to (101, 101) bool."""
    return {tile_id: rle_decode(rle, TILE_SHAPE, where=f"{path} id {tile_id}")
            for tile_id, rle in read_submission(path).items()}


def write_submission(path, ids, masks):
    """Write an ``id,rle_mask`` CSV atomically.

    Parameters
    ----------
    path : str or Path
    ids : sequence of str
    masks : (N, 101, 101) array of bool, or sequence of masks or of run-length strings
    """
    ids = list(ids)
    if len(ids) != len(masks):
        raise SaltviewerError(f"write_submission: {len(ids)} ids but {len(masks)} masks.")
    if len(set(ids)) != len(ids):
        raise SaltviewerError("write_submission: ids must be unique.")
    with atomic_open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["id", "rle_mask"])
        for tile_id, mask in zip(ids, masks):
            check_id(tile_id, "write_submission")
            if isinstance(mask, str):
                rle = mask
                rle_decode(rle, TILE_SHAPE, where=f"write_submission id {tile_id}")
            else:
                mask = np.asarray(mask)
                if mask.shape != TILE_SHAPE:
                    raise SaltviewerError(f"write_submission: mask of {tile_id!r} has shape {mask.shape}; expected {TILE_SHAPE}.")
                rle = rle_encode(mask)
            writer.writerow([tile_id, rle])
