"""The triage grid's picture, pixel by pixel (no Qt): tiles enlarged, outlines, heat map, marks, cursor."""

import numpy as np

from saltviewer.plugins.review.outlines import mask_outline, rgba
from saltviewer.plugins.review.triage import MARK_COLOURS, GridLayout, TriageCell, render_cell, render_page


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


def test_salt_reads_at_a_glance_and_a_disputed_tile_shows_each_version_and_a_mark():
    """Outlines alone made a 96% salt proposal look like an empty tile and hid disputed tiles under a red fill:
    now the proposal is a translucent fill inside its outline, the caption gives its salt share, and a disputed
    tile shows each version's outline in its colour, a corner mark, no heat fill, the versions' shares."""
    from saltviewer.plugins.common.style import version_colour
    from saltviewer.plugins.review.triage import _BADGE, _DISPUTED_RGB

    layout = GridLayout(cols=3, rows=1, scale=2)
    full = np.ones((101, 101), bool)
    full[:, :4] = False                                              # 96% salt
    empty = np.zeros((101, 101), bool)
    left = np.zeros((101, 101), bool)
    left[:, :50] = True
    split = np.full((101, 101), 0.5, np.float32)
    disputed = TriageCell(tile="d", image=np.full((101, 101), 100, np.uint8), proposed=left, truth=None,
                          split_pixels=split, disagreement=0.9, why="disputed", state="proposed",
                          members=[empty, left])
    cells = [_cell("full", 100, proposed=full), _cell("empty", 100, proposed=empty), disputed]
    picture = render_page(cells, layout)

    salted = _tile_view(picture, layout, 0)
    inside, outside = salted[100, 100].astype(int), salted[100, 2].astype(int)
    assert (outside == 100).all()                                    # the image itself where there is no salt
    assert inside[0] > 130 and inside[0] - inside[2] > 60            # salt: tinted orange, clearly
    assert (_tile_view(picture, layout, 1)[2:, 2:] == 100).all()     # an empty proposal: the bare tile
    d = _tile_view(picture, layout, 2)
    member_outline = np.repeat(np.repeat(mask_outline(left), 2, axis=0), 2, axis=1)
    assert (d[member_outline] == rgba(version_colour(1))[:3]).all()  # the second version's outline
    assert (d[150, 40] == 100).all() and (d[150, 160] == 100).all()  # no fill, no red heat over the tile
    assert (d[2, layout.size - 3] == _DISPUTED_RGB).all() and (d[_BADGE + 4, layout.size - 3] == 100).all()
    assert [cell.salt for cell in cells] == ["96% salt", "0% salt", "0–50% salt"]


def test_batch_preview_thumbnails_fill_the_salt_too():
    from saltviewer.plugins.review.outlines import salt_picture, salt_share

    image = np.full((101, 101), 90, np.uint8)
    mask = np.zeros((101, 101), bool)
    mask[20:80, 20:80] = True
    rgb = salt_picture(image, mask)
    assert (rgb[50, 50] != 90).any() and rgb[50, 50, 0] - rgb[50, 50, 2] > 60       # inside: salt
    assert (rgb[20, 50] == rgba("#ff8c1a")[:3]).all() and (rgb[5, 5] == 90).all()  # outline; outside untouched
    assert (salt_share(mask), salt_share(np.zeros((4, 4), bool)), salt_share(1.0)) == ("35%", "0%", "100%")
