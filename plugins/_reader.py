"""Open a folder in the competition layout, or one tile, as napari layers.

A folder dropped on napari (or opened with File > Open Folder) that holds ``train/images``
or ``test/images`` opens as a stack of tiles (one per slider step, train tiles first) and,
when it has masks, a stack of salt masks. Nothing is decoded up front: showing tile ``i``
reads that one PNG (or a slice of the packed cache when the dataset uses one), so 21,200
tiles open as fast as 80.

A PNG tile named as in the competition (ten hex digits, ``0a1b2c3d4e.png``; the manifest's
filename pattern) opens as that tile, with its mask when the data folder it sits in has one.
Anything else is left to other readers: `get_reader` returns None for it.
"""

from pathlib import Path

import numpy as np

from .common.style import SALT, label_colours

__all__ = ["get_reader", "read_folder", "read_tile", "TileStack", "is_competition_folder", "is_png_tile"]

IDS_KEY = "saltviewer_ids"


def is_competition_folder(path):
    """Whether `path` is a folder with ``train/images`` or ``test/images``."""
    path = Path(path)
    return path.is_dir() and ((path / "train" / "images").is_dir() or (path / "test" / "images").is_dir())


def is_png_tile(path):
    """Whether `path` is a PNG file of 101x101 pixels (only its header is read)."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if path.suffix.lower() != ".png" or not path.is_file():
        return False
    try:
        with Image.open(path) as image:
            return image.format == "PNG" and image.size == (101, 101)
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError):
        return False


def get_reader(path):
    """napari reader hook: a reader for a competition-layout folder or a PNG tile, else None."""
    if isinstance(path, (list, tuple)):
        if len(path) != 1:
            return None
        path = path[0]
    if is_competition_folder(path):
        return read_folder
    if is_png_tile(path):
        return read_tile
    return None


def _mask_beside(path):
    """The mask of the tile at ``ROOT/<split>/images/<id>.png`` from ``masks/<id>.png`` or ROOT/train.csv."""
    from saltviewer import read_mask, read_submission, rle_decode

    if path.parent.name != "images":
        return None
    mask_path = path.parent.parent / "masks" / path.name
    if mask_path.is_file():
        return read_mask(mask_path)
    table = path.parent.parent.parent / "train.csv"
    if path.parent.parent.name == "train" and table.is_file():
        rle = read_submission(table).get(path.stem)
        if rle is not None:
            return rle_decode(rle)
    return None


def read_tile(path):
    """Layers for one PNG tile: the tile (a mask PNG from a ``masks`` folder opens as labels)
    and, when its data folder holds it, the tile's mask.

    Returns
    -------
    layers : list of (data, kwargs, layer_type)
        ``(101, 101)`` uint8 data; ``metadata["saltviewer_ids"]`` is the tile id (the
        file name), so the mask writers know which tile they save.
    """
    from saltviewer import read_image, read_mask

    if isinstance(path, (list, tuple)):
        path = path[0]
    path = Path(path)
    metadata = {IDS_KEY: (path.stem,)}
    mask_kwargs = {"name": f"{path.stem}: mask", "opacity": 0.45, "colormap": label_colours(SALT),
                   "metadata": metadata}
    if path.parent.name == "masks":
        return [(read_mask(path).astype(np.uint8), mask_kwargs, "labels")]
    layers = [(read_image(path), {"name": path.stem, "contrast_limits": (0, 255), "colormap": "gray",
                                  "metadata": dict(metadata)}, "image")]
    mask = _mask_beside(path)
    if mask is not None:
        layers.append((mask.astype(np.uint8), mask_kwargs, "labels"))
    return layers


class TileStack:
    """An array-like ``(N, 101, 101)`` view of a dataset's tiles or masks, read on demand.

    Parameters
    ----------
    dataset : saltviewer.Dataset
    kind : {"image", "mask"}
        Tiles as uint8, or masks as uint8 0/1 (all zero where a tile has no mask).

    Indexing with an integer reads one tile; any other index on the first axis reads
    the tiles it selects. ``np.asarray(stack)`` reads every tile (only writers need it).
    """

    def __init__(self, dataset, kind="image"):
        if kind not in ("image", "mask"):
            from saltviewer import SaltviewerError

            raise SaltviewerError(f"TileStack: kind must be 'image' or 'mask', got {kind!r}.")
        self.dataset = dataset
        self.kind = kind
        self.shape = (len(dataset), 101, 101)
        self.dtype = np.dtype(np.uint8)
        self.ndim = 3

    @property
    def size(self):
        return int(np.prod(self.shape))

    def __len__(self):
        return self.shape[0]

    def __repr__(self):
        return f"<TileStack of {self.kind}s: {self.shape[0]} x 101 x 101 uint8, read on demand>"

    def _one(self, i):
        if self.kind == "image":
            return self.dataset.image(i)
        mask = self.dataset.mask(i)
        if mask is None:
            return np.zeros((101, 101), np.uint8)
        return mask.astype(np.uint8)

    def __getitem__(self, key):
        if not isinstance(key, tuple):
            key = (key,)
        if any(k is Ellipsis for k in key):
            at = next(n for n, k in enumerate(key) if k is Ellipsis)
            fill = (slice(None),) * (self.ndim - (len(key) - 1))
            key = key[:at] + fill + key[at + 1:]
        first, rest = key[0], key[1:]
        if isinstance(first, (int, np.integer)):
            return self._one(int(first))[rest]
        indices = np.arange(self.shape[0])[first]
        out = np.empty((len(indices), 101, 101), np.uint8)
        for k, i in enumerate(indices):
            out[k] = self._one(int(i))
        return out[(slice(None),) + rest]

    def __iter__(self):
        for i in range(self.shape[0]):
            yield self._one(i)

    def __array__(self, dtype=None, copy=None):
        out = self[:]
        return out if dtype is None else out.astype(dtype)


def read_folder(path):
    """Layers for a competition-layout folder: the tiles and, where known, their masks.

    Returns
    -------
    layers : list of (data, kwargs, layer_type)
    """
    from saltviewer import open_dataset

    if isinstance(path, (list, tuple)):
        path = path[0]
    dataset = open_dataset(path)
    name = Path(dataset.root).name or str(dataset.root)
    n_train = int(np.sum(dataset.split == "train"))
    metadata = {IDS_KEY: dataset.ids, "saltviewer_root": str(dataset.root),
                "saltviewer_split": tuple(dataset.split.tolist())}
    layers = [(TileStack(dataset, "image"),
               {"name": f"{name}: tiles ({n_train} train, {len(dataset) - n_train} test)",
                "contrast_limits": (0, 255), "colormap": "gray", "metadata": metadata},
               "image")]
    if dataset.has_mask.any():
        layers.append((TileStack(dataset, "mask"),
                       {"name": f"{name}: masks", "opacity": 0.45, "colormap": label_colours(SALT),
                        "metadata": dict(metadata)},
                       "labels"))
    return layers
