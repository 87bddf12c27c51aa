"""Write curated salt masks from a napari Labels layer.

A Labels layer made by saltviewer (the reader's mask stack, the review widget's editable
pseudo-label) carries its tile ids in ``metadata["saltviewer_ids"]``; any other layer of
one tile is named by its layer name, which must then be a valid tile id.

- ``.csv``: one ``id,rle_mask`` row per tile, the competition's run-length format.
- ``.png``: one tile's mask, 0 and 255.

Any non-zero label counts as salt.
"""

from pathlib import Path

import numpy as np

from ._reader import IDS_KEY

__all__ = ["write_masks", "write_mask_png", "layer_masks"]


def layer_masks(data, meta):
    """Tile ids and boolean masks of a Labels layer's data.

    Parameters
    ----------
    data : (101, 101) or (N, 101, 101) array-like of int
    meta : dict
        The layer's attributes as napari passes them to writers (``name``, ``metadata``).

    Returns
    -------
    ids : list of str
    masks : sequence of (101, 101) ndarray of bool
        Read one at a time from lazy stacks.
    """
    from saltviewer import SaltviewerError
    from saltviewer.tiles import check_id

    name = meta.get("name", "labels")
    shape = tuple(getattr(data, "shape", np.shape(data)))
    if shape[-2:] != (101, 101) or len(shape) not in (2, 3):
        raise SaltviewerError(f"layer {name!r}: holds data of shape {shape}; saltviewer writes "
                              "masks of 101x101 tiles, one tile (101, 101) or a stack (N, 101, 101).")
    ids = (meta.get("metadata") or {}).get(IDS_KEY)
    n = 1 if len(shape) == 2 else shape[0]
    if ids is None:
        if n != 1:
            raise SaltviewerError(f"layer {name!r}: a stack of {n} masks needs its tile ids in "
                                  f"metadata[{IDS_KEY!r}]; open the data with saltviewer's reader.")
        ids = [check_id(str(name), f"layer {name!r} (its name is used as the tile id)")]
    ids = [str(i) for i in ids]
    if len(ids) != n:
        raise SaltviewerError(f"layer {name!r}: has {n} masks but {len(ids)} tile ids in metadata[{IDS_KEY!r}].")
    if len(shape) == 2:
        return ids, [np.asarray(data) != 0]

    class _Masks:
        def __len__(self):
            return n

        def __iter__(self):
            for i in range(n):
                yield np.asarray(data[i]) != 0

    return ids, _Masks()


def write_masks(path, data, meta):
    """npe2 writer: a Labels layer's masks as an ``id,rle_mask`` CSV; returns ``[path]``."""
    from saltviewer import write_submission

    ids, masks = layer_masks(data, meta)
    write_submission(path, ids, masks)
    return [str(path)]


def write_mask_png(path, data, meta):
    """npe2 writer: one tile's mask as a PNG of 0 and 255; returns ``[path]``."""
    from saltviewer import SaltviewerError, write_mask

    ids, masks = layer_masks(data, meta)
    if len(ids) != 1:
        raise SaltviewerError(f"{path}: a PNG holds one mask, but layer {meta.get('name')!r} has {len(ids)}; "
                              "save it as .csv instead.")
    write_mask(Path(path), next(iter(masks)))
    return [str(path)]
