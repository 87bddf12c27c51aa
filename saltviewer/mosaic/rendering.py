"""A stitched mosaic drawn as an RGB picture: tiles, mask outlines, tile names, bad edges."""

import numpy as np

from .._errors import SaltviewerError
from .edges import as_bool, boundary_consistency
from .grid import getter, stitch

__all__ = ["render_mosaic"]


def render_mosaic(mosaic, images, masks=None, *, scale=2, names=True, grid=True, scores=None, min_mismatch=3,
                  mask_colour=(255, 214, 0), fill_alpha=0.2, missing_colour=(40, 48, 64)):
    """A stitched mosaic as an RGB picture: tiles, mask outlines, tile names, bad edges.

    Parameters
    ----------
    mosaic : Mosaic
    images : callable, mapping or array
        As for `stitch`.
    masks : callable, mapping or array, optional
        Outlined in `mask_colour`, and tinted with it at `fill_alpha`.
    scale : int
        Each pixel becomes a ``scale`` x ``scale`` block.
    names : bool
        Write each tile's id in its top-left corner, on green where the tile has a mask
        (so a labelled tile without salt shows as labelled).
    grid : bool
        Outline the tiles.
    scores : list of BoundaryScore, optional
        Edges with at least `min_mismatch` mismatched pixels are drawn in red (default:
        computed from `masks`).

    Returns
    -------
    picture : (rows * 101 * scale, cols * 101 * scale, 3) ndarray of uint8
    """
    from PIL import Image, ImageDraw
    from skimage.segmentation import find_boundaries

    if not (isinstance(scale, (int, np.integer)) and scale >= 1):
        raise SaltviewerError(f"scale must be a positive integer, got {scale!r}.")
    height, width = 101, 101
    image = stitch(mosaic, images, fill=0, dtype=np.uint8)
    present = stitch(mosaic, {tile: np.ones((height, width), bool) for tile in mosaic.ids}, fill=False)
    picture = np.repeat(image[:, :, None], 3, axis=2)
    picture[~present] = missing_colour
    if masks is not None:
        get = getter(masks, mosaic)
        bool_masks = {}
        for k, tile in enumerate(mosaic.ids):
            value = get(k)
            if value is not None:
                bool_masks[tile] = as_bool(np.asarray(value))
        stitched = stitch(mosaic, bool_masks, fill=False, dtype=bool)
        tint = np.asarray(mask_colour, dtype=float)
        picture[stitched] = np.rint((1 - fill_alpha) * picture[stitched] + fill_alpha * tint).astype(np.uint8)
        outline = find_boundaries(stitched, mode="inner")
        picture[outline] = mask_colour
        if scores is None:
            scores = boundary_consistency(mosaic, bool_masks)
    picture = np.repeat(np.repeat(picture, scale, axis=0), scale, axis=1)
    canvas = Image.fromarray(picture)
    draw = ImageDraw.Draw(canvas)
    h, w = height * scale, width * scale
    if grid:
        for tile, r, c in zip(mosaic.ids, mosaic.rows, mosaic.cols):
            draw.rectangle([c * w, r * h, (c + 1) * w - 1, (r + 1) * h - 1], outline=(0, 200, 255))
    for s in scores or ():
        if s.mismatch < min_mismatch:
            continue
        r, c = s.row, s.col
        if s.kind == "right":
            x = (c + 1) * w
            draw.rectangle([x - 2, r * h, x + 1, (r + 1) * h - 1], fill=(255, 40, 40))
        else:
            y = (r + 1) * h
            draw.rectangle([c * w, y - 2, (c + 1) * w - 1, y + 1], fill=(255, 40, 40))
    if names:
        labelled = set(bool_masks) if masks is not None else set()
        for tile, r, c in zip(mosaic.ids, mosaic.rows, mosaic.cols):
            x, y = c * w + 3, r * h + 2
            box = draw.textbbox((x, y), tile)
            background = (0, 110, 40) if tile in labelled else (0, 0, 0)
            draw.rectangle([box[0] - 1, box[1] - 1, box[2] + 1, box[3] + 1], fill=background)
            draw.text((x, y), tile, fill=(255, 255, 255))
    return np.asarray(canvas)
