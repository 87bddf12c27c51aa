"""The triage grid without Qt: a page of queued tiles drawn as one RGB picture, and the marks on it.

A page shows ``cols x rows`` tiles of the queue in its order, each at twice its size with
the proposed mask as a translucent orange fill inside its outline (salt reads as salt, an
empty proposal as an empty tile, at a glance), the training mask's outline (white) for
label checks, the pixels where the model versions disagree (a light red) and a caption: the
tile id, the salt share of the proposal, why it is queued (in the reason's colour) and its
disagreement. A disputed tile has no proposal to fill: each model version's outline is drawn
in its colour, a corner mark flags it and the caption gives the versions' salt shares. A
frame says the mark a person gave the tile: accept (green), reject (red), open for
correction (blue); the cursor is a white frame.

Everything a page needs is read at once: the items with their masks in one store query,
the images in one dataset read, the members' masks tile by tile from the ensemble.
"""

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .outlines import mask_outline, rgba, salt_share

__all__ = ["TriageCell", "load_cells", "GridLayout", "render_page", "render_cell", "MARKS", "MARK_COLOURS"]

MARKS = ("accept", "reject", "open")
MARK_COLOURS = {"accept": "#5bd778", "reject": "#ff6b6b", "open": "#4fb3ff", None: "#3a3f47"}
_SYMBOLS = {"accept": "\u2713 accept", "reject": "\u2717 reject", "open": "\u270e open"}
_SALT = "#ff8c1a"


@dataclass
class TriageCell:
    """One tile of a page.

    Attributes
    ----------
    tile : str
    image : (101, 101) ndarray of uint8
    proposed : (101, 101) ndarray of bool or None
    truth : (101, 101) ndarray of bool or None
        The training mask of a labelled tile.
    split_pixels : (101, 101) ndarray of float32 or None
        Share of the model versions that disagree with the majority at each pixel (0 to 0.5).
    disagreement : float
        The item's disagreement score.
    why : str
        Why it is queued (`saltviewer.store.reason_of`).
    state : str
    criterion : str
        The item's criterion code (what a batch may take is the store's rule on it).
    kind : {"pseudo", "label"}
    members : list of (101, 101) ndarray of bool or None
        Each model version's mask, kept for a disputed tile (drawn instead of a proposal).
    """

    tile: str
    image: np.ndarray
    proposed: object
    truth: object
    split_pixels: object
    disagreement: float
    why: str
    state: str
    criterion: str = ""
    kind: str = "pseudo"
    members: object = None

    @property
    def disputed(self):
        return self.why == "disputed"

    @property
    def salt(self):
        """The salt share as the caption gives it: ``"42% salt"``; for a disputed tile the versions' range."""
        if self.disputed and self.members is not None and len(self.members):
            shares = [float(np.mean(m)) for m in self.members]
            low, high = salt_share(min(shares)), salt_share(max(shares))
            return f"{low} salt" if low == high else f"{low.rstrip('%')}–{high} salt"
        return "" if self.proposed is None else f"{salt_share(self.proposed)} salt"

    @property
    def batch_acceptable(self):
        """True when "accept the rest" may take it: proposed, and a batch may accept it (the store's rule)."""
        from saltviewer.store.reasons import batch_acceptable

        return self.state == "proposed" and batch_acceptable(self.criterion, self.kind)


def load_cells(reviewer, tiles):
    """The `TriageCell` of each tile id (in the order given) from the reviewer's store, dataset and ensemble."""
    dataset = reviewer.dataset
    items = {item.tile: item for item in reviewer.store.items(dataset, tiles=tiles, masks=True, scores=False)}
    indices = np.array([dataset.index(t) for t in tiles], np.int64)
    images = dataset.images(indices) if len(indices) else np.zeros((0, 101, 101), np.uint8)
    cells = []
    ensemble = reviewer.ensemble
    for k, tile in enumerate(tiles):
        item = items.get(tile)
        split = members = None
        if ensemble is not None and ensemble.predicted[indices[k]]:
            view = ensemble.tile(int(indices[k]))
            split = view.disagreement
            if item is not None and item.disputed:
                members = list(view.member_masks)
        truth = dataset.mask(int(indices[k])) if dataset.has_mask[indices[k]] else None
        cells.append(TriageCell(
            tile=tile, image=np.asarray(images[k]), proposed=None if item is None else item.proposed_mask,
            truth=truth, split_pixels=split, disagreement=0.0 if item is None else float(item.disagreement),
            why="not queued" if item is None else item.why, state="not proposed" if item is None else item.state,
            criterion="" if item is None else item.criterion,
            kind=reviewer.kind_of(tile) if item is None else item.kind, members=members))
    return cells


@dataclass
class GridLayout:
    """Where each tile of a page goes in the picture.

    Parameters
    ----------
    cols, rows : int
    scale : int
        Pixels per tile pixel (2: a 101-pixel tile is drawn 202 pixels wide).
    """

    cols: int = 6
    rows: int = 4
    scale: int = 2
    frame: int = 6
    caption: int = 46

    @property
    def size(self):
        return 101 * self.scale

    @property
    def cell_shape(self):
        """(height, width) of one cell in picture pixels."""
        return self.size + 2 * self.frame + self.caption, self.size + 2 * self.frame

    @property
    def shape(self):
        """(height, width, 3) of the whole picture."""
        h, w = self.cell_shape
        return h * self.rows, w * self.cols, 3

    def __len__(self):
        return self.cols * self.rows

    def origin(self, k):
        """Top-left corner (y, x) of cell `k`."""
        h, w = self.cell_shape
        return (k // self.cols) * h, (k % self.cols) * w

    def cell_at(self, y, x):
        """The cell under picture pixel (y, x), or None outside the grid."""
        h, w = self.cell_shape
        if y < 0 or x < 0:
            return None
        row, col = int(y // h), int(x // w)
        if row >= self.rows or col >= self.cols:
            return None
        return row * self.cols + col


def render_page(cells, layout, marks=None, cursor=None):
    """The page as one RGB picture.

    Parameters
    ----------
    cells : list of TriageCell
        At most ``len(layout)``; empty places stay dark.
    layout : GridLayout
    marks : dict of str to str, optional
        Tile id -> ``"accept"``, ``"reject"`` or ``"open"``.
    cursor : int, optional
        The cell with the cursor.

    Returns
    -------
    picture : (H, W, 3) ndarray of uint8
    """
    from PIL import Image, ImageDraw

    out = np.empty(layout.shape, np.uint8)
    out[...] = _BACKGROUND
    marks = marks or {}
    cells = cells[:len(layout)]
    for k, cell in enumerate(cells):
        _draw_tile(out, k, cell, layout, marks.get(cell.tile), k == cursor)
    picture = Image.fromarray(out)                 # every caption in one drawing
    draw = ImageDraw.Draw(picture)
    for k, cell in enumerate(cells):
        y0, x0 = layout.origin(k)
        _caption(draw, (y0 + layout.size + 2 * layout.frame, x0), layout, cell, marks.get(cell.tile))
    out[...] = np.asarray(picture)
    return out


def render_cell(out, k, cell, layout, mark=None, cursor=False):
    """Draw cell `k` of `out` in place (after a mark or the cursor changed)."""
    from PIL import Image, ImageDraw

    _draw_tile(out, k, cell, layout, mark, cursor)
    h, w = layout.cell_shape
    y0, x0 = layout.origin(k)
    view = out[y0:y0 + h, x0:x0 + w]
    picture = Image.fromarray(np.ascontiguousarray(view))
    _caption(ImageDraw.Draw(picture), (layout.size + 2 * layout.frame, 0), layout, cell, mark)
    view[...] = np.asarray(picture)
    return out


_BACKGROUND = (24, 26, 30)


def _draw_tile(out, k, cell, layout, mark, cursor):
    """The frame (mark, cursor) and the tile with its heat map and outlines, in place; the caption strip cleared."""
    h, w = layout.cell_shape
    y0, x0 = layout.origin(k)
    view = out[y0:y0 + h, x0:x0 + w]
    view[...] = _BACKGROUND
    frame, size, s = layout.frame, layout.size, layout.scale
    framed = view[:size + 2 * frame, :]
    framed[...] = rgba(MARK_COLOURS[mark])[:3]
    if cursor:                                            # a white ring, 2 pixels wide
        framed[:2], framed[-2:], framed[:, :2], framed[:, -2:] = 255, 255, 255, 255
    # the tile at its own size first (fill and heat map blended on 10,201 pixels), then enlarged
    rgb = np.repeat(np.asarray(cell.image, np.uint8)[..., None], 3, axis=2).astype(np.float32)
    proposed = None if cell.disputed or cell.proposed is None else np.asarray(cell.proposed, bool)
    if proposed is not None and proposed.any():          # salt as a translucent fill: seen at a glance
        rgb[proposed] = rgb[proposed] * (1 - _FILL) + _SALT_RGB * _FILL
    if cell.split_pixels is not None and np.any(cell.split_pixels) and not cell.disputed:
        alpha = (np.clip(cell.split_pixels / 0.5, 0, 1) * _HEAT_ALPHA)[..., None]
        rgb = rgb * (1 - alpha) + _HEAT * alpha
    rgb = rgb.astype(np.uint8)
    if mark == "reject":
        rgb //= 2                                         # a rejected tile is dimmed
    # the tile enlarged s times through a (101, 101, s, s, 3) view: each pixel becomes an s x s block
    blocks = view[frame:frame + size, frame:frame + size].reshape(101, s, 101, s, 3).transpose(0, 2, 1, 3, 4)
    blocks[...] = rgb[:, :, None, None, :]
    if cell.truth is not None:
        blocks[mask_outline(cell.truth)] = 255             # one tile pixel wide: s screen pixels
    if cell.disputed and cell.members is not None:       # no proposal: each version's outline in its colour
        from ..common.style import version_colour

        for position, member in enumerate(cell.members):
            blocks[mask_outline(member)] = rgba(version_colour(position))[:3]
    elif proposed is not None and proposed.any():
        blocks[mask_outline(proposed)] = _SALT_RGB
    if cell.disputed:                                     # a corner mark, seen before the caption is read
        corner = view[frame:frame + _BADGE, frame + size - _BADGE:frame + size]
        y, x = np.mgrid[:_BADGE, :_BADGE]
        corner[x >= y] = _DISPUTED_RGB                    # a triangle in the tile's top right corner


_HEAT = np.array((255, 59, 59), np.float32)
_HEAT_ALPHA = 0.35        # at most: the image and the salt fill stay readable under it
_FILL = 0.38              # opacity of the salt fill
_SALT_RGB = rgba(_SALT)[:3]
_DISPUTED_RGB = rgba("#ff9e40")[:3]      # the "disputed" state colour (common.style.STATE_COLOURS)
_BADGE = 26               # side of the disputed corner mark, in picture pixels


@lru_cache(maxsize=4)
def _font(size):
    from PIL import ImageFont

    try:
        import os

        import matplotlib

        path = os.path.join(os.path.dirname(matplotlib.__file__), "mpl-data", "fonts", "ttf", "DejaVuSans.ttf")
        return ImageFont.truetype(path, size)
    except Exception:    # no matplotlib font: Pillow's own
        return ImageFont.load_default(size)


def _caption(draw, origin, layout, cell, mark):
    """Two lines under a tile: its id and salt share; why it is queued (or its mark) and its disagreement."""
    from saltviewer.store import REASON_COLOURS

    from ..common.style import WHY_SHORT

    y0, x0 = origin
    width = layout.cell_shape[1]
    line = layout.caption // 4
    font = _font(19)
    why_colour = REASON_COLOURS.get(cell.why, "#c0c4cc")
    light = (225, 228, 232)
    draw.text((x0 + 4, y0 + line), cell.tile, fill=light, font=font, anchor="lm")
    salt = cell.salt                                  # "12–21% salt", "12–21%" where the id leaves no room
    if salt and font.getlength(cell.tile) + font.getlength(salt) + 14 > width:
        salt = salt.replace(" salt", "")
    draw.text((x0 + width - 4, y0 + line), salt, fill=_SALT_TEXT, font=font, anchor="rm")
    text = _SYMBOLS[mark] if mark else WHY_SHORT.get(cell.why, cell.why)
    draw.text((x0 + 4, y0 + 3 * line), text, fill=MARK_COLOURS[mark] if mark else why_colour, font=font,
              anchor="lm")
    right = WHY_SHORT.get(cell.why, cell.why) if mark else f"{cell.disagreement:.2f}"
    draw.text((x0 + width - 4, y0 + 3 * line), right, fill=why_colour if mark else light, font=font, anchor="rm")


_SALT_TEXT = (255, 176, 102)    # the salt colour, lighter: readable as text on the dark caption
