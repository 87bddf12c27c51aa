"""Mosaic files: ``pairs.csv`` and ``mosaics.json``, written atomically, read back with checks.

``pairs.csv``
    ``kind,a,b``: one row per pair of tile ids that are grid neighbours in a mosaic;
    ``right`` when `b` lies directly right of `a`, ``below`` when it lies directly below.
``mosaics.json``
    The mosaics, each with its tiles and their row and col, the counts, the search and
    assembly parameters and the conflicts.
"""

import csv
import json
from pathlib import Path

from .._atomic import atomic_open
from .._errors import DataError, SaltviewerError
from .compatibility import KINDS
from .grid import Mosaic, Mosaics, bound

__all__ = ["write_mosaics", "read_mosaics", "load_mosaics", "mosaics_folder", "read_pairs", "FORMAT",
           "FORMAT_VERSION"]

FORMAT = "saltviewer.mosaics"
FORMAT_VERSION = 1


def mosaics_folder(workspace, dataset):
    """Where a workspace keeps the mosaics of a dataset: ``WS/mosaics/<dataset key>``."""
    from ..workspace import as_workspace

    return as_workspace(workspace).mosaics_dir / dataset.key


def write_mosaics(mosaics, out_dir, labelled=None):
    """Write ``pairs.csv`` and ``mosaics.json`` into a folder, each atomically.

    Parameters
    ----------
    mosaics : Mosaics
    out_dir : str or Path
        Created if missing; existing files are replaced whole.
    labelled : optional
        As for `Mosaic.n_labelled`; stores how many tiles of each mosaic have a mask.

    Returns
    -------
    pairs_path, mosaics_path : Path
    """
    from datetime import datetime, timezone

    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise SaltviewerError(f"--out {out_dir}: is a file; expected a folder for pairs.csv and mosaics.json.")
    out_dir.mkdir(parents=True, exist_ok=True)
    pairs_path = out_dir / "pairs.csv"
    with atomic_open(pairs_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(("kind", "a", "b"))
        writer.writerows(mosaics.pairs)
    document = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "dataset": mosaics.dataset,
        "parameters": mosaics.parameters,
        "counts": mosaics.counts(),
        "mosaics": [m.to_json(None if labelled is None else m.n_labelled(labelled)) for m in mosaics],
        "conflicts": mosaics.conflicts,
    }
    mosaics_path = out_dir / "mosaics.json"
    with atomic_open(mosaics_path, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=1)
        handle.write("\n")
    return pairs_path, mosaics_path


def read_pairs(path):
    """Read a ``pairs.csv``: a list of ``(kind, a, b)`` tuples of tile ids."""
    from .._tables import read_rows

    pairs = []
    for line, (kind, a, b) in read_rows(path, ("kind", "a", "b")):
        if kind not in KINDS:
            raise DataError(f"{path} line {line}: kind must be 'right' or 'below', got {kind!r}.")
        pairs.append((kind, a, b))
    return pairs


def read_mosaics(path, dataset=None):
    """Read mosaics written by `write_mosaics`.

    Parameters
    ----------
    path : str or Path
        ``mosaics.json`` or the folder holding it (and ``pairs.csv``).
    dataset : Dataset, optional
        Bind the mosaics to it: every tile id must be in it, and its ids must be those
        the mosaics were built from (same key).

    Returns
    -------
    mosaics : Mosaics
    """
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    json_path = folder / "mosaics.json" if path.is_dir() else path
    try:
        document = json.loads(json_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{json_path}: no such file; run `saltviewer mosaic DATA --out {folder}` first.") from None
    except (OSError, ValueError) as error:
        raise DataError(f"{json_path}: is not a readable mosaics file ({error}).") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise DataError(f"{json_path}: is not a saltviewer mosaics file (format {document.get('format')!r} "
                        f"if a dict; expected {FORMAT!r}).")
    if document.get("version", 0) > FORMAT_VERSION:
        raise DataError(f"{json_path}: has format version {document['version']}; this saltviewer reads up to "
                        f"{FORMAT_VERSION}.")
    info = document.get("dataset", {})
    if dataset is not None and info.get("key") not in (None, dataset.key):
        raise DataError(f"{json_path}: was built for another set of tiles (key {info.get('key')}, dataset "
                        f"{dataset.root} has key {dataset.key}); run `saltviewer mosaic` on it again.")
    mosaics = []
    for number, entry in enumerate(document.get("mosaics", [])):
        try:
            tiles = entry["tiles"]
            ids = [str(t["id"]) for t in tiles]
            rows = [int(t["row"]) for t in tiles]
            cols = [int(t["col"]) for t in tiles]
        except (KeyError, TypeError, ValueError) as error:
            raise DataError(f"{json_path}: mosaic {number} is malformed ({error!r}); each tile needs id, row, col.") from None
        if len(set(zip(rows, cols))) != len(rows):
            raise DataError(f"{json_path}: mosaic {number} puts two tiles in one cell.")
        if min(rows + cols, default=0) < 0:
            raise DataError(f"{json_path}: mosaic {number} has a negative row or col.")
        indices = None
        if dataset is not None:
            try:
                indices = [dataset.index(tile) for tile in ids]
            except DataError:
                missing = next(t for t in ids if t not in set(dataset.ids))
                raise DataError(f"{json_path}: mosaic {number} holds tile {missing!r}, which is not in "
                                f"{dataset.root}.") from None
        mosaics.append(Mosaic(number, ids, rows, cols, indices))
    pairs_path = folder / "pairs.csv"
    pairs = read_pairs(pairs_path) if pairs_path.is_file() else []
    if dataset is not None:
        info = dict(info, tiles=len(dataset))
    result = Mosaics(mosaics, pairs, document.get("conflicts", []), document.get("parameters"), info)
    return bound(result, dataset)


def load_mosaics(workspace, dataset):
    """The mosaics of a dataset stored in a workspace, bound to the dataset.

    Raises `SaltviewerError` naming the command to run when there are none yet.
    """
    folder = mosaics_folder(workspace, dataset)
    if not (folder / "mosaics.json").is_file():
        raise SaltviewerError(f"no mosaics for {dataset.root} in workspace {Path(workspace)}; run "
                              f"`saltviewer mosaic {dataset.root} --workspace {Path(workspace)}` first.")
    return read_mosaics(folder, dataset)
