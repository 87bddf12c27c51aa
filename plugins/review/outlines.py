"""Drawing masks for a person to compare: outlines, the disagreement heat map, one RGBA image per tile."""

import numpy as np

__all__ = ["mask_outline", "heat_colours", "outline_image", "rgba", "salt_picture", "salt_share"]


def mask_outline(mask, width=1):
    """The pixels of `mask` that touch the outside (4-connected), `width` pixels deep.

    Parameters
    ----------
    mask : (H, W) ndarray of bool
    width : int

    Returns
    -------
    outline : (H, W) ndarray of bool
    """
    mask = np.asarray(mask, bool)
    inner = mask.copy()
    for _ in range(int(width)):
        shrunk = inner.copy()
        shrunk[1:, :] &= inner[:-1, :]
        shrunk[:-1, :] &= inner[1:, :]
        shrunk[:, 1:] &= inner[:, :-1]
        shrunk[:, :-1] &= inner[:, 1:]
        inner = shrunk
    return mask & ~inner


def rgba(colour):
    """A hex colour (``"#ff8c1a"``) as an opaque (4,) uint8 RGBA array."""
    colour = colour.lstrip("#")
    return np.array([int(colour[k:k + 2], 16) for k in (0, 2, 4)] + [255], np.uint8)


def heat_colours(values, top=0.5, opacity=0.45, colour=(255, 59, 59)):
    """RGBA heat-map colours for values in ``[0, top]``: transparent at 0, most opaque at `top`.

    One hue (the red that marks inconsistencies everywhere in saltviewer) whose opacity
    grows with the value, so the seismic image stays readable under it.

    Returns
    -------
    rgba : (..., 4) ndarray of uint8
    """
    t = np.clip(np.asarray(values, float) / top, 0, 1)
    out = np.empty(t.shape + (4,), np.uint8)
    out[..., :3] = colour
    out[..., 3] = np.rint(255 * opacity * t)
    return out


def outline_image(display, versions=None, consensus=True, truth=True, heat=False, colours=None, extra=None):
    """One RGBA image with the outlines of the masks a person compares, each in its colour.

    Drawing every model version's mask as an outline, and the disagreement heat map under
    them, in a single image layer keeps the canvas to three layers, so stepping from tile
    to tile stays fast with many versions (each layer costs a draw).

    Parameters
    ----------
    display : TileDisplay
    versions : collection of str, optional
        Versions to draw (default all); each in ``colours[position]``.
    consensus, truth : bool
        Also draw the consensus (2 pixels wide) and the training mask.
    heat : bool
        Colour the pixels where the versions disagree (`heat_colours` of the pixel
        disagreement: transparent where all agree, bright where they split evenly).
    colours : sequence of str, optional
        Hex colours per version position (default `saltviewer.plugins.common.style.VERSION_COLOURS`).
    extra : (mask, colour), optional
        One more outline drawn on top, 2 pixels wide (the consensus at the threshold a
        person chose with the correction slider).

    Returns
    -------
    image : (101, 101, 4) ndarray of uint8
        Transparent where nothing is drawn; later marks are drawn over earlier ones (heat
        map, versions, then the consensus, then the training mask on top).
    """
    from ..common.style import CONSENSUS, version_colour

    out = np.zeros(display.image.shape + (4,), np.uint8)
    view = display.view
    if heat and view is not None:
        out[...] = heat_colours(view.disagreement)
    if view is not None:
        for position, version in enumerate(view.versions):
            if versions is not None and version not in versions:
                continue
            colour = colours[position] if colours is not None else version_colour(position)
            out[mask_outline(view.member_masks[position])] = rgba(colour)
    if consensus and view is not None:
        out[mask_outline(view.mask, 2)] = rgba(CONSENSUS)
    if truth and display.truth is not None:
        out[mask_outline(display.truth)] = rgba("#ffffff")
    if extra is not None:
        out[mask_outline(extra[0], 2)] = rgba(extra[1])
    return out


def salt_picture(image, mask, fill=0.38):
    """A tile as RGB with a mask as a translucent fill in the salt colour inside its outline.

    Parameters
    ----------
    image : (H, W) ndarray of uint8
    mask : (H, W) ndarray of bool or None
    fill : float
        Opacity of the fill.

    Returns
    -------
    rgb : (H, W, 3) ndarray of uint8
    """
    rgb = np.repeat(np.asarray(image, np.uint8)[..., None], 3, axis=2)
    if mask is not None:
        mask = np.asarray(mask, bool)
        from ..common.style import SALT

        colour = rgba(SALT)[:3].astype(np.float32)
        rgb[mask] = (rgb[mask] * (1 - fill) + colour * fill).astype(np.uint8)
        rgb[mask_outline(mask)] = colour.astype(np.uint8)
    return rgb


def salt_share(share):
    """A salt share (or a mask) as a caption gives it: ``"42%"``, ``"<1%"`` for a speck, ``"0%"`` for none.

    >>> salt_share(0.4213), salt_share(0.001), salt_share(0.0)
    ('42%', '<1%', '0%')
    """
    if not np.isscalar(share):
        share = float(np.mean(share)) if share is not None else 0.0
    if share <= 0:
        return "0%"
    return "<1%" if share < 0.005 else f"{100 * share:.0f}%"
