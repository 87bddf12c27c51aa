"""Open a folder in the TGS competition layout as a dataset of tiles, masks and depths."""

import hashlib
import math
import os
from pathlib import Path

import numpy as np

from ._errors import DataError, SaltviewerError
from ._tables import read_rows
from .rle import TILE_SHAPE, parse_runs, rle_decode
from .tiles import check_id, read_image, read_mask

__all__ = ["Dataset", "open_dataset", "scan_folder"]


class _Layout:
    """What a folder holds, found without decoding any image."""

    def __init__(self, root):
        self.root = root
        self.image_files = {}     # id -> Path
        self.split = {}           # id -> "train" | "test"
        self.mask_files = {}      # id -> Path
        self.rle = {}             # id -> (rle string, "train.csv line N")
        self.depths = {}          # id -> float
        self.files = []           # every file the dataset depends on (for the fingerprint)
        self.problems = []


def _png_files(folder):
    with os.scandir(folder) as entries:
        return sorted((e for e in entries if e.is_file() and e.name.lower().endswith(".png")),
                      key=lambda e: e.name)


def scan_folder(root):
    """Find tiles, masks, run-length masks and depths in a folder, collecting problems.

    Parameters
    ----------
    root : str or Path
        A folder with any of ``train/images``, ``train/masks``, ``train.csv``,
        ``test/images``, ``depths.csv``; or a folder of PNG tiles alone (an unlabelled pool).

    Returns
    -------
    layout : _Layout
        With ``problems``, a list of one-line messages, each naming a file and a rule.
    """
    root = Path(root)
    if not root.exists():
        raise DataError(f"{root}: no such folder.")
    if not root.is_dir():
        raise DataError(f"{root}: is a file; expected a folder in the competition layout "
                        "(train/images, train/masks or train.csv, test/images, depths.csv).")
    layout = _Layout(root)
    folders = [("train", root / "train" / "images"), ("test", root / "test" / "images")]
    found_any = False
    for split, folder in folders:
        if folder.is_dir():
            found_any = True
            _add_images(layout, split, folder)
    if not found_any:
        loose = _png_files(root)
        if loose:
            found_any = True
            _add_images(layout, "test", root)
    mask_folder = root / "train" / "masks"
    if mask_folder.is_dir():
        for entry in _png_files(mask_folder):
            path = entry.path
            tile_id = entry.name[:-4]
            layout.files.append(entry)
            if not _valid_id(layout, tile_id, path):
                continue
            if layout.split.get(tile_id) != "train":
                layout.problems.append(f"{path}: mask has no image (expected train/images/{tile_id}.png).")
                continue
            layout.mask_files[tile_id] = path
    train_csv = root / "train.csv"
    if train_csv.is_file():
        layout.files.append(os.stat(train_csv))
        _read_train_csv(layout, train_csv)
    depths_csv = root / "depths.csv"
    if depths_csv.is_file():
        layout.files.append(os.stat(depths_csv))
        _read_depths_csv(layout, depths_csv)
    if not found_any:
        raise DataError(f"{root}: holds no tiles; expected train/images/*.png, test/images/*.png "
                        "or PNG tiles in the folder itself.")
    return layout


def _valid_id(layout, tile_id, where):
    try:
        check_id(tile_id, str(where))
    except DataError as error:
        layout.problems.append(str(error))
        return False
    return True


def _add_images(layout, split, folder):
    seen_lower = {}
    for entry in _png_files(folder):
        path = entry.path
        tile_id = entry.name[:-4]
        layout.files.append(entry)
        if not _valid_id(layout, tile_id, path):
            continue
        if tile_id in layout.image_files:
            other = layout.image_files[tile_id]
            layout.problems.append(f"{path}: duplicate id {tile_id!r}, also {other}; ids must be unique.")
            continue
        lower = tile_id.lower()
        if lower in seen_lower:
            layout.problems.append(f"{path}: duplicate id {tile_id!r} (differs only in case from "
                                   f"{seen_lower[lower]!r}); ids must be unique.")
            continue
        seen_lower[lower] = tile_id
        layout.image_files[tile_id] = path
        layout.split[tile_id] = split


def _read_train_csv(layout, path):
    for line, (tile_id, rle) in read_rows(path, ("id", "rle_mask"), layout.problems):
        where = f"{path} line {line}"
        if not _valid_id(layout, tile_id, where):
            continue
        if tile_id in layout.rle:
            layout.problems.append(f"{where}: duplicate id {tile_id!r}, first on {layout.rle[tile_id][1]}.")
            continue
        try:
            parse_runs(rle, TILE_SHAPE, where=where)
        except SaltviewerError as error:
            layout.problems.append(str(error))
            continue
        if layout.split.get(tile_id) != "train":
            layout.problems.append(f"{where}: mask has no image (expected train/images/{tile_id}.png).")
            continue
        layout.rle[tile_id] = (rle, where)


def _read_depths_csv(layout, path):
    first = {}
    for line, (tile_id, z) in read_rows(path, ("id", "z"), layout.problems):
        where = f"{path} line {line}"
        if not _valid_id(layout, tile_id, where):
            continue
        try:
            depth = float(z)
        except ValueError:
            depth = math.nan
        if not math.isfinite(depth):
            layout.problems.append(f"{where}: depth z must be a finite number, got {z!r}.")
            continue
        if tile_id in first:
            layout.problems.append(f"{where}: duplicate id {tile_id!r}, first on line {first[tile_id]}.")
            continue
        first[tile_id] = line
        layout.depths[tile_id] = depth


def _fingerprint(layout):
    digest = hashlib.sha1()
    for entry in layout.files:
        if isinstance(entry, os.DirEntry):
            stat = entry.stat()
            name = entry.path
        else:
            stat, name = entry, ""
        digest.update(f"{name}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


class Dataset:
    """Tiles, masks and depths of one folder, in a fixed order: train ids, then test ids.

    Open one with `open_dataset`. Tiles load lazily from their PNG files, or from a
    memory-mapped pack once `use_cache` has been called.

    Attributes
    ----------
    root : Path
    ids : tuple of str
    split : (N,) ndarray of str
        ``"train"`` or ``"test"``.
    depths : (N,) ndarray of float
        Depth in feet from ``depths.csv``; NaN where unknown.
    has_mask : (N,) ndarray of bool
        Whether a ground-truth mask is known (mask PNG or ``train.csv`` row).
    key : str
        A short hash of the ids in order; predictions stored for this dataset carry it.
    fingerprint : str
        A hash of the names, sizes and times of every file read; it changes when the
        folder does.
    """

    def __init__(self, layout):
        self.root = layout.root
        order = sorted(layout.image_files, key=lambda i: (layout.split[i] != "train", i))
        self.ids = tuple(order)
        self._index = {tile_id: i for i, tile_id in enumerate(self.ids)}
        self.split = np.array([layout.split[i] for i in order])
        self.depths = np.array([layout.depths.get(i, np.nan) for i in order], dtype=float)
        self._image_files = [layout.image_files[i] for i in order]
        self._mask_files = layout.mask_files
        self._rle = {i: rle for i, (rle, _) in layout.rle.items()}
        self.has_mask = np.array([i in self._mask_files or i in self._rle for i in order], dtype=bool)
        self.key = hashlib.sha1("\n".join(self.ids).encode()).hexdigest()[:16]
        self.fingerprint = _fingerprint(layout)
        self._packed = None

    def __len__(self):
        return len(self.ids)

    def __repr__(self):
        n_train = int(np.sum(self.split == "train"))
        return (f"<Dataset {str(self.root)!r}: {len(self)} tiles ({n_train} train, {len(self) - n_train} test), "
                f"{int(self.has_mask.sum())} masks>")

    def index(self, tile):
        """Position of a tile given its id (or its position, returned as is)."""
        if isinstance(tile, (int, np.integer)):
            if not -len(self) <= tile < len(self):
                raise IndexError(f"tile index {tile} is out of range for {len(self)} tiles.")
            return int(tile) % len(self)
        try:
            return self._index[tile]
        except KeyError:
            raise DataError(f"id {tile!r} is not in the dataset {self.root}.") from None

    def indices(self, split=None):
        """Positions of the tiles of a split (``"train"``, ``"test"``) or of all tiles."""
        if split is None or split == "all":
            return np.arange(len(self))
        if split not in ("train", "test"):
            raise DataError(f"split must be 'train', 'test' or 'all', got {split!r}.")
        return np.flatnonzero(self.split == split)

    def image_path(self, tile):
        """Path of the tile's PNG file."""
        return Path(self._image_files[self.index(tile)])

    def image(self, tile):
        """The tile as a (101, 101) uint8 array."""
        i = self.index(tile)
        if self._packed is not None:
            return np.asarray(self._packed.images[i])
        return read_image(self._image_files[i])

    def mask(self, tile):
        """The ground-truth mask as (101, 101) bool, or None where the tile has none."""
        i = self.index(tile)
        if not self.has_mask[i]:
            return None
        if self._packed is not None:
            return np.asarray(self._packed.masks[i]).astype(bool)
        return self._read_mask(i)

    def _read_mask(self, i):
        tile_id = self.ids[i]
        if tile_id in self._mask_files:
            return read_mask(self._mask_files[tile_id])
        return rle_decode(self._rle[tile_id], TILE_SHAPE, where=f"{self.root / 'train.csv'} id {tile_id}")

    def images(self, indices=None):
        """Stack of tiles, (n, 101, 101) uint8, for the given positions (default all)."""
        indices = np.arange(len(self)) if indices is None else np.asarray(indices, dtype=int)
        if self._packed is not None:
            return np.asarray(self._packed.images[indices])
        out = np.empty((len(indices),) + TILE_SHAPE, np.uint8)
        for k, i in enumerate(indices):
            out[k] = read_image(self._image_files[i])
        return out

    def masks(self, indices=None):
        """Stack of ground-truth masks, (n, 101, 101) bool; tiles without a mask raise."""
        indices = np.arange(len(self)) if indices is None else np.asarray(indices, dtype=int)
        missing = [self.ids[i] for i in indices if not self.has_mask[i]]
        if missing:
            raise DataError(f"{len(missing)} of the requested tiles have no mask (first: {missing[0]!r}).")
        if self._packed is not None:
            return np.asarray(self._packed.masks[indices]).astype(bool)
        out = np.empty((len(indices),) + TILE_SHAPE, bool)
        for k, i in enumerate(indices):
            out[k] = self._read_mask(i)
        return out

    def use_cache(self, workspace):
        """Pack every tile into a memory-mapped array in the workspace and read from it.

        The pack is built once and rebuilt when the folder changes (see
        `saltviewer.cache.pack_tiles`). Returns the dataset itself.
        """
        from .cache import pack_tiles

        self._packed = pack_tiles(self, workspace)
        return self


def open_dataset(root):
    """Open a folder in the competition layout.

    Parameters
    ----------
    root : str or Path
        A folder with any of ``train/images/*.png``, ``train/masks/*.png``,
        ``train.csv``, ``test/images/*.png``, ``depths.csv``, or a folder of PNG tiles.

    Returns
    -------
    dataset : Dataset

    Raises
    ------
    DataError
        If the folder breaks a rule that can be seen without decoding tiles (unsafe or
        duplicate ids, masks with no image, malformed CSV rows). `check_dataset` lists
        every problem, decoding each file too.
    """
    layout = scan_folder(root)
    if layout.problems:
        more = len(layout.problems) - 1
        extra = f" (and {more} more problem{'s' if more > 1 else ''}; run `saltviewer check {root}`)" if more else ""
        raise DataError(layout.problems[0] + extra)
    return Dataset(layout)
