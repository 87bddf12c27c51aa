"""A synthetic dataset in the competition layout, cut from synthetic seismic sections.

Each section is a 2-D seismic image: layered reflectors (a sparse reflectivity series
convolved with a Ricker wavelet), folded and tilted, with salt bodies (diapirs and
sheets) whose interior is weak, chaotic reflectivity and whose flanks are sharp, bright
reflectors. Sections are cut into 101x101 tiles on a grid, so neighbouring tiles continue
each other and mosaics can be rebuilt; ``sample_layout.csv`` records where each tile came
from (section, row, col) for tests.
"""

import csv
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from ._atomic import atomic_open
from ._errors import SaltviewerError
from .rle import TILE_SHAPE, rle_encode

__all__ = ["make_sample", "synthetic_section"]

TILE = TILE_SHAPE[0]
EMPTY_SHARE = 0.4


def _ricker(points, period):
    t = np.arange(points) - points // 2
    a = (np.pi * t / period) ** 2
    return (1 - 2 * a) * np.exp(-a)


def _smooth_noise(rng, shape, sigma):
    """Gaussian-smoothed noise with unit standard deviation, made at low resolution and upsampled."""
    factor = max(1, int(sigma // 3))
    small_shape = tuple(-(-n // factor) + 2 for n in shape)
    small = ndimage.gaussian_filter(rng.standard_normal(small_shape), sigma / factor, mode="wrap")
    small /= small.std() + 1e-12
    big = ndimage.zoom(small, factor, order=1, grid_mode=True, mode="grid-wrap")
    return big[:shape[0], :shape[1]]


def _salt_bodies(rng, height, width):
    """Boolean salt mask of a section: one to three diapirs or sheets."""
    y = np.arange(height, dtype=float)[:, None]
    x = np.arange(width, dtype=float)[None, :]
    salt = np.zeros((height, width), bool)
    wobble = _smooth_noise(rng, (height, width), 12) * 6
    count = rng.choice([0, 1, 2, 3, 4], p=[0.03, 0.15, 0.3, 0.3, 0.22])
    for _ in range(count):
        cx = rng.uniform(0.05, 0.95) * width
        if rng.random() < 0.7:   # a diapir rising from below with a rounded top
            top = rng.uniform(0.1, 0.8) * height
            half = rng.uniform(50, 180)
            flare = rng.uniform(-0.05, 0.35)
            lean = rng.uniform(-0.4, 0.4)
            radius = rng.uniform(60, 250)
            depth = np.maximum(y - top, 0)
            across = np.abs(x - cx - lean * depth + wobble)
            body = (y > top + (x - cx) ** 2 / (2 * radius) + 0.5 * wobble) & (across < half + flare * depth)
        else:                    # a sheet (canopy): a flattened lens
            cy = rng.uniform(0.2, 0.85) * height
            ax = rng.uniform(120, 380)
            ay = rng.uniform(30, 90)
            body = ((x - cx) / ax) ** 2 + ((y - cy + wobble) / ay) ** 2 < 1
        salt |= body
    return ndimage.binary_opening(salt, iterations=2)


def synthetic_section(rng, rows, cols):
    """One synthetic seismic section and its salt mask.

    Parameters
    ----------
    rng : numpy.random.Generator
    rows, cols : int
        Size in tiles.

    Returns
    -------
    image : (rows * 101, cols * 101) ndarray of uint8
    salt : (rows * 101, cols * 101) ndarray of bool
    """
    height, width = rows * TILE, cols * TILE
    y = np.arange(height, dtype=float)[:, None]
    x = np.arange(width, dtype=float)[None, :]
    salt = _salt_bodies(rng, height, width)

    # Geologic time: folds, dip, and drag of the layers up against the salt flanks.
    fold = np.zeros(width)
    for k in range(3):
        fold += rng.uniform(4, 30) / (k + 1) * np.sin(2 * np.pi * x[0] / rng.uniform(150, 800) + rng.uniform(0, 6.3))
    dip = rng.uniform(-0.2, 0.2)
    time = y + fold[None, :] * (0.4 + 0.6 * y / height) + dip * x
    if salt.any():
        outside = ndimage.distance_transform_edt(~salt)
        time -= 25 * np.exp(-outside / 30.0)

    # A sparse reflectivity series along geologic time, convolved with a wavelet.
    t0, t1 = np.floor(time.min()) - 20, np.ceil(time.max()) + 20
    samples = np.arange(t0, t1 + 1)
    reflectivity = rng.standard_normal(samples.size) * (rng.random(samples.size) < 0.3)
    reflectivity += 0.15 * rng.standard_normal(samples.size)
    period = rng.uniform(4.0, 8.0)
    trace = np.convolve(reflectivity, _ricker(41, period), mode="same")
    trace /= trace.std() + 1e-9
    amplitude = np.interp(time, samples, trace)
    amplitude *= 1 + 0.15 * _smooth_noise(rng, (height, width), 40)

    if salt.any():
        inside = ndimage.distance_transform_edt(salt)
        chaotic = ndimage.gaussian_filter(rng.standard_normal((height, width)), (1.5, 3.0))
        chaotic /= chaotic.std() + 1e-9
        amplitude = np.where(salt, 0.25 * chaotic, amplitude)
        signed = np.where(salt, -inside, outside)
        amplitude += 1.3 * np.exp(-(signed / 2.0) ** 2) * np.sign(rng.standard_normal() + 2)

    amplitude += 0.15 * rng.standard_normal((height, width))
    gain = rng.uniform(28, 45)
    image = np.clip(rng.uniform(110, 140) + gain * amplitude, 0, 255).astype(np.uint8)
    return image, salt


def make_sample(out_dir, n_train=400, n_test=100, seed=0, overwrite=False):
    """Write a synthetic dataset in the competition layout.

    Parameters
    ----------
    out_dir : str or Path
        Created; must be empty or absent unless `overwrite`.
    n_train, n_test : int
        Labelled and unlabelled tiles.
    seed : int
        Same seed, same files.
    overwrite : bool
        Allow writing into a folder that already holds files.

    Returns
    -------
    out_dir : Path

    Notes
    -----
    Writes ``train/images``, ``train/masks``, ``train.csv``, ``test/images``,
    ``depths.csv`` and ``sample_layout.csv`` (``id,split,section,row,col``: the true
    place of each tile). Train and test tiles are drawn from the same sections, so
    mosaics mix both.
    """
    if n_train < 0 or n_test < 0 or n_train + n_test < 1:
        raise SaltviewerError(f"--n-train and --n-test must be non-negative with at least one tile; "
                              f"got {n_train} and {n_test}.")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise SaltviewerError(f"{out_dir}: is a file; expected a folder for the sample.")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise SaltviewerError(f"{out_dir}: is not empty; choose a new folder (the sample never overwrites files).")
    rng = np.random.default_rng(seed)
    total = n_train + n_test
    tiles = []   # (section, row, col, image, mask, depth)
    section = 0
    while len(tiles) < total * 1.3 + 30:
        rows, cols = int(rng.integers(3, 6)), int(rng.integers(5, 10))
        image, salt = synthetic_section(rng, rows, cols)
        top = rng.uniform(20, 450)
        for r in range(rows):
            for c in range(cols):
                window = np.s_[r * TILE:(r + 1) * TILE, c * TILE:(c + 1) * TILE]
                depth = round(top + (r + 0.5) * TILE)
                tiles.append((section, r, c, image[window], salt[window], depth))
        section += 1
    # Keep about 40% of tiles without salt, as in the competition data.
    empty = np.array([not t[4].any() for t in tiles])
    empty_idx = rng.permutation(np.flatnonzero(empty))
    salt_idx = rng.permutation(np.flatnonzero(~empty))
    n_empty = min(len(empty_idx), max(total - len(salt_idx), round(EMPTY_SHARE * total)))
    order = rng.permutation(np.concatenate([empty_idx[:n_empty], salt_idx[:total - n_empty]]))
    ids = {}   # a dict, not a set: its order is the order of the draws, whatever PYTHONHASHSEED is
    while len(ids) < total:
        ids[f"{int(rng.integers(0, 16 ** 10)):010x}"] = None
    ids = sorted(ids, key=lambda _: rng.random())

    for sub in ("train/images", "train/masks", "test/images"):
        (out_dir / sub).mkdir(parents=True, exist_ok=True)
    layout_rows, train_rows, depth_rows = [], [], []
    for k, (tile_index, tile_id) in enumerate(zip(order, ids)):
        sec, r, c, image, mask, depth = tiles[tile_index]
        split = "train" if k < n_train else "test"
        rgb = np.repeat(image[:, :, None], 3, axis=2)
        Image.fromarray(rgb).save(out_dir / split / "images" / f"{tile_id}.png", compress_level=1)
        if split == "train":
            Image.fromarray(np.where(mask, 255, 0).astype(np.uint8)).save(
                out_dir / "train" / "masks" / f"{tile_id}.png", compress_level=1)
            train_rows.append((tile_id, rle_encode(mask)))
        layout_rows.append((tile_id, split, sec, r, c))
        depth_rows.append((tile_id, depth))
    _write_csv(out_dir / "train.csv", ("id", "rle_mask"), train_rows)
    _write_csv(out_dir / "depths.csv", ("id", "z"), depth_rows)
    _write_csv(out_dir / "sample_layout.csv", ("id", "split", "section", "row", "col"), layout_rows)
    return out_dir


def _write_csv(path, header, rows):
    with atomic_open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
