"""Pack a dataset's tiles into memory-mapped arrays so that showing tile i is a slice."""

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .rle import TILE_SHAPE
from .tiles import read_image
from .workspace import as_workspace

__all__ = ["pack_tiles", "PackedTiles"]


class PackedTiles:
    """Memory-mapped tiles of a dataset.

    Attributes
    ----------
    images : (N, 101, 101) memmap of uint8
    masks : (N, 101, 101) memmap of uint8
        0/1; all zero where the tile has no mask (see ``Dataset.has_mask``).
    path : Path
    """

    def __init__(self, path):
        self.path = Path(path)
        self.images = np.load(self.path / "images.npy", mmap_mode="r")
        self.masks = np.load(self.path / "masks.npy", mmap_mode="r")


def pack_tiles(dataset, workspace, progress=None):
    """Pack (once) and open the memory-mapped tiles of `dataset` in `workspace`.

    The pack lives in ``cache/<dataset key>/`` and records the dataset's fingerprint; when
    the folder changes (a file added, removed or rewritten) the pack is rebuilt. The new
    pack is written in a temporary folder and swapped in whole.

    Parameters
    ----------
    dataset : Dataset
    workspace : Workspace or path
    progress : callable, optional
        Called as ``progress(done, total)`` while packing.

    Returns
    -------
    packed : PackedTiles
    """
    workspace = as_workspace(workspace)
    final = workspace.cache_dir / dataset.key
    meta_path = final / "pack.json"
    if meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError):
            meta = {}
        if meta.get("fingerprint") == dataset.fingerprint and meta.get("count") == len(dataset):
            return PackedTiles(final)
    workspace.cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dataset.key}-", dir=workspace.cache_dir))
    try:
        n = len(dataset)
        images = np.lib.format.open_memmap(tmp / "images.npy", "w+", np.uint8, (n,) + TILE_SHAPE)
        masks = np.lib.format.open_memmap(tmp / "masks.npy", "w+", np.uint8, (n,) + TILE_SHAPE)
        for i in range(n):
            images[i] = read_image(dataset.image_path(i))
            if dataset.has_mask[i]:
                masks[i] = dataset._read_mask(i)
            if progress is not None and (i % 500 == 0 or i == n - 1):
                progress(i + 1, n)
        images.flush()
        masks.flush()
        del images, masks
        (tmp / "pack.json").write_text(json.dumps(
            {"fingerprint": dataset.fingerprint, "count": n, "root": str(dataset.root)}))
        if final.exists():
            trash = Path(tempfile.mkdtemp(prefix=".old-", dir=workspace.cache_dir))
            os.replace(final, trash / "pack")
            shutil.rmtree(trash, ignore_errors=True)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return PackedTiles(final)
