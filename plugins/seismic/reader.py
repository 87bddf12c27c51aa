"""Open SEG-Y lines and volumes in napari: an image layer, read lazily for volumes.

A line opens as one ``(samples, traces)`` image; a volume as ``(inlines, samples,
crosslines)``, a dask array read an inline at a time as the slider moves (napari's 3-D view
shows time slices and crosslines of the same array). The axes carry their names and units
from the headers: ``inline`` and ``crossline`` (their header numbers, when they step
evenly), ``trace`` for a line, and ``time`` (ms) or ``depth`` (m or ft) starting at the first
sample's time or depth. The contrast limits are the file's robust amplitude range
(`saltviewer.seismic.fit_scaling`). A file written by ``saltviewer segy predict`` (its
``.json`` sidecar beside it) opens as salt instead: the probability as a translucent heat
map, the mask as labels, by the rule of ``--mask`` (`saltviewer.seismic.prediction_mask`:
the cutoff and the minimum area of the sidecar's ensemble).
"""

import json
from pathlib import Path

import numpy as np

from ..common.style import SALT, label_colours

__all__ = ["get_segy_reader", "read_segy", "segy_layers", "salt_layers", "segy_axes", "describe_position",
           "SEGY_KEY", "is_segy"]

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


def _numbers_axis(numbers):
    """(scale, translate) putting positions on their header numbers when these step evenly, else (1, 0)."""
    numbers = np.asarray(numbers, float)
    if len(numbers) > 1:
        steps = np.diff(numbers)
        if steps[0] > 0 and np.allclose(steps, steps[0]):
            return float(steps[0]), float(numbers[0])
    return 1.0, 0.0


def segy_axes(data):
    """napari layer settings that name the axes of a SEG-Y file as shown (see `_display`).

    Returns
    -------
    settings : dict
        ``axis_labels``, ``units``, ``scale`` and ``translate`` for ``(samples, traces)``
        or ``(inlines, samples, crosslines)``: the sample axis starts at the first sample's
        time or depth and steps by the sample interval.
    """
    samples = np.asarray(data.samples, float)
    step = float(samples[1] - samples[0]) if len(samples) > 1 and samples[1] > samples[0] else 1.0
    sample = (data.sample_domain, data.sample_unit, step, float(samples[0]))
    if data.kind == "line":
        trace = ("trace", "pixel", *_numbers_axis(data.crosslines))
        axes = (sample, trace)
    else:
        axes = (("inline", "pixel", *_numbers_axis(data.inlines)), sample,
                ("crossline", "pixel", *_numbers_axis(data.crosslines)))
    return {"axis_labels": tuple(a[0] for a in axes), "units": tuple(a[1] for a in axes),
            "scale": tuple(a[2] for a in axes), "translate": tuple(a[3] for a in axes)}


def describe_position(labels, units, world):
    """A place in header units, as the SEG-Y dock shows it: ``inline 1021 · time 1720 ms · crossline 2161``.

    Parameters
    ----------
    labels, units : sequence of str
        The layer's axis labels and units (``"pixel"`` axes are header numbers, shown whole).
    world : sequence of float
        World coordinates along those axes.
    """
    parts = []
    for label, unit, value in zip(labels, units, world):
        unit = {"millisecond": "ms", "meter": "m", "foot": "ft"}.get(str(unit), str(unit))
        parts.append(f"{label} {int(round(value))}" if unit == "pixel" else f"{label} {value:g} {unit}")
    return " \u00b7 ".join(parts)


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
                                      "contrast_limits": [scaling.low, scaling.high], **segy_axes(data)}, "image")]


def salt_layers(path, data=None, settings=None):
    """Layer data tuples of a ``segy predict`` output: probability heat map and mask, or the mask alone.

    The mask of a probability output is `saltviewer.seismic.prediction_mask` with the
    sidecar's cutoff and minimum area: the pixels ``segy predict --mask`` would write.
    """
    from saltviewer.seismic import open_segy, prediction_mask

    data = data or open_segy(path)
    settings = settings or _sidecar(path) or {}
    values = data.traces() if data.kind == "line" else data.to_dask()
    meta = {SEGY_KEY: str(Path(path).resolve()), "kind": data.kind, "prediction": settings}
    name = Path(path).stem
    axes = segy_axes(data)
    if settings.get("values") == "mask":
        mask = (values > 0.5).astype(np.uint8)
        return [(_display(data, mask), {"name": f"{name} mask", "colormap": label_colours(SALT), "opacity": 0.45,
                                         "metadata": {**meta, "saltviewer_role": "segy:mask"}, **axes}, "labels")]
    ensemble = settings.get("ensemble", {})
    cutoff = float(ensemble.get("mask_cutoff", 0.5))
    min_area = int(ensemble.get("min_area") or 0)
    mask = prediction_mask(values, cutoff, min_area, data.kind, settings.get("direction") or "inline")
    return [
        (_display(data, values), {"name": f"{name} probability", "colormap": "inferno", "opacity": 0.45,
                                  "blending": "additive", "contrast_limits": [0.0, 1.0],
                                  "metadata": {**meta, "saltviewer_role": "segy:probability"}, **axes}, "image"),
        (_display(data, mask), {"name": f"{name} mask", "colormap": label_colours(SALT), "opacity": 0.9,
                                "metadata": {**meta, "saltviewer_role": "segy:mask"}, **axes}, "labels"),
    ]


def read_segy(path):
    """napari reader: the layers of one SEG-Y file."""
    if isinstance(path, (list, tuple)):
        path = path[0]
    return segy_layers(path)
