"""The triage grid's picture, pixel by pixel (no Qt): tiles enlarged, outlines, heat map, marks, cursor."""

import numpy as np

from saltviewer.plugins._outlines import mask_outline, rgba
from saltviewer.plugins._triage import MARK_COLOURS, GridLayout, TriageCell, render_cell, render_page


def _cell(tile, value, proposed=None, truth=None, split=None):
    image = np.full((101, 101), value, np.uint8)
    image[0, 0] = 7                                    # one odd pixel: where it lands shows the enlargement
    return TriageCell(tile=tile, image=image, proposed=proposed, truth=truth, split_pixels=split,
                      disagreement=0.25, why="confident salt", state="proposed")


def _tile_view(picture, layout, k):
    y0, x0 = layout.origin(k)
    f = layout.frame
    return picture[y0 + f:y0 + f + layout.size, x0 + f:x0 + f + layout.size]


def test_page_draws_each_tile_enlarged_with_its_outlines_and_marks():
    layout = GridLayout(cols=3, rows=2, scale=2)
    salt = np.zeros((101, 101), bool)
    salt[30:70, 20:60] = True
    truth = np.zeros((101, 101), bool)
    truth[10:20, 80:95] = True
    split = np.zeros((101, 101), np.float32)
    split[90:, :10] = 0.5
    cells = [_cell("a", 100, proposed=salt), _cell("b", 200, truth=truth, split=split), _cell("c", 50)]
    picture = render_page(cells, layout, marks={"b": "accept", "c": "reject"}, cursor=0)
    assert picture.shape == layout.shape and picture.dtype == np.uint8

    a = _tile_view(picture, layout, 0)
    assert (a[:2, :2] == 7).all() and (a[2:4, :2] == 100).all()          # each tile pixel is 2 x 2
    outline = np.repeat(np.repeat(mask_outline(salt), 2, axis=0), 2, axis=1)
    np.testing.assert_array_equal(np.all(a == rgba("#ff8c1a")[:3], axis=-1), outline)
    b = _tile_view(picture, layout, 1)
    truth_outline = np.repeat(np.repeat(mask_outline(truth), 2, axis=0), 2, axis=1)
    assert (b[truth_outline] == 255).all()
    assert b[190, 5, 0] > b[190, 5, 1]                                   # the heat map is red where they split
    assert (b[100, 100] == 200).all()                                    # and untouched elsewhere
    c = _tile_view(picture, layout, 2)
    assert (c[10, 10] == 25).all()                                       # a rejected tile is dimmed
    # frames: the mark's colour, the cursor a white ring
    y0, x0 = layout.origin(1)
    assert (picture[y0 + 3, x0 + 50] == rgba(MARK_COLOURS["accept"])[:3]).all()
    y0, x0 = layout.origin(0)
    assert (picture[y0, x0 + 50] == 255).all() and (picture[y0 + 3, x0 + 50] == rgba(MARK_COLOURS[None])[:3]).all()
    # the caption strip under a tile has text (light pixels) in it; empty cells stay background
    y0, x0 = layout.origin(0)
    caption = picture[y0 + layout.size + 2 * layout.frame:y0 + layout.cell_shape[0], x0:x0 + layout.cell_shape[1]]
    assert (caption.max(axis=-1) > 150).sum() > 50
    y0, x0 = layout.origin(4)
    assert (picture[y0:y0 + layout.cell_shape[0], x0:x0 + layout.cell_shape[1]] == (24, 26, 30)).all()


def test_redrawing_one_cell_gives_the_same_picture_as_drawing_the_page():
    layout = GridLayout(cols=2, rows=1, scale=2)
    cells = [_cell("a", 90), _cell("b", 160)]
    page = render_page(cells, layout, marks={}, cursor=None)
    again = render_cell(page.copy(), 1, cells[1], layout, mark="open", cursor=True)
    assert not np.array_equal(again, page)
    whole = render_page(cells, layout, marks={"b": "open"}, cursor=1)
    np.testing.assert_array_equal(again, whole)
