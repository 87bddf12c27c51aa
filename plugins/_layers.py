"""Layers the widgets own, found by a role in their metadata (a person may rename them freely)."""

import numpy as np

ROLE = "saltviewer_role"

__all__ = ["ROLE", "find_layer", "put_layer", "remove_layers", "show_only_group", "group_layers"]


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


def put_layer(viewer, role, kind, data, *, name, **kwargs):
    """Update the data of the layer with `role`, or add it (as ``viewer.add_<kind>``).

    Keyword arguments apply only when the layer is made, so a person's later changes
    (opacity, colours, visibility) are kept while stepping through tiles.
    """
    layer = find_layer(viewer, role)
    if layer is not None and type(layer).__name__.lower() != kind:
        viewer.layers.remove(layer)
        layer = None
    if layer is None:
        metadata = dict(kwargs.pop("metadata", {}) or {})
        metadata[ROLE] = role
        layer = getattr(viewer, f"add_{kind}")(data, name=name, metadata=metadata, **kwargs)
        return layer
    current = layer.data
    if (kind == "image" and isinstance(current, np.ndarray) and current.flags.writeable
            and current.shape == np.shape(data) and current.dtype == np.asarray(data).dtype):
        current[...] = data          # same shape: copy in place and redraw, skipping the extent
        layer.refresh()              # and dims bookkeeping a new array sets off
    else:
        layer.data = data
    return layer


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
