"""Layers the widgets own, found by a role in their metadata (a person may rename them freely)."""

import weakref

import numpy as np

ROLE = "saltviewer_role"

__all__ = ["ROLE", "find_layer", "put_layer", "remove_layers", "show_only_group", "group_layers", "fit_view",
           "camera_state", "text_overlay"]


def find_layer(viewer, role):
    """The layer with this role, or None."""
    for layer in viewer.layers:
        if layer.metadata.get(ROLE) == role:
            return layer
    return None


def group_layers(viewer, group):
    """Layers whose role starts with ``group + ":"``."""
    prefix = f"{group}:"
    return [layer for layer in viewer.layers if str(layer.metadata.get(ROLE, "")).startswith(prefix)]


def put_layer(viewer, role, kind, data, *, name, layer_class=None, **kwargs):
    """Update the data of the layer with `role`, or add it (as ``viewer.add_<kind>``).

    Keyword arguments apply only when the layer is made, so a person's later changes
    (opacity, colours, visibility) are kept while stepping through tiles.

    Parameters
    ----------
    layer_class : type, optional
        A subclass of napari's layer of `kind` to make the layer with (one that carries
        saltviewer's keys, `saltviewer.plugins.review.keys`).
    """
    layer = find_layer(viewer, role)
    if layer is not None and not _is_kind(layer, kind, layer_class):
        viewer.layers.remove(layer)
        layer = None
    if layer is None:
        metadata = dict(kwargs.pop("metadata", {}) or {})
        metadata[ROLE] = role
        if layer_class is None:
            return getattr(viewer, f"add_{kind}")(data, name=name, metadata=metadata, **kwargs)
        return viewer.add_layer(layer_class(data, name=name, metadata=metadata, **kwargs))
    current = layer.data
    if (kind == "image" and isinstance(current, np.ndarray) and current.flags.writeable
            and current.shape == np.shape(data) and current.dtype == np.asarray(data).dtype):
        current[...] = data          # same shape: copy in place and redraw, skipping the extent
        layer.refresh()              # and dims bookkeeping a new array sets off
    else:
        layer.data = data
    return layer


def _is_kind(layer, kind, layer_class):
    if layer_class is not None:
        return type(layer) is layer_class
    return type(layer).__name__.lower() == kind


def remove_layers(viewer, layers):
    for layer in list(layers):
        if layer in viewer.layers:
            viewer.layers.remove(layer)


def show_only_group(viewer, group, hidden):
    """Show one of saltviewer's views (review, mosaic) on the canvas they share.

    Hides the layers of the other views that are visible, and shows again the layers of
    `group` that an earlier call hid (a person's own choices are kept otherwise).

    Parameters
    ----------
    viewer : napari.Viewer
    group : str
    hidden : dict
        Group -> layers hidden for another view; kept between calls (the session's).
    """
    for layer in hidden.pop(group, []):
        if layer in viewer.layers:
            layer.visible = True
    for layer in viewer.layers:
        role = str(layer.metadata.get(ROLE, ""))
        if role and not role.startswith(f"{group}:") and layer.visible:
            layer.visible = False
            hidden.setdefault(role.split(":", 1)[0], []).append(layer)


def fit_view(viewer, layers):
    """Fit the camera to these layers only (hidden layers of another view may extend far).

    The fit is kept while the canvas changes size (a dock opening beside it narrows it after
    the first tile is drawn): the view is fitted again as long as nobody moved the camera
    since, so the first tile is never shown cropped.
    """
    layers = list(layers)
    _reset_view(viewer, layers)
    real = getattr(viewer, "__wrapped__", viewer)
    if real not in _WATCHED:
        _WATCHED.add(real)
        ref = weakref.ref(real)
        viewer.canvas.events.size.connect(lambda *_: _on_canvas_size(ref))
    _FITS[real] = ([weakref.ref(layer) for layer in layers], camera_state(viewer))


def camera_state(viewer):
    """The camera's centre and zoom, rounded (to tell whether it moved)."""
    scene = getattr(viewer, "scene", None)
    camera = scene.camera if scene is not None and hasattr(scene, "camera") else viewer.camera
    return tuple(round(float(c), 3) for c in camera.center), round(float(camera.zoom), 6)


def _reset_view(viewer, layers):
    try:
        viewer.reset_view(layers=layers)
    except TypeError:                       # napari before 0.6 fits every layer
        viewer.reset_view()


def _on_canvas_size(ref):
    viewer = ref()
    fit = _FITS.get(viewer) if viewer is not None else None
    if fit is None:
        return
    layers = [layer for layer in (r() for r in fit[0]) if layer is not None and layer in viewer.layers]
    if not layers or not all(layer.visible for layer in layers) or camera_state(viewer) != fit[1]:
        return                              # the person moved the view, or it shows something else now
    try:
        _reset_view(viewer, layers)
    except (IndexError, ValueError):        # the viewer's dimensions changed under the layers (a 3D layer added)
        _FITS.pop(viewer, None)
        return
    _FITS[viewer] = (fit[0], camera_state(viewer))


_FITS = weakref.WeakKeyDictionary()         # viewer -> (the layers last fitted, the camera after the fit)
_WATCHED = weakref.WeakSet()


def text_overlay(viewer):
    """The canvas's text overlay (``viewer.canvas.overlays.text`` since napari 0.9)."""
    canvas = getattr(viewer, "canvas", None)
    if canvas is not None and "text" in getattr(canvas, "overlays", {}):
        return canvas.overlays["text"]
    return viewer.text_overlay
