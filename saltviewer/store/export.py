"""Curated masks written out in the competition layout."""

import json
from pathlib import Path

import numpy as np

from .._errors import SaltviewerError
from .base import now

__all__ = ["export_labels"]

def export_labels(store, dataset, out, kinds=("pseudo",), images=True):
    """Write the masks in force of accepted and corrected items in the competition layout.

    Writes ``OUT/train/masks/<id>.png`` (0 and 255), ``OUT/train/images/<id>.png`` (when
    `images`), ``OUT/train.csv`` (``id,rle_mask``), ``OUT/depths.csv`` (known depths) and
    ``OUT/export.json`` (store, revision, dataset, counts, time). The folder is built beside
    `out` and renamed into place, so a crash never leaves half an export; a previous export
    (a folder with ``export.json``) is replaced, any other non-empty folder is refused.

    Parameters
    ----------
    store : CurationStore
    dataset : Dataset
    out : str or Path
    kinds : sequence of {"pseudo", "label"}
    images : bool

    Returns
    -------
    summary : dict
        ``masks``, ``empty``, ``revision``, ``out``.
    """
    import csv
    import os
    import shutil
    import tempfile

    from .._atomic import _fsync_dir
    from ..rle import rle_encode
    from ..tiles import write_image, write_mask

    out = Path(out)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / "export.json").is_file())):
        raise SaltviewerError(f"{out}: exists and is not an earlier export; choose a new or empty folder.")
    revision = store.revision()
    labels = {}
    for kind in kinds:
        labels.update(store.pseudo_labels(dataset, kinds=(kind,)))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        (tmp / "train" / "masks").mkdir(parents=True)
        if images:
            (tmp / "train" / "images").mkdir(parents=True)
        rows, depths = [], []
        for tile, mask in labels.items():
            write_mask(tmp / "train" / "masks" / f"{tile}.png", mask)
            if images:
                write_image(tmp / "train" / "images" / f"{tile}.png", dataset.image(tile))
            rows.append((tile, rle_encode(mask)))
            depth = dataset.depths[dataset.index(tile)]
            if np.isfinite(depth):
                depths.append((tile, f"{depth:g}"))
        for name, header, table in (("train.csv", ("id", "rle_mask"), rows), ("depths.csv", ("id", "z"), depths)):
            with open(tmp / name, "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(header)
                writer.writerows(table)
        summary = {"masks": len(rows), "empty": sum(1 for _, rle in rows if not rle), "revision": revision,
                   "kinds": list(kinds), "store": str(store.path), "dataset": str(dataset.root),
                   "dataset_key": dataset.key, "images": bool(images), "exported": now()}
        (tmp / "export.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        if out.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{out.name}-old-", dir=out.parent))
            os.replace(out, trash / "old")
            os.replace(tmp, out)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(tmp, out)
        _fsync_dir(out.parent)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    summary["out"] = str(out)
    return summary
