"""Cut a section into overlapping 101 x 101 tiles and blend per-tile predictions back.

A section image is ``(samples, traces)`` (depth down). Tiles sit on one grid per section:
along each axis they start every ``101 - overlap`` pixels from 0, and the last tile is put
flush with the far edge, so every pixel is covered and no tile hangs over. A section
shorter than a tile is padded by reflection and cropped again.

Overlapping predictions are blended with a weighted window, high in a tile's middle and low
(never zero) at its edges, where the model sees least context: a pixel's value is
``sum(w_k p_k) / sum(w_k)`` over the tiles k that cover it. A constant prediction blends to
the same constant.

`predict_section` can work on a part of a section (``origin`` and ``region``): it then uses
the tiles of the *whole* section's grid that touch the region, so a section predicted in
blocks (with a halo of one tile on each side, as the Dask path does) gives the same values
as the section predicted at once.
"""

import numpy as np

from .._errors import SaltviewerError
from ..rle import TILE_SHAPE

__all__ = ["TILE", "tile_starts", "tile_grid", "blend_window", "predict_section", "check_overlap", "check_tileable"]

TILE = TILE_SHAPE[0]
_FLOOR = np.float32(0.01)


def check_overlap(overlap, tile=TILE):
    """`overlap` as an int in ``0 .. tile - 1``, or a clear error."""
    try:
        value = int(overlap)
    except (TypeError, ValueError):
        value = None
    if value is None or value != overlap or not 0 <= value < tile:
        raise SaltviewerError(f"--overlap must be a whole number of pixels from 0 to {tile - 1}; got {overlap!r}.")
    return value


def check_tileable(data, direction="inline", tile=TILE):
    """Refuse, in one line, a line or volume whose sections are smaller than a tile.

    Parameters
    ----------
    data : SeismicData
    direction : {"inline", "crossline"}
        For a volume: the sections that would be cut or predicted.

    Raises
    ------
    SaltviewerError
        ``<file>: sections are H samples x W traces; tiles need at least 101 x 101.`` (for a
        volume, naming the sections and, when the other direction would do, saying so).
    """
    height, width = data.section_shape(direction)
    if height >= tile and width >= tile:
        return
    if data.kind == "line":
        what = f"the line is {height} samples x {width} traces"
    else:
        what = f"its {direction} sections are {height} samples x {width} traces"
        other = "crossline" if direction == "inline" else "inline"
        if min(data.section_shape(other)) >= tile:
            what += f" (its {other} sections, --direction {other}, are {data.section_shape(other)[1]} traces wide)"
    raise SaltviewerError(f"{data.path}: {what}; tiles need at least {tile} x {tile}.")


def tile_starts(length, tile=TILE, overlap=0):
    """Start of each tile along an axis of `length` pixels.

    Examples
    --------
    >>> tile_starts(300, 101, 50).tolist()
    [0, 51, 102, 153, 199]
    >>> tile_starts(60).tolist()
    [0]
    """
    overlap = check_overlap(overlap, tile)
    if length <= tile:
        return np.zeros(1, np.int64)
    starts = np.arange(0, length - tile + 1, tile - overlap, dtype=np.int64)
    if starts[-1] != length - tile:
        starts = np.append(starts, length - tile)
    return starts


def tile_grid(shape, overlap=0, tile=TILE):
    """Row and column starts of every tile of a ``(height, width)`` section, row-major.

    Returns
    -------
    rows, cols : (n,) ndarray of int64
    """
    rows = tile_starts(shape[0], tile, overlap)
    cols = tile_starts(shape[1], tile, overlap)
    r, c = np.meshgrid(rows, cols, indexing="ij")
    return r.reshape(-1), c.reshape(-1)


def blend_window(tile=TILE):
    """The blending weights of one tile: ``0.01 + sin^2`` along each axis, multiplied.

    Returns
    -------
    window : (tile, tile) ndarray of float32
        Largest in the middle, about 0.01 at the edges, never 0.
    """
    ramp = (_FLOOR + np.sin(np.pi * (np.arange(tile) + 0.5) / tile) ** 2).astype(np.float32)
    return np.outer(ramp, ramp).astype(np.float32)


def predict_section(image, predict, overlap=50, *, origin=0, full_width=None, region=None, batch=256, tile=TILE,
                    mute=None):
    """Blended per-tile predictions over a section (or a run of its columns).

    Parameters
    ----------
    image : (H, w) ndarray of float
        The section's amplitudes, or columns ``origin .. origin + w`` of a section
        `full_width` wide (for a part, it must hold every grid tile that touches `region`:
        a halo of ``tile - 1`` columns on each side does).
    predict : callable
        ``predict(tiles, rows) -> probabilities``: tiles ``(n, tile, tile)`` float32
        amplitudes and their row starts ``(n,)``; returns ``(n, tile, tile)`` float.
    overlap : int
        Pixels shared by neighbouring tiles (0 .. tile - 1).
    origin : int
        Column of the section where `image` starts.
    full_width : int, optional
        Width of the whole section (default: `image`'s).
    region : (int, int), optional
        Columns of the section to return (default: all of `image`).
    batch : int
        Tiles predicted at a time (memory: about ``batch * tile^2 * 12`` bytes).
    mute : Mute, optional
        Quiet zones (`saltviewer.seismic.quiet`): the model sees each tile with its own data
        mirrored into them (`Mute.fill`), the result is 0 there, and each tile's blending
        weight is multiplied by `Mute.tile_weight` of its share of quiet samples.

    Returns
    -------
    blended : (H, region width) ndarray of float32
    """
    image = np.asarray(image, np.float32)
    height, width = image.shape
    full_width = width if full_width is None else int(full_width)
    c0, c1 = (origin, origin + width) if region is None else (int(region[0]), int(region[1]))
    if not origin <= c0 <= c1 <= origin + width:
        raise SaltviewerError(f"region {c0}..{c1} lies outside the columns {origin}..{origin + width} given.")
    if height < tile:           # a short section: rows padded by reflection, cropped at the end
        padded = _pad_to(image, tile, axis=0)
        return predict_section(padded, predict, overlap, origin=origin, full_width=full_width, region=(c0, c1),
                               batch=batch, tile=tile, mute=mute)[:height]
    if full_width < tile:       # a narrow section: the same with columns (only whole)
        if origin != 0 or width != full_width:
            raise SaltviewerError("a section narrower than a tile must be predicted whole.")
        return predict_section(_pad_to(image, tile, axis=1), predict, overlap, batch=batch, tile=tile,
                               mute=mute)[:, c0:c1]
    rows = tile_starts(height, tile, overlap)
    cols = tile_starts(full_width, tile, overlap)
    cols = cols[(cols < c1) & (cols + tile > c0)]
    if len(cols) and (cols[0] < origin or cols[-1] + tile > origin + width):
        raise SaltviewerError(f"columns {origin}..{origin + width} do not hold every tile touching {c0}..{c1}; "
                              f"give a halo of {tile - 1} columns.")
    window = blend_window(tile)
    quiet = None if mute is None else mute.zones(image)
    total = np.zeros((height, c1 - c0), np.float32)
    weight = np.zeros((height, c1 - c0), np.float32)
    r_all, c_all = np.meshgrid(rows, cols, indexing="ij")
    r_all, c_all = r_all.reshape(-1), c_all.reshape(-1)
    for start in range(0, len(r_all), batch):
        r, c = r_all[start:start + batch], c_all[start:start + batch]
        tiles = np.stack([image[y:y + tile, x - origin:x - origin + tile] for y, x in zip(r, c)])
        if quiet is not None:                    # the model sees the tile's data mirrored into its quiet parts
            tiles = mute.fill(tiles, np.stack([quiet[y:y + tile, x - origin:x - origin + tile]
                                               for y, x in zip(r, c)]))
        probabilities = np.asarray(predict(tiles, r), np.float32)
        if probabilities.shape != tiles.shape:
            raise SaltviewerError(f"predict returned {probabilities.shape} for tiles {tiles.shape}.")
        bad = np.flatnonzero(np.isnan(probabilities).any(axis=(1, 2)))
        if len(bad):                           # NaN marks the unwritten traces of an output
            raise SaltviewerError(f"predict returned NaN for {len(bad)} of {len(tiles)} tiles (the first at "
                                  f"row {int(r[bad[0]])}, column {int(c[bad[0]])}).")
        for k, (y, x) in enumerate(zip(r, c)):
            a, b = max(x, c0), min(x + tile, c1)
            w = window[:, a - x:b - x]
            if quiet is not None:                # a tile of water or filler gives way to a tile of data
                w = w * np.float32(mute.tile_weight(quiet[y:y + tile, x - origin:x - origin + tile].mean()))
            total[y:y + tile, a - c0:b - c0] += probabilities[k, :, a - x:b - x] * w
            weight[y:y + tile, a - c0:b - c0] += w
    blended = total / weight
    if quiet is not None:
        blended[quiet[:, c0 - origin:c1 - origin]] = 0.0
    return blended


def _pad_to(image, size, axis):
    """`image` padded by reflection (repeated for very short ones) to `size` along `axis`."""
    while image.shape[axis] < size:
        missing = size - image.shape[axis]
        mode = "reflect" if image.shape[axis] > 1 else "edge"
        step = missing if mode == "edge" else min(missing, image.shape[axis] - 1)
        pad = [(0, 0), (0, 0)]
        pad[axis] = (0, step)
        image = np.pad(image, pad, mode=mode)
    return image
