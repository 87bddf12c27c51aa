"""Find every problem in a data folder."""

import numpy as np

from ._errors import DataError
from .dataset import Dataset, scan_folder
from .rle import TILE_SHAPE, rle_decode
from .tiles import read_image, read_mask

__all__ = ["check_dataset"]


def check_dataset(root, progress=None):
    """List every problem in a folder in the competition layout.

    Decodes every tile and mask, besides the checks `open_dataset` makes (ids, CSV rows,
    masks without images). Where a tile has both a mask PNG and a ``train.csv`` row, the
    two must agree.

    Parameters
    ----------
    root : str or Path
    progress : callable, optional
        ``progress(done, total)``.

    Returns
    -------
    problems : list of str
        One line per problem, each naming the file (and line) and the rule; empty when
        the folder is sound.
    """
    layout = scan_folder(root)
    problems = list(layout.problems)
    dataset = Dataset(layout)
    total = len(dataset)
    for i, tile_id in enumerate(dataset.ids):
        try:
            read_image(dataset.image_path(i))
        except DataError as error:
            problems.append(str(error))
        mask_png = None
        if tile_id in layout.mask_files:
            try:
                mask_png = read_mask(layout.mask_files[tile_id])
            except DataError as error:
                problems.append(str(error))
        if mask_png is not None and tile_id in layout.rle:
            rle, where = layout.rle[tile_id]
            if not np.array_equal(rle_decode(rle, TILE_SHAPE, where=where), mask_png):
                problems.append(f"{where}: run-length mask of {tile_id!r} differs from {layout.mask_files[tile_id]}.")
        if progress is not None and (i % 500 == 0 or i == total - 1):
            progress(i + 1, total)
    return problems
