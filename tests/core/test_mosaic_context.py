"""Context windows: a tile with its placed neighbours' pixels around it, mirrored where none."""

import numpy as np
import pytest

from saltviewer import SaltviewerError
from saltviewer.mosaic import Mosaic, Mosaics, context_windows
from saltviewer.sample import synthetic_section

TILE = 101


def _square():
    """Three tiles on a 2x2 grid: a b / c ."""
    return Mosaic(0, ["a", "b", "c"], [0, 0, 1], [0, 1, 0])


def _window_reference(mosaic, tiles, tile, margin):
    """Pixel by pixel: a neighbour's pixel where one is placed, else the tile mirrored."""
    def mirror(i):
        return -i if i < 0 else (2 * (TILE - 1) - i if i >= TILE else i)

    r, c = mosaic.position(tile)
    size = TILE + 2 * margin
    out = np.zeros((size, size), tiles[tile].dtype)
    for y in range(size):
        for x in range(size):
            gy, gx = y - margin, x - margin                 # relative to the tile's top-left pixel
            dr, dc = gy // TILE, gx // TILE
            other = mosaic.at(r + dr, c + dc)
            if other is not None:
                out[y, x] = tiles[other][gy - dr * TILE, gx - dc * TILE]
            else:
                out[y, x] = tiles[tile][mirror(gy), mirror(gx)]
    return out


def test_context_windows_hold_the_neighbours_pixels_and_mirror_the_rest(tmp_path):
    rng = np.random.default_rng(9)
    image, _ = synthetic_section(rng, 3, 5)
    cells = [(r, c) for r in range(3) for c in range(5) if (r, c) not in ((0, 4), (2, 0))]   # two holes
    ids = [f"t{k:02d}" for k in range(len(cells))]
    tiles = {tile: image[r * TILE:(r + 1) * TILE, c * TILE:(c + 1) * TILE] for tile, (r, c) in zip(ids, cells)}
    stack = np.stack([tiles[t] for t in ids] + [np.zeros((TILE, TILE), np.uint8)])        # one tile in no mosaic
    mosaic = Mosaic(0, ids, [r for r, _ in cells], [c for _, c in cells], indices=range(len(ids)))
    mosaics = Mosaics([mosaic], dataset={"tiles": len(stack)})
    for margin in (0, 13, 40):
        windows, placed = context_windows(mosaics, stack, range(len(stack)), margin)
        for k, tile in enumerate(ids):
            np.testing.assert_array_equal(windows[k], _window_reference(mosaic, tiles, tile, margin))
        np.testing.assert_array_equal(windows[-1], np.pad(stack[-1], margin, mode="reflect"))
        assert not placed[-1].any()
    # the middle tile of the second row has all eight neighbours: its window is the section itself
    k = ids.index(mosaic.at(1, 2))
    windows, placed = context_windows(mosaics, lambda i: stack[i], [k], 20)
    np.testing.assert_array_equal(windows[0], image[TILE - 20:2 * TILE + 20, 2 * TILE - 20:3 * TILE + 20])
    assert placed.all()
    with pytest.raises(SaltviewerError, match="margin"):
        context_windows(mosaics, stack, [0], 200)
    with pytest.raises(SaltviewerError, match="bound"):
        context_windows(Mosaics([_square()]), stack, [0], 5)
