"""The mosaic view without a viewer: which mosaics exist, and the layers of one, stitched.

Thin over `saltviewer.mosaic` (mosaics found and stored by ``saltviewer mosaic``, `stitch`,
`boundary_consistency`), the curation store (the masks in force) and the ensemble (the
consensus). Tests call these without Qt.
"""

from dataclasses import dataclass

import numpy as np

__all__ = ["MosaicLayers", "load_mosaics", "find_mosaics", "mosaic_layers", "masks_in_force", "TILE"]

TILE = 101
#: A seam is drawn as mismatched when at least this many edge pixels of salt find no salt across.
MIN_MISMATCH = 3


def load_mosaics(workspace, dataset):
    """The dataset's mosaics stored in the workspace (a `saltviewer.mosaic.Mosaics`), or None."""
    from saltviewer.mosaic import load_mosaics as load, mosaics_folder

    if not (mosaics_folder(workspace, dataset) / "mosaics.json").is_file():
        return None
    return load(workspace, dataset)


def find_mosaics(workspace, dataset, progress=None):
    """Find neighbours, assemble and store the mosaics (what ``saltviewer mosaic --workspace`` does)."""
    from saltviewer.mosaic import build_mosaics, mosaics_folder, write_mosaics

    dataset.use_cache(workspace)
    mosaics = build_mosaics(dataset, images=dataset.images(), progress=progress)
    write_mosaics(mosaics, mosaics_folder(workspace, dataset), labelled=dataset)
    return mosaics


def masks_in_force(store, dataset):
    """``tile id -> mask`` in force for training, or None: a curated mask (accepted or corrected,
    pseudo-label or label correction), else the ground truth."""
    curated = store.pseudo_labels(dataset, kinds=("pseudo", "label"))

    def mask(tile):
        found = curated.get(tile)
        return found if found is not None else dataset.mask(tile)

    return mask


@dataclass
class MosaicLayers:
    """What the canvas shows for one mosaic.

    Attributes
    ----------
    image : (rows * 101, cols * 101) ndarray of uint8
    masks : same shape, uint8
        Masks in force (0 where a tile has none).
    consensus : same shape, uint8, or None
        The ensemble's consensus masks (None without predictions).
    outlines : list of (4, 2) ndarray
        One rectangle per tile, in canvas coordinates (row, col).
    names : list of str
        Tile ids, in the order of `outlines`.
    states : list of str
        Review state per tile (``labelled``, ``proposed``, ``accepted``, ...; ``""`` when none).
    seams : list of BoundaryScore
        Edges where the masks shown (in force, else consensus) do not continue.
    grid : (rows, cols) ndarray of int
        Dataset position in each cell, -1 where a tile is missing.
    """

    image: np.ndarray
    masks: np.ndarray
    consensus: object
    outlines: list
    names: list
    states: list
    seams: list
    grid: np.ndarray

    def seam_lines(self):
        """One (2, 2) line per mismatched seam, along the shared edge, in canvas coordinates."""
        lines = []
        for seam in self.seams:
            r, c = seam.row, seam.col
            if seam.kind == "right":
                x = (c + 1) * TILE - 0.5
                lines.append(np.array([[r * TILE - 0.5, x], [(r + 1) * TILE - 0.5, x]]))
            else:
                y = (r + 1) * TILE - 0.5
                lines.append(np.array([[y, c * TILE - 0.5], [y, (c + 1) * TILE - 0.5]]))
        return lines


def mosaic_grid(mosaic):
    """(rows, cols) ndarray of dataset positions, -1 where no tile sits."""
    grid = np.full(mosaic.shape, -1, np.int64)
    grid[mosaic.rows, mosaic.cols] = mosaic.indices
    return grid


def mosaic_layers(mosaic, dataset, store, ensemble=None):
    """Stitch one mosaic: image, masks in force, consensus, tile outlines and mismatched seams.

    Parameters
    ----------
    mosaic : saltviewer.mosaic.Mosaic
        Bound to `dataset`.
    dataset : saltviewer.Dataset
    store : saltviewer.store.CurationStore
    ensemble : saltviewer.ensemble.Ensemble, optional

    Returns
    -------
    layers : MosaicLayers
    """
    from saltviewer.mosaic import boundary_consistency, stitch

    in_force = masks_in_force(store, dataset)
    image = stitch(mosaic, dataset.image, fill=0, dtype=np.uint8)
    masks = stitch(mosaic, in_force, fill=0, dtype=np.uint8)
    consensus = None
    consensus_of = {}
    if ensemble is not None:
        for positions, _, predicted in ensemble.consensus(mosaic.indices):
            consensus_of.update((dataset.ids[i], m) for i, m in zip(positions, predicted))
        consensus = stitch(mosaic, consensus_of, fill=0, dtype=np.uint8)

    def shown(tile):
        mask = in_force(tile)
        return mask if mask is not None else consensus_of.get(tile)

    seams = [s for s in boundary_consistency(mosaic, shown) if s.mismatch >= MIN_MISMATCH]
    states_of = {item.tile: item.state for item in store.items(dataset)}
    outlines, states = [], []
    for tile, r, c, i in zip(mosaic.ids, mosaic.rows, mosaic.cols, mosaic.indices):
        y, x = r * TILE - 0.5, c * TILE - 0.5
        outlines.append(np.array([[y, x], [y, x + TILE], [y + TILE, x + TILE], [y + TILE, x]]))
        states.append(states_of.get(tile) or ("labelled" if dataset.has_mask[i] else ""))
    return MosaicLayers(image=image, masks=masks, consensus=consensus, outlines=outlines, names=list(mosaic.ids),
                        states=states, seams=seams, grid=mosaic_grid(mosaic))
