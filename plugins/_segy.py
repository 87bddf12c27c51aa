"""Open SEG-Y lines and volumes in napari: an image layer, read lazily for volumes.

A line opens as one ``(samples, traces)`` image; a volume as ``(inlines, samples,
crosslines)``, a dask array read an inline at a time as the slider moves (napari's 3-D view
shows time slices and crosslines of the same array). The contrast limits are the file's
robust amplitude range (`saltviewer.seismic.fit_scaling`). A file written by ``saltviewer
segy predict`` (its ``.json`` sidecar beside it) opens as salt instead: the probability as a
translucent heat map, the mask as labels.
"""

import json
from pathlib import Path

import numpy as np

from ._style import SALT, label_colours

__all__ = ["get_segy_reader", "read_segy", "segy_layers", "salt_layers", "SEGY_KEY", "is_segy"]

#: Layer metadata key holding the SEG-Y file a layer shows.
SEGY_KEY = "saltviewer_segy"
SUFFIXES = (".sgy", ".segy")


def is_segy(path):
    return isinstance(path, (str, Path)) and Path(path).suffix.lower() in SUFFIXES


def get_segy_reader(path):
    """napari reader hook: a reader for one ``.sgy``/``.segy`` file, else None."""
    if isinstance(path, (list, tuple)):
        if len(path) != 1:
            return None
        path = path[0]
    return read_segy if is_segy(path) and Path(path).is_file() else None


def _sidecar(path):
    side = Path(path).with_suffix(".json")
    if not side.is_file():
        return None
    try:
        settings = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return settings if isinstance(settings, dict) and "ensemble" in settings else None


def _display(data, values):
    """`values` shaped like the file as napari shows it: (samples, traces) or (inlines, samples, crosslines)."""
    return values.T if data.kind == "line" else values.transpose(0, 2, 1)


def segy_layers(path):
    """Layer data tuples of a SEG-Y file (see the module notes)."""
    from saltviewer.seismic import fit_scaling, open_segy

    data = open_segy(path)
    settings = _sidecar(path)
    if settings is not None:
        return salt_layers(path, data, settings)
    values = data.traces() if data.kind == "line" else data.to_dask()
    scaling = fit_scaling(data)
    meta = {SEGY_KEY: str(Path(path).resolve()), "saltviewer_role": "segy:section", "kind": data.kind,
            "shape": list(data.shape), "geometry": data.describe()}
    return [(_display(data, values), {"name": Path(path).stem, "colormap": "gray", "metadata": meta,
                                      "contrast_limits": [scaling.low, scaling.high]}, "image")]


def salt_layers(path, data=None, settings=None):
    """Layer data tuples of a ``segy predict`` output: probability heat map and mask, or the mask alone."""
    from saltviewer.seismic import open_segy

    data = data or open_segy(path)
    settings = settings or _sidecar(path) or {}
    values = data.traces() if data.kind == "line" else data.to_dask()
    meta = {SEGY_KEY: str(Path(path).resolve()), "kind": data.kind, "prediction": settings}
    name = Path(path).stem
    if settings.get("values") == "mask":
        mask = (values > 0.5).astype(np.uint8)
        return [(_display(data, mask), {"name": f"{name} mask", "colormap": label_colours(SALT), "opacity": 0.45,
                                         "metadata": {**meta, "saltviewer_role": "segy:mask"}}, "labels")]
    cutoff = float(settings.get("ensemble", {}).get("mask_cutoff", 0.5))
    mask = (values > cutoff).astype(np.uint8)
    return [
        (_display(data, values), {"name": f"{name} probability", "colormap": "inferno", "opacity": 0.45,
                                  "blending": "additive", "contrast_limits": [0.0, 1.0],
                                  "metadata": {**meta, "saltviewer_role": "segy:probability"}}, "image"),
        (_display(data, mask), {"name": f"{name} mask", "colormap": label_colours(SALT), "opacity": 0.9,
                                "metadata": {**meta, "saltviewer_role": "segy:mask"}}, "labels"),
    ]


def read_segy(path):
    """napari reader: the layers of one SEG-Y file."""
    if isinstance(path, (list, tuple)):
        path = path[0]
    return segy_layers(path)
