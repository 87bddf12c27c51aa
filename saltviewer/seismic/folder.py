"""A section's tiles as a data folder in the competition layout, and their masks back on the section.

`cut_tiles` writes::

    OUT/test/images/<id>.png     the tiles, 8-bit (scaled as `saltviewer.seismic.scaling` says)
    OUT/depths.csv               id,z: the sample value (time or depth) at each tile's centre
    OUT/segy_tiles.csv           id,section,row,col,line,trace,sample: where each tile sits
    OUT/segy_manifest.json       the source file, its geometry, the scaling, the overlap

A tile id reads ``<stem>_s<section>_r<row>_c<col>`` (section position in the volume, 0 for a
line; row and column of the tile's top-left pixel in the section image, samples down and
traces across). The folder opens like any other: the whole curation loop (predict,
pseudo-label, review, train) runs on it. `section_masks` (``saltviewer segy assemble``) puts
the masks in force back on the section: a reviewer's accepted or corrected masks, training
masks of tiles a person labelled, and, where asked, the ensemble's masks of the rest.
"""

import csv
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._errors import SaltviewerError
from .tiling import TILE, tile_grid

__all__ = ["cut_tiles", "TileManifest", "read_manifest", "section_masks", "MANIFEST", "TILES_CSV", "UNDECIDED"]

MANIFEST = "segy_manifest.json"
TILES_CSV = "segy_tiles.csv"
FORMAT = "saltviewer.segy-tiles"
#: Value written where no tile's mask is in force.
UNDECIDED = -1.0


def _stem(path):
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", Path(path).stem).strip("-_.") or "section"
    return stem[:40]


def _sections(data, direction, every, sections):
    """Positions of the sections to cut and the line numbers they carry."""
    if data.kind == "line":
        return [0], [None]
    numbers = data.inlines if direction == "inline" else data.crosslines
    if sections:
        wanted = [int(s) for s in sections]
        position = {int(n): k for k, n in enumerate(numbers)}
        missing = [s for s in wanted if s not in position]
        if missing:
            raise SaltviewerError(f"--sections: {direction} {missing[0]} is not in {data.path.name} "
                                  f"({direction}s {numbers[0]}..{numbers[-1]}).")
        positions = [position[s] for s in wanted]
    else:
        if int(every) < 1:
            raise SaltviewerError(f"--every must be at least 1; got {every}.")
        positions = list(range(0, len(numbers), int(every)))
    return positions, [int(numbers[p]) for p in positions]


def _section_image(data, direction, position):
    """The section at `position` as an image ``(samples, traces)``."""
    if data.kind == "line":
        return data.traces().T
    if direction == "inline":
        return data.read(slice(position, position + 1))[0].T
    return data.read(slice(None), slice(position, position + 1))[:, 0].T


def cut_tiles(path, out_dir, *, overlap=0, scaling="file", direction="inline", every=1, sections=None,
              iline=189, xline=193):
    """Cut a SEG-Y line (or sections of a volume) into a data folder of 101 x 101 tiles.

    Parameters
    ----------
    path : str or Path
    out_dir : str or Path
        Must be absent or empty; it appears complete or not at all.
    overlap : int
        Pixels shared by neighbouring tiles (0: they only overlap where the last tile of a
        row or column is put flush with the edge).
    scaling : {"file", "tile"}
    direction : {"inline", "crossline"}
        For a volume: cut inline or crossline sections.
    every : int
        For a volume: every k-th section (from the first).
    sections : sequence of int, optional
        For a volume: these inline (or crossline) numbers instead.

    Returns
    -------
    manifest : TileManifest
    """
    from PIL import Image

    from .scaling import fit_scaling
    from .segy import open_segy
    from .tiling import check_overlap, check_tileable

    overlap = check_overlap(overlap)
    if direction not in ("inline", "crossline"):
        raise SaltviewerError(f"--direction must be inline or crossline; got {direction!r}.")
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise SaltviewerError(f"{out_dir}: is not an empty folder; choose a new one (tiles never overwrite files).")
    data = open_segy(path, iline=iline, xline=xline)
    check_tileable(data, direction)
    fitted = fit_scaling(data, scaling)
    positions, numbers = _sections(data, direction, every, sections)
    stem = _stem(data.path)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    except OSError as error:
        raise SaltviewerError(f"{out_dir}: cannot be written ({error.strerror or error}).") from None
    try:
        images = work / "test" / "images"
        images.mkdir(parents=True)
        rows_out, depth_rows, skipped = [], [], 0
        present = data.present
        for position, number in zip(positions, numbers):
            image = _section_image(data, direction, position)
            rows, cols = tile_grid(image.shape, overlap)
            if present is not None:          # no tile where the survey has no trace at all
                columns = present[position] if direction == "inline" else present[:, position]
                keep = np.array([columns[c:c + TILE].any() for c in cols], bool)
                skipped += int((~keep).sum())
                rows, cols = rows[keep], cols[keep]
                if not len(rows):
                    continue
            tiles = np.stack([image[r:r + TILE, c:c + TILE] for r, c in zip(rows, cols)])
            grey = fitted.to_uint8(tiles)
            traces = data.crosslines if data.kind == "line" or direction == "inline" else data.inlines
            for tile, r, c in zip(grey, rows, cols):
                tile_id = f"{stem}_s{position:04d}_r{r:04d}_c{c:05d}"
                Image.fromarray(tile).save(images / f"{tile_id}.png", compress_level=1)
                centre = float(data.samples[min(r + TILE // 2, data.n_samples - 1)])
                rows_out.append((tile_id, position, int(r), int(c), "" if number is None else number,
                                 int(traces[c]), float(data.samples[r])))
                depth_rows.append((tile_id, round(centre, 3)))
        _write_csv(work / "depths.csv", ("id", "z"), depth_rows)
        _write_csv(work / TILES_CSV, ("id", "section", "row", "col", "line", "trace", "sample"), rows_out)
        manifest = {
            "format": FORMAT, "format_version": 1, "source": str(data.path.resolve()), "kind": data.kind,
            "shape": list(data.shape), "sorting": data.sorting, "direction": direction if data.kind == "volume" else None,
            "section_positions": positions, "tile": TILE, "overlap": overlap, "scaling": fitted.to_dict(),
            "tiles": len(rows_out), "tiles_csv": TILES_CSV, "iline_byte": iline, "xline_byte": xline,
            "geometry": data.describe(), "missing_traces": data.n_missing,
            "tiles_left_out_without_traces": skipped,
            "id_pattern": "<stem>_s<section position>_r<row>_c<col>; row, col = top-left pixel in the section image "
                          "(samples down, traces across)",
        }
        with open(work / MANIFEST, "w", encoding="utf-8") as handle:
            json.dump(manifest, handle, indent=2)
        if out_dir.exists():
            out_dir.rmdir()
        os.replace(work, out_dir)
    except OSError as error:
        raise SaltviewerError(f"{out_dir}: cannot be written ({error.strerror or error}).") from None
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return read_manifest(out_dir)


def _write_csv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


@dataclass
class TileManifest:
    """Where the tiles of a `cut_tiles` folder sit on their section.

    Attributes
    ----------
    folder : Path
    settings : dict
        The JSON manifest.
    ids : list of str
    sections, rows, cols : (n,) ndarray of int64
        Section position, and the tile's top-left pixel in that section's image.
    """

    folder: Path
    settings: dict
    ids: list
    sections: np.ndarray
    rows: np.ndarray
    cols: np.ndarray

    def __len__(self):
        return len(self.ids)

    @property
    def source(self):
        return Path(self.settings["source"])

    def place(self, tile_id):
        """(section, row, col) of a tile."""
        try:
            k = self.ids.index(tile_id)
        except ValueError:
            raise SaltviewerError(f"tile {tile_id!r} is not in {self.folder / TILES_CSV}.") from None
        return int(self.sections[k]), int(self.rows[k]), int(self.cols[k])

    def tile_at(self, section, row, col):
        """The id of the tile whose centre is nearest to pixel (row, col) of a section, among the
        tiles that contain it; None when no tile of that section does."""
        inside = ((self.sections == section) & (self.rows <= row) & (row < self.rows + TILE)
                  & (self.cols <= col) & (col < self.cols + TILE))
        candidates = np.flatnonzero(inside)
        if not len(candidates):
            return None
        distance = (self.rows[candidates] + TILE // 2 - row) ** 2 + (self.cols[candidates] + TILE // 2 - col) ** 2
        return self.ids[int(candidates[np.argmin(distance)])]


def read_manifest(folder):
    """Read the manifest of a `cut_tiles` folder.

    Returns
    -------
    manifest : TileManifest
    """
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        raise SaltviewerError(f"{folder}: has no {MANIFEST}; it was not made by `saltviewer segy tiles`.")
    try:
        settings = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise SaltviewerError(f"{path}: cannot be read as a manifest ({error}).") from None
    if settings.get("format") != FORMAT:
        raise SaltviewerError(f"{path}: format is {settings.get('format')!r}; expected {FORMAT!r}.")
    ids, sections, rows, cols = [], [], [], []
    with open(folder / settings.get("tiles_csv", TILES_CSV), newline="", encoding="utf-8") as handle:
        for line in csv.DictReader(handle):
            ids.append(line["id"])
            sections.append(int(line["section"]))
            rows.append(int(line["row"]))
            cols.append(int(line["col"]))
    return TileManifest(folder, settings, ids, np.array(sections, np.int64), np.array(rows, np.int64),
                        np.array(cols, np.int64))


def section_masks(folder, workspace=None, *, versions="all", predicted=False):
    """The masks in force on a tiles folder's tiles, placed back on the source's geometry.

    Parameters
    ----------
    folder : str or Path
        A folder made by `cut_tiles`.
    workspace : str, Path or Workspace, optional
        Its curation store gives the accepted and corrected masks; without one, only
        training masks in the folder count.
    versions : str or sequence of str
        With `predicted`, the ensemble whose consensus masks fill the undecided tiles.
    predicted : bool
        Fill tiles without a decision with the ensemble's consensus mask.

    Returns
    -------
    values : (sections of the source...) ndarray of float32
        Shaped like the source (``(traces, samples)`` or ``(inlines, crosslines,
        samples)``): 1 salt, 0 not salt, `UNDECIDED` where no mask is in force.
        Overlapping masks vote (salt where at least half of them say so).
    counts : dict
        Tiles placed from each source (``"label"``, ``"review"``, ``"ensemble"``) and
        ``"undecided"``.
    """
    from .. import open_dataset
    from ..store import CurationStore, MasksInForce, masks_in_force
    from ..workspace import as_workspace

    manifest = read_manifest(folder)
    dataset = open_dataset(folder)
    in_force = MasksInForce(dataset, {}, {})          # the training masks, without a store
    if workspace is not None:
        workspace = as_workspace(workspace)
        if workspace.store_path.is_file():
            with CurationStore(workspace.store_path) as store:
                in_force = masks_in_force(store, dataset)
    masks, source = {}, {}
    for tile_id, mask, kind in in_force.items():
        masks[tile_id], source[tile_id] = mask, ("review" if kind == "curated" else "label")
    if workspace is not None and predicted:
        from ..ensemble import Ensemble

        with Ensemble(workspace, dataset, versions) as ensemble:
            todo = np.array([i for i in np.flatnonzero(ensemble.predicted) if dataset.ids[i] not in masks])
            for positions, _, consensus in ensemble.consensus(todo):
                for i, mask in zip(positions, consensus):
                    masks[dataset.ids[i]], source[dataset.ids[i]] = mask, "ensemble"
    settings = manifest.settings
    shape = tuple(settings["shape"])
    votes = np.zeros(shape, np.float32)
    count = np.zeros(shape, np.uint8)
    for tile_id, section, row, col in zip(manifest.ids, manifest.sections, manifest.rows, manifest.cols):
        mask = masks.get(tile_id)
        if mask is None:
            continue
        block = np.asarray(mask, np.float32).T            # (traces, samples) as stored
        where = _place(settings, section, row, col)
        votes[where] += block
        count[where] += 1
    values = np.where(count > 0, (votes >= count / 2.0) & (count > 0), UNDECIDED).astype(np.float32)
    counts = {name: sum(1 for s in source.values() if s == name) for name in ("label", "review", "ensemble")}
    counts["undecided"] = len(manifest) - sum(1 for tile_id in manifest.ids if tile_id in masks)
    return values, counts


def _place(settings, section, row, col):
    """Index into the source array of a tile's (traces, samples) block."""
    samples = slice(row, row + TILE)
    traces = slice(col, col + TILE)
    if settings["kind"] == "line":
        return traces, samples
    if settings["direction"] == "inline":
        return section, traces, samples
    return traces, section, samples
