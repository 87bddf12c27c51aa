"""Look at a dataset before training on it: salt coverage, depths, intensities, odd masks, duplicates.

The functions here take plain arrays and return plain arrays, so each can be tested on
hand-made tiles; `explore_dataset` runs them all over a `Dataset` and keeps the results in
an `Exploration`, which `saltviewer.figures` draws and `saltviewer.report` writes out.
"""

import hashlib

import numpy as np
from scipy import ndimage

from ._errors import SaltviewerError
from .rle import TILE_SHAPE

__all__ = [
    "N_COVERAGE_CLASSES", "SUSPICIOUS_REASONS", "Exploration", "explore_dataset", "salt_coverage",
    "coverage_classes", "coverage_class_label", "intensity_stats", "blank_tiles", "vertical_stripe_masks",
    "masks_touching_every_edge", "smallest_salt_areas", "enclosed_sediment", "suspicious_masks",
    "exact_duplicates", "near_duplicates", "tile_signatures", "salt_by_depth",
]

N_COVERAGE_CLASSES = 11
"""Coverage classes: 0 is an empty mask, class k (1..10) holds coverage in ((k-1)/10, k/10]."""

SUSPICIOUS_REASONS = {
    "vertical stripes": "every column is either all salt or all sediment, yet the mask is neither empty nor full",
    "salt on every edge": "salt touches all four edges of the tile yet covers less than half of it (slivers or "
                          "a frame along the edges rather than one large body)",
    "tiny speck": "a salt region smaller than {min_area} pixels (8-connected)",
    "enclosed sediment": "a sediment region enclosed by salt, touching no edge of the tile",
}
"""The rules `suspicious_masks` applies, by name; each is a hint for a person to look, not a verdict."""

_PIXELS = TILE_SHAPE[0] * TILE_SHAPE[1]
_PLANE = np.zeros((3, 3, 3), bool)   # connectivity within a tile only, never across the stack
_PLANE[1] = True
_PLANE4 = np.zeros((3, 3, 3), bool)
_PLANE4[1] = [[0, 1, 0], [1, 1, 1], [0, 1, 0]]


def _stack(array, name, dtype=None):
    array = np.asarray(array)
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3 or array.shape[1:] != TILE_SHAPE:
        raise SaltviewerError(f"{name} must have shape (N, 101, 101), got {array.shape}.")
    if dtype is bool and array.dtype != bool:
        if not np.issubdtype(array.dtype, np.integer):
            raise SaltviewerError(f"{name} must be bool or 0/1 integers, got dtype {array.dtype}.")
        array = array != 0
    if dtype is np.uint8 and array.dtype != np.uint8:
        raise SaltviewerError(f"{name} must be uint8 tiles, got dtype {array.dtype}.")
    return array


def salt_coverage(masks):
    """Share of salt pixels in each mask.

    Parameters
    ----------
    masks : (N, 101, 101) ndarray of bool

    Returns
    -------
    coverage : (N,) ndarray of float
        In [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> salt_coverage(np.ones((2, 101, 101), bool)).tolist()
    [1.0, 1.0]
    """
    masks = _stack(masks, "masks", bool)
    return masks.reshape(len(masks), -1).sum(1) / _PIXELS


def coverage_classes(masks):
    """Coverage class of each mask: 0 when empty, else ceil(10 * coverage), 1..10.

    The classes of the public TGS baseline used to stratify folds: an empty mask is its
    own class, and the others fall in coverage deciles ((k-1)/10, k/10]. Computed on
    pixel counts, so a mask of exactly 10% salt is class 1, never class 2 by rounding.

    This is the one coverage-class rule of saltviewer: folds (`saltviewer.training.folds`),
    the loop benchmark's split (`saltviewer.loop`) and the exploration report all use it.

    Parameters
    ----------
    masks : (N, H, W) ndarray of bool (or 0/1 integers)

    Returns
    -------
    classes : (N,) ndarray of int
        In 0..10.

    Examples
    --------
    >>> masks = np.zeros((3, 10, 10), bool); masks[1, :1, :5] = True; masks[2] = True
    >>> coverage_classes(masks).tolist()
    [0, 1, 10]
    """
    masks = np.asarray(masks)
    if masks.ndim == 2:
        masks = masks[None]
    if masks.ndim != 3:
        raise SaltviewerError(f"masks must have shape (N, H, W), got {masks.shape}.")
    pixels = masks.shape[1] * masks.shape[2]
    counts = np.count_nonzero(masks.reshape(len(masks), -1), axis=1).astype(np.int64)
    return (counts * 10 + pixels - 1) // pixels


def coverage_class_label(k):
    """Readable range of a coverage class: ``"empty"``, ``"0-10%"``, ..., ``"90-100%"``."""
    k = int(k)
    if not 0 <= k < N_COVERAGE_CLASSES:
        raise SaltviewerError(f"coverage class must be in 0..{N_COVERAGE_CLASSES - 1}, got {k}.")
    return "empty" if k == 0 else f"{10 * (k - 1)}-{10 * k}%"


def intensity_stats(images):
    """Mean and standard deviation of the grey levels of each tile.

    Parameters
    ----------
    images : (N, 101, 101) ndarray of uint8

    Returns
    -------
    mean, std : (N,) ndarray of float
        In grey levels, 0..255.
    """
    images = _stack(images, "images", np.uint8)
    flat = images.reshape(len(images), -1)
    mean = np.empty(len(flat))
    std = np.empty(len(flat))
    for start in range(0, len(flat), 512):
        chunk = flat[start:start + 512].astype(np.float32)
        mean[start:start + 512] = chunk.mean(1, dtype=np.float64)
        chunk -= mean[start:start + 512, None].astype(np.float32)
        std[start:start + 512] = np.sqrt(np.einsum("ij,ij->i", chunk, chunk) / chunk.shape[1])
    return mean, std


def blank_tiles(images, tolerance=0):
    """Tiles with no picture: every grey level within `tolerance` of the tile's darkest one.

    Parameters
    ----------
    images : (N, 101, 101) ndarray of uint8
    tolerance : int
        Largest grey-level range a blank tile may have (0: constant tiles only).

    Returns
    -------
    blank : (N,) ndarray of bool
    """
    images = _stack(images, "images", np.uint8)
    flat = images.reshape(len(images), -1)
    return (flat.max(1).astype(int) - flat.min(1)) <= tolerance


def vertical_stripe_masks(masks):
    """Masks made only of whole columns: each column all salt or all sediment, not empty nor full.

    Parameters
    ----------
    masks : (N, 101, 101) ndarray of bool

    Returns
    -------
    striped : (N,) ndarray of bool
    """
    masks = _stack(masks, "masks", bool)
    whole_columns = (masks.all(1) | ~masks.any(1)).all(1)
    some = masks.any((1, 2))
    full = masks.all((1, 2))
    return whole_columns & some & ~full


def masks_touching_every_edge(masks):
    """Masks whose salt touches the top, bottom, left and right edges, yet that are not full.

    Parameters
    ----------
    masks : (N, 101, 101) ndarray of bool

    Returns
    -------
    touching : (N,) ndarray of bool
    """
    masks = _stack(masks, "masks", bool)
    edges = masks[:, 0].any(1) & masks[:, -1].any(1) & masks[:, :, 0].any(1) & masks[:, :, -1].any(1)
    return edges & ~masks.all((1, 2))


def smallest_salt_areas(masks):
    """Area in pixels of the smallest salt region (8-connected) of each mask; 0 when empty.

    Parameters
    ----------
    masks : (N, 101, 101) ndarray of bool

    Returns
    -------
    areas : (N,) ndarray of int
    """
    masks = _stack(masks, "masks", bool)
    labels, count = ndimage.label(masks, structure=_PLANE)
    areas = np.zeros(len(masks), np.int64)
    if count == 0:
        return areas
    sizes = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    # Labels are numbered in scan order and no region crosses tiles, so the labels of tile t
    # are those above the largest label of the tiles before it.
    last = np.maximum.accumulate(labels.reshape(len(masks), -1).max(1))
    tile = np.searchsorted(last, np.arange(1, count + 1))
    areas[:] = np.iinfo(np.int64).max
    np.minimum.at(areas, tile, sizes)
    areas[areas == np.iinfo(np.int64).max] = 0
    return areas


def enclosed_sediment(masks):
    """Masks with a sediment region (4-connected) that touches no edge of the tile.

    Parameters
    ----------
    masks : (N, 101, 101) ndarray of bool

    Returns
    -------
    enclosed : (N,) ndarray of bool
    """
    masks = _stack(masks, "masks", bool)
    labels, count = ndimage.label(~masks, structure=_PLANE4)
    if count == 0:
        return np.zeros(len(masks), bool)
    on_edge = np.zeros(count + 1, bool)
    for border in (labels[:, 0], labels[:, -1], labels[:, :, 0], labels[:, :, -1]):
        on_edge[border.ravel()] = True
    inner = ~on_edge[labels]
    inner &= labels > 0
    return inner.any((1, 2))


def suspicious_masks(masks, min_area=10, edge_coverage=0.5):
    """Flag masks that a person should look at, by rule (see `SUSPICIOUS_REASONS`).

    Parameters
    ----------
    masks : (N, 101, 101) ndarray of bool
    min_area : int
        Salt regions smaller than this many pixels count as tiny specks.
    edge_coverage : float
        Salt on every edge is flagged only below this coverage: a large salt body touching
        all four edges is common (396 of the 3,200 TGS masks, 34 of them under half the tile).

    Returns
    -------
    flags : dict of str to (N,) ndarray of bool
        One entry per reason, in the order of `SUSPICIOUS_REASONS`.
    """
    masks = _stack(masks, "masks", bool)
    if int(min_area) != min_area or min_area < 1:
        raise SaltviewerError(f"min_area must be a positive whole number of pixels, got {min_area!r}.")
    areas = smallest_salt_areas(masks)
    return {
        "vertical stripes": vertical_stripe_masks(masks),
        "salt on every edge": masks_touching_every_edge(masks) & (salt_coverage(masks) < edge_coverage),
        "tiny speck": (areas > 0) & (areas < min_area),
        "enclosed sediment": enclosed_sediment(masks),
    }


def exact_duplicates(images):
    """Groups of tiles with identical pixels.

    Parameters
    ----------
    images : (N, 101, 101) ndarray of uint8

    Returns
    -------
    groups : list of (k,) ndarray of int
        Positions of the tiles of each group (k >= 2), sorted; groups sorted by size, largest
        first, then by first position.
    """
    images = _stack(images, "images", np.uint8)
    seen = {}
    for i, image in enumerate(images):
        seen.setdefault(hashlib.blake2b(np.ascontiguousarray(image).tobytes(), digest_size=16).digest(),
                        []).append(i)
    groups = [np.array(g) for g in seen.values() if len(g) > 1]
    # Equal digests of different pixels are astronomically unlikely; check anyway.
    checked = []
    for group in groups:
        first = images[group[0]]
        same = np.array([np.array_equal(first, images[i]) for i in group])
        if same.all():
            checked.append(group)
        else:  # pragma: no cover - a hash collision
            checked.extend(g for g in (group[same], group[~same]) if len(g) > 1)
    return sorted(checked, key=lambda g: (-len(g), g[0]))


_SIGNATURE_SIDE = 16


def tile_signatures(images, side=_SIGNATURE_SIDE):
    """Small unit-length fingerprints of tiles: block means on a side x side grid, centred.

    The dot product of two signatures is the correlation of the two tiles seen at low
    resolution; near-duplicate tiles have signatures with a dot product near 1.

    Parameters
    ----------
    images : (N, 101, 101) ndarray of uint8
    side : int
        Blocks per side; the 101 pixels are split into `side` nearly equal runs.

    Returns
    -------
    signatures : (N, side * side) ndarray of float32
        Unit length; all zero for a tile whose block means are all equal.
    """
    images = _stack(images, "images", np.uint8)
    starts = np.linspace(0, TILE_SHAPE[0], side + 1).round().astype(int)
    sizes = np.diff(starts).astype(np.float32)
    means = np.empty((len(images), side * side), np.float32)
    for start in range(0, len(images), 512):
        chunk = images[start:start + 512]
        sums = np.add.reduceat(np.add.reduceat(chunk, starts[:-1], axis=1, dtype=np.uint32), starts[:-1], axis=2)
        means[start:start + 512] = (sums / np.outer(sizes, sizes)).reshape(len(chunk), -1)
    means -= means.mean(1, keepdims=True)
    norms = np.linalg.norm(means, axis=1, keepdims=True)
    return np.divide(means, norms, out=np.zeros_like(means), where=norms > 1e-6)


def _centred_unit(images):
    flat = images.reshape(len(images), -1).astype(np.float32)
    flat -= flat.mean(1, keepdims=True)
    norms = np.linalg.norm(flat, axis=1, keepdims=True)
    return np.divide(flat, norms, out=np.zeros_like(flat), where=norms > 0)


def near_duplicates(images, min_correlation=0.8, margin=0.1, block=2048, progress=None):
    """Pairs of different tiles whose pixels correlate at least `min_correlation`.

    Two tiles are near-duplicates when the Pearson correlation of their 10,201 grey levels
    is at least `min_correlation`: the same picture up to brightness, contrast and small
    changes. Constant tiles have no correlation and are never paired (see `blank_tiles`
    and `exact_duplicates` for them).

    The search compares 16x16 `tile_signatures` of every pair in blocks of matrix products
    (256 numbers a tile instead of 10,201), keeps pairs whose low-resolution correlation is
    at least ``min_correlation - margin``, and checks those at full resolution. Averaging
    blocks removes pixel noise, so near-duplicates correlate more, not less, at low
    resolution; on the TGS tiles the largest drop seen was 0.03, well inside the default
    margin. (A k-d tree over PCA-reduced signatures was tried and missed 1 to 4 of the 47
    pairs at 0.8 on the TGS tiles: texture spreads the variance over too many dimensions.)

    Parameters
    ----------
    images : (N, 101, 101) ndarray of uint8
    min_correlation : float
        In (0, 1].
    margin : float
        How much lower the low-resolution correlation of a kept pair may be.
    block : int
        Tiles per block of the matrix products (memory: about block * N * 4 bytes).
    progress : callable, optional
        Called as ``progress(done, total)`` over blocks.

    Returns
    -------
    pairs : (P, 2) ndarray of int
        Positions ``i < j``, sorted by decreasing correlation.
    correlations : (P,) ndarray of float
    """
    images = _stack(images, "images", np.uint8)
    if not 0 < min_correlation <= 1:
        raise SaltviewerError(f"min_correlation must be in (0, 1], got {min_correlation!r}.")
    if not 0 <= margin < 1:
        raise SaltviewerError(f"margin must be in [0, 1), got {margin!r}.")
    live = np.flatnonzero(~blank_tiles(images))
    signatures = tile_signatures(images[live])
    low = min_correlation - margin
    candidates = []
    for start in range(0, len(live), block):
        product = signatures[start:start + block] @ signatures[start:].T
        rows, cols = np.nonzero(product >= low)
        keep = cols > rows          # pairs within the block's own rows: once, never with itself
        candidates.append(np.stack([rows[keep] + start, cols[keep] + start], 1))
        if progress is not None:
            progress(min(start + block, len(live)), len(live))
    candidates = np.concatenate(candidates) if candidates else np.empty((0, 2), np.int64)
    pairs = live[candidates]
    correlations = np.empty(len(pairs))
    for start in range(0, len(pairs), 1024):
        chunk = pairs[start:start + 1024]
        a = _centred_unit(images[chunk[:, 0]])
        b = _centred_unit(images[chunk[:, 1]])
        correlations[start:start + 1024] = np.einsum("ij,ij->i", a, b, dtype=np.float64)
    keep = correlations >= min_correlation - 1e-9
    pairs, correlations = pairs[keep], np.minimum(correlations[keep], 1.0)
    order = np.lexsort((pairs[:, 1], pairs[:, 0], -correlations))
    return pairs[order].astype(np.int64), correlations[order]


def salt_by_depth(depths, coverage, bins=10):
    """Share of tiles with salt and mean coverage in depth bins of equal width.

    Parameters
    ----------
    depths : (N,) ndarray of float
        NaN where unknown (those tiles are left out).
    coverage : (N,) ndarray of float
        Salt coverage of each tile, in [0, 1].
    bins : int

    Returns
    -------
    table : dict of str to ndarray
        ``edges`` (bins + 1,), and per bin ``count``, ``with_salt`` (share of tiles with any
        salt) and ``mean_coverage``; NaN for an empty bin.
    """
    depths = np.asarray(depths, float)
    coverage = np.asarray(coverage, float)
    if depths.shape != coverage.shape or depths.ndim != 1:
        raise SaltviewerError(f"depths and coverage must be 1-D of one length, got {depths.shape} and "
                              f"{coverage.shape}.")
    known = np.isfinite(depths) & np.isfinite(coverage)
    if not known.any():
        raise SaltviewerError("salt_by_depth needs at least one tile with both a depth and a mask.")
    lo, hi = depths[known].min(), depths[known].max()
    edges = np.linspace(lo, hi if hi > lo else lo + 1, bins + 1)
    which = np.clip(np.searchsorted(edges, depths[known], side="right") - 1, 0, bins - 1)
    count = np.bincount(which, minlength=bins)
    salty = np.bincount(which, weights=coverage[known] > 0, minlength=bins)
    summed = np.bincount(which, weights=coverage[known], minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"edges": edges, "count": count, "with_salt": np.where(count > 0, salty / count, np.nan),
                "mean_coverage": np.where(count > 0, summed / count, np.nan)}


class Exploration:
    """What `explore_dataset` found about a dataset; every array is aligned to ``dataset.ids``.

    Attributes
    ----------
    dataset : Dataset
    images : (N, 101, 101) ndarray of uint8
        Every tile, loaded once (about 10 kB a tile).
    labelled : (M,) ndarray of int
        Positions of the tiles with a mask.
    masks : (M, 101, 101) ndarray of bool
        Their masks; see `mask`.
    coverage : (N,) ndarray of float
        Salt share; NaN where the tile has no mask.
    coverage_class : (N,) ndarray of int
        0..10 (see `coverage_classes`); -1 where the tile has no mask.
    mean, std : (N,) ndarray of float
        Grey-level mean and standard deviation of each tile.
    blank : (N,) ndarray of bool
        Constant tiles.
    smallest_area : (N,) ndarray of int
        Smallest salt region in pixels; 0 when empty or unlabelled.
    suspicious : dict of str to (N,) ndarray of bool
        One entry per reason of `SUSPICIOUS_REASONS`; false where the tile has no mask.
    duplicate_groups : list of (k,) ndarray of int
        Groups of identical tiles.
    near_pairs : (P, 2) ndarray of int
    near_correlations : (P,) ndarray of float
    min_correlation, min_area : float, int
        The settings used.
    """

    def __init__(self, dataset, images, masks, min_area, min_correlation, progress=None):
        self.dataset = dataset
        self.images = images
        self.min_area = int(min_area)
        self.min_correlation = float(min_correlation)
        n = len(dataset)
        self.has_mask = np.asarray(dataset.has_mask, bool)
        self.coverage = np.full(n, np.nan)
        self.coverage_class = np.full(n, -1, np.int64)
        self.smallest_area = np.zeros(n, np.int64)
        self.suspicious = {reason: np.zeros(n, bool) for reason in SUSPICIOUS_REASONS}
        labelled = np.flatnonzero(self.has_mask)
        if len(labelled):
            self.coverage[labelled] = salt_coverage(masks)
            self.coverage_class[labelled] = coverage_classes(masks)
            self.smallest_area[labelled] = smallest_salt_areas(masks)
            for reason, flags in suspicious_masks(masks, min_area).items():
                self.suspicious[reason][labelled] = flags
        self.labelled = labelled
        self.masks = masks
        self._mask_row = {int(i): k for k, i in enumerate(labelled)}
        self.mask_pixels = None
        if len(labelled):
            # Grey-level histograms of salt and sediment pixels, for the intensity figure.
            live = ~blank_tiles(images[labelled])
            salt = np.bincount(images[labelled][live][masks[live]], minlength=256)
            sediment = np.bincount(images[labelled][live][~masks[live]], minlength=256)
            self.mask_pixels = {"salt": salt, "sediment": sediment}
        self.mean, self.std = intensity_stats(images)
        self.blank = blank_tiles(images)
        self.duplicate_groups = exact_duplicates(images)
        self.near_pairs, self.near_correlations = near_duplicates(images, min_correlation, progress=progress)

    def mask(self, i):
        """The (101, 101) bool mask of tile `i`, or None where it has none."""
        row = self._mask_row.get(int(i))
        return None if row is None else self.masks[row]

    @property
    def ids(self):
        return self.dataset.ids

    @property
    def split(self):
        return self.dataset.split

    @property
    def depths(self):
        return self.dataset.depths

    @property
    def n_masks(self):
        return int(self.has_mask.sum())

    @property
    def empty_share(self):
        """Share of the masks that hold no salt; NaN without masks."""
        if not self.n_masks:
            return float("nan")
        return float(np.mean(self.coverage[self.has_mask] == 0))

    def any_suspicious(self):
        """(N,) bool: tiles flagged for at least one reason."""
        return np.any(list(self.suspicious.values()), axis=0) if self.suspicious else np.zeros(len(self.ids), bool)

    def reasons(self, i):
        """The reasons tile `i` is flagged for, as a list of names."""
        return [reason for reason, flags in self.suspicious.items() if flags[i]]

    def summary(self):
        """The headline numbers as a dict of plain Python values."""
        n_near_tiles = len(np.unique(self.near_pairs)) if len(self.near_pairs) else 0
        return {
            "tiles": len(self.ids),
            "train": int(np.sum(self.split == "train")),
            "test": int(np.sum(self.split == "test")),
            "masks": self.n_masks,
            "empty_share": None if not self.n_masks else round(self.empty_share, 4),
            "depths_known": int(np.isfinite(self.depths).sum()),
            "blank_tiles": int(self.blank.sum()),
            "suspicious_masks": int(self.any_suspicious().sum()),
            "suspicious_by_reason": {reason: int(flags.sum()) for reason, flags in self.suspicious.items()},
            "duplicate_groups": len(self.duplicate_groups),
            "duplicate_tiles": int(sum(len(g) for g in self.duplicate_groups)),
            "near_duplicate_pairs": int(len(self.near_pairs)),
            "near_duplicate_tiles": n_near_tiles,
            "min_correlation": self.min_correlation,
            "min_area": self.min_area,
        }


def explore_dataset(dataset, min_area=10, min_correlation=0.8, progress=None):
    """Compute everything the exploration report shows about a dataset.

    Parameters
    ----------
    dataset : Dataset
        Call ``dataset.use_cache(workspace)`` first to read a large dataset faster.
    min_area : int
        Salt regions smaller than this (pixels) are tiny specks.
    min_correlation : float
        Tiles correlating at least this much are near-duplicates.
    progress : callable, optional
        Called as ``progress(done, total)`` while reading tiles and while searching pairs.

    Returns
    -------
    exploration : Exploration
    """
    n = len(dataset)
    images = np.empty((n,) + TILE_SHAPE, np.uint8)
    chunk = 1000
    for start in range(0, n, chunk):
        images[start:start + chunk] = dataset.images(np.arange(start, min(start + chunk, n)))
        if progress is not None:
            progress(min(start + chunk, n), n)
    labelled = np.flatnonzero(dataset.has_mask)
    masks = dataset.masks(labelled) if len(labelled) else np.zeros((0,) + TILE_SHAPE, bool)
    return Exploration(dataset, images, masks, min_area, min_correlation, progress=progress)
