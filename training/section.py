"""Predict salt on SEG-Y sections with a workspace's ensemble, exactly as tiles are predicted.

Each 101 x 101 tile of a section goes through what a tile of a data folder goes through:
its amplitudes become 8-bit grey levels (`saltviewer.seismic.scaling`), each model version
predicts it with all its fold models and flip TTA (`predict_probabilities`, the function
`predict_dataset` uses), the probability is stored as ``round(p * 255)`` and read through the
version's calibration table, and the versions' calibrated levels are averaged: the consensus
probability of `saltviewer.Ensemble`. Overlapping tiles are then blended
(`saltviewer.seismic.tiling`), and the mask is the consensus above the ensemble's consensus
threshold (`default_consensus_threshold`), with salt regions smaller than the members' mean
minimum area removed (the section's form of the tile rule).
"""

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._errors import SaltviewerError

__all__ = ["SectionPredictor", "predict_segy", "SegyPrediction"]

_LOADED = {}
_LOAD_LOCK = threading.Lock()


def _card_dataset(card):
    """The data folder a version was trained on, opened, or None when it is gone."""
    from .. import open_dataset

    root = card.get("dataset")
    if not root or not Path(root).is_dir():
        return None
    try:
        return open_dataset(root)
    except SaltviewerError:
        return None


class SectionPredictor:
    """The ensemble of model versions as a function of section tiles.

    Parameters
    ----------
    workspace : str, Path or Workspace
    versions : str or sequence of str
        ``"latest"``, ``"all"`` or version names (see `Workspace.resolve_models`).
    scaling : AmplitudeScaling
        How the tiles' amplitudes become grey levels.
    samples : (S,) array of float, optional
        The sample axis (time or depth); a tile's depth, for versions trained with the
        ``depth`` channel, is the sample value at its centre.
    tta : bool
        Flip test-time augmentation (as `predict_dataset`).
    batch_size : int
    folds : sequence of int, optional
        Use only these fold models of each version.

    Notes
    -----
    Picklable: the models are loaded on the first call in each process (once per process,
    shared by its threads), so a dask.distributed worker loads them from the workspace.
    """

    def __init__(self, workspace, versions=("latest",), *, scaling, samples=None, tta=True, batch_size=64,
                 folds=None):
        from ..calibration import version_calibration
        from ..ensemble import default_consensus_threshold, probability_level
        from ..workspace import as_workspace
        from .context import card_context

        workspace = as_workspace(workspace)
        self.workspace_path = str(workspace.path)
        self.versions = tuple(workspace.resolve_models(versions))
        cards = [workspace.card(v) for v in self.versions]
        self.thresholds = np.array([0.5 if c.get("threshold") is None else float(c["threshold"]) for c in cards])
        self.min_area = int(round(float(np.mean([c.get("min_area") or 0 for c in cards]))))
        self.channels = [tuple(c.get("channels") or ()) for c in cards]
        # A context model gets a section's tiles mirrored out to its window: the input a
        # model without context sees (the section tiler hands over tiles, not windows).
        self.margins = [card_context(c) for c in cards]
        tables, self.calibrated = [], []
        for version, card in zip(self.versions, cards):
            table = version_calibration(workspace, version, _card_dataset(card) if "calibration" not in card else None,
                                        card=card)
            tables.append(table)
            self.calibrated.append(table is not None)
        identity = np.arange(256, dtype=np.uint8)
        self.luts = None if not any(self.calibrated) else np.stack([identity if t is None else t for t in tables])
        self.consensus_threshold = default_consensus_threshold(self.thresholds, self.luts)
        m = len(self.versions)
        #: mask where the consensus probability exceeds this (Ensemble: levels summed > L)
        self.cutoff = probability_level(self.consensus_threshold, m) / (255.0 * m)
        self.scaling = scaling
        self.samples = None if samples is None else np.asarray(samples, np.float64)
        self.tta, self.batch_size = bool(tta), int(batch_size)
        self.folds = None if folds is None else tuple(int(k) for k in folds)
        self.tiles_predicted = 0

    def __getstate__(self):
        state = dict(self.__dict__)
        state["tiles_predicted"] = 0
        return state

    def _models(self, version):
        key = (self.workspace_path, version, self.folds)
        with _LOAD_LOCK:
            if key not in _LOADED:
                from ..workspace import Workspace
                from .predict import load_version_models

                models, _ = load_version_models(Workspace(self.workspace_path), version)
                if self.folds is not None:
                    bad = [k for k in self.folds if not 0 <= k < len(models)]
                    if bad:
                        raise SaltviewerError(f"--folds {list(self.folds)}: version {version} has folds "
                                              f"0..{len(models) - 1}.")
                    models = [models[k] for k in self.folds]
                _LOADED[key] = models
            return _LOADED[key]

    def load(self):
        """Load every version's models now (otherwise on the first call)."""
        for version in self.versions:
            self._models(version)
        return self

    def levels(self, grey, depths=None):
        """Each version's stored levels of grey tiles: ``(m, n, 101, 101)`` uint8, ``round(p * 255)``."""
        from ..workspace import quantize_probabilities
        from .data import as_inputs
        from .tta import predict_probabilities

        out = np.empty((len(self.versions),) + grey.shape, np.uint8)
        for member, (version, channels) in enumerate(zip(self.versions, self.channels)):
            features = None
            if channels:
                from ..features import compute_features

                features = compute_features(grey, depths, channels)
            x = as_inputs(grey, features)
            margin = self.margins[member]
            if margin:
                x = np.pad(x, ((0, 0), (margin, margin), (margin, margin), (0, 0)), mode="reflect")
            x = _padded(x, self.batch_size)
            out[member] = quantize_probabilities(
                predict_probabilities(self._models(version), x, batch_size=self.batch_size, tta=self.tta)[:len(grey)])
        return out

    def __call__(self, tiles, rows):
        """Consensus probabilities of amplitude tiles ``(n, 101, 101)`` with row starts ``(n,)``."""
        grey = self.scaling.to_uint8(tiles)
        depths = None
        if self.samples is not None and any("depth" in c for c in self.channels):
            centre = np.minimum(np.asarray(rows) + grey.shape[1] // 2, len(self.samples) - 1)
            depths = self.samples[centre]
        levels = self.levels(grey, depths)
        if self.luts is not None:
            for member in range(len(levels)):
                np.take(self.luts[member], levels[member], out=levels[member])
        total = levels.sum(axis=0, dtype=np.uint16)
        self.tiles_predicted += len(tiles)
        return total.astype(np.float32) / np.float32(255 * len(self.versions))

    def describe(self):
        """The ensemble's settings as a JSON-friendly dict (for the sidecar file)."""
        return {"versions": list(self.versions), "thresholds": self.thresholds.tolist(),
                "calibrated": self.calibrated, "consensus_threshold": self.consensus_threshold,
                "mask_cutoff": self.cutoff, "min_area": self.min_area, "tta": self.tta, "folds": self.folds,
                "channels": [list(c) for c in self.channels]}


def _padded(x, batch_size):
    """`x` with zero tiles appended: to the next power of two below `batch_size`, else to a multiple of it.

    A section's blocks hold any number of tiles; the model then sees a few batch shapes only
    (each new shape would be traced again), at most doubling the work of a small block.
    """
    n = len(x)
    size = 1 << max(0, (n - 1).bit_length()) if n < batch_size else -(-n // batch_size) * batch_size
    if size == n:
        return x
    return np.concatenate([x, np.zeros((size - n,) + x.shape[1:], x.dtype)])


@dataclass
class SegyPrediction:
    """What `predict_segy` wrote and how.

    Attributes
    ----------
    segy, array, sidecar : Path
        The SEG-Y output, the array beside it (``.npy``, or ``.zarr`` for volumes when zarr
        is installed) and the JSON that describes them.
    kind : {"line", "volume"}
    values : {"probability", "mask"}
    n_tiles : int
        Tiles predicted (each by every version, with TTA when on).
    seconds : float
    settings : dict
    """

    segy: Path
    array: Path
    sidecar: Path
    kind: str
    values: str
    n_tiles: int
    seconds: float
    settings: dict = field(default_factory=dict)

    @property
    def tiles_per_second(self):
        return self.n_tiles / self.seconds if self.seconds else float("nan")


def _count_tiles(shape, overlap):
    from ..seismic.tiling import tile_starts

    height, width = shape
    return len(tile_starts(height, overlap=overlap)) * len(tile_starts(width, overlap=overlap))


def _array_path(out, kind):
    if kind == "volume":
        try:
            import zarr  # noqa: F401
            return out.with_suffix(".zarr")
        except ImportError:
            pass
    return out.with_suffix(".npy")


def _quiet_settings(mute, image=None):
    """What the sidecar says of the quiet zones: the rule, and on a line how much it took."""
    if mute is None:
        return {"applied": False}
    settings = {"applied": True, **mute.to_dict(),
                "rule": ("no salt above a trace's first signal (water column, top mute), below its last (bottom "
                         "mute), in dead traces and in runs of identical values; signal: the largest |amplitude| "
                         "within `window` samples exceeds `level` (`fraction` of the file's robust amplitude)"),
                "found_from": "the amplitudes of this file (not learnt)"}
    if image is not None:
        settings.update(mute.summary(image))
    return settings


def _meaning(mask, predictor, out, mute=None):
    """The textual header's lines for a prediction: what the samples are now."""
    versions = ", ".join(predictor.versions)
    if mask:
        first = "SALTVIEWER SEGY PREDICT: SAMPLES ARE A SALT MASK, 1 SALT, 0 NOT SALT"
    else:
        first = "SALTVIEWER SEGY PREDICT: SAMPLES ARE SALT PROBABILITY 0..1"
    lines = [first, "(NOT AMPLITUDES), 4-BYTE IEEE FLOAT",
             f"MODELS {versions}; SALT WHERE PROBABILITY > {predictor.cutoff:.4f}"[:76]]
    if mute is not None:
        lines.append(f"0 IN QUIET ZONES (WATER, MUTES, DEAD TRACES): |AMPLITUDE| <= {mute.level:.4g}"[:76])
    return lines + [f"HOW THEY WERE MADE: {out.with_suffix('.json').name}"[:76]]


def predict_segy(path, workspace, out, versions=("latest",), *, overlap=50, scaling="file", mask=False, tta=True,
                 direction="inline", scheduler=None, chunks=None, num_workers=None, batch_size=64, folds=None,
                 engine="dask", progress=None, iline=189, xline=193, mute=0.05):
    """Predict salt on a SEG-Y line or volume and write it over the input's geometry.

    Parameters
    ----------
    path : str or Path
        The SEG-Y line or volume.
    workspace : str, Path or Workspace
    out : str or Path
        The SEG-Y file to write (never the input); ``out`` with ``.npy`` (or ``.zarr`` for a
        volume, when zarr is installed) and ``.json`` are written beside it.
    versions : str or sequence of str
    overlap : int
        Pixels shared by neighbouring tiles (0 .. 100).
    scaling : {"file", "tile"}
        See `saltviewer.seismic.scaling`.
    mask : bool
        Write the salt mask (1 salt, 0 not) instead of the consensus probability.
    tta, batch_size, folds
        As for `predict_dataset`.
    direction : {"inline", "crossline"}
        Which sections of a volume are predicted.
    scheduler, chunks, num_workers, engine
        Volumes: see `saltviewer.seismic.volume.predict_volume`.
    progress : callable, optional
        ``progress(done, total)`` in sections (lines: tiles) or blocks.
    iline, xline : int
        Header bytes of the inline and crossline numbers.
    mute : float or None
        Quiet zones (water column, top and bottom mutes, dead traces, flat runs; see
        `saltviewer.seismic.quiet`) found from the amplitudes with this fraction of the file's
        robust amplitude as the level get no salt, and are stated in the sidecar; None: off.

    Returns
    -------
    info : SegyPrediction
    """
    from .._atomic import atomic_open, atomic_path
    from ..seismic import fit_scaling, open_segy, predict_section, write_segy_like
    from ..seismic.quiet import fit_mute
    from ..seismic.tiling import check_overlap, check_tileable
    from ..seismic.volume import output_chunks, predict_volume, section_mask, volume_output

    started = time.monotonic()
    out = Path(out)
    overlap = check_overlap(overlap)
    data = open_segy(path, iline=iline, xline=xline)
    if out.resolve() == data.path.resolve():
        raise SaltviewerError(f"--out {out}: is the input file; choose another output (inputs are never overwritten).")
    if out.suffix.lower() not in (".sgy", ".segy"):
        raise SaltviewerError(f"--out {out}: must end in .sgy or .segy (the .npy/.zarr and .json go beside it).")
    check_tileable(data, direction)
    fitted = fit_scaling(data, scaling)
    muting = None if mute is None else fit_mute(fitted, mute)
    predictor = SectionPredictor(workspace, versions, scaling=fitted, samples=data.samples, tta=tta,
                                 batch_size=batch_size, folds=folds).load()
    loaded = time.monotonic()
    rule = (predictor.cutoff, predictor.min_area) if mask else None
    array_path = _array_path(out, data.kind)
    meaning = _meaning(mask, predictor, out, muting)
    try:
        if data.kind == "line":
            image = data.traces().T
            blended = predict_section(image, predictor, overlap, mute=muting)
            values = (section_mask(blended, *rule) if mask else blended).T.astype(np.float32)
            with atomic_path(array_path, suffix=".npy") as tmp:
                np.save(tmp, values)
                write_segy_like(data, out, values, meaning=meaning)
            n_tiles = _count_tiles(image.shape, overlap)
        else:
            n_sections = data.shape[0] if direction == "inline" else data.shape[1]
            n_tiles = n_sections * _count_tiles(data.section_shape(direction), overlap)
            blocks = output_chunks(data.shape, direction, chunks, rule)
            # the array is kept only when every trace was written and the SEG-Y beside it is complete
            with volume_output(array_path, data.shape, blocks) as target:
                predict_volume(data, predictor, overlap, direction=direction, engine=engine, scheduler=scheduler,
                               chunks=chunks, mask_rule=rule, target=target, num_workers=num_workers,
                               progress=progress, output_name=str(out), mute=muting)
                write_segy_like(data, out, target, meaning=meaning)
        seconds = time.monotonic() - started
        settings = {"input": str(data.path.resolve()), "geometry": data.describe(),
                    "values": "mask" if mask else "probability",
                    "meaning": ("1 = salt, 0 = not salt" if mask else
                                "consensus salt probability of the ensemble (calibrated), blended over overlapping "
                                "tiles"),
                    "textual_header": meaning,
                    "quiet_zones": _quiet_settings(muting, image if data.kind == "line" else None),
                    "overlap": overlap, "tile": 101, "direction": direction if data.kind == "volume" else None,
                    "scaling": fitted.to_dict(), "ensemble": predictor.describe(), "tiles": n_tiles,
                    "seconds": round(seconds, 2),
                    "seconds_after_loading_models": round(seconds - (loaded - started), 2),
                    "array": array_path.name, "segy_format": "4-byte IEEE float (5)"}
        if data.n_missing:
            settings["missing_traces"] = {
                "count": data.n_missing, "of_places": int(data.shape[0] * data.shape[1]),
                "in_array": "NaN (no trace in the survey there)",
                "in_segy": "absent: the SEG-Y holds the input's traces only",
                "predicted_with": "zero amplitudes in the sections they cross"}
        sidecar = out.with_suffix(".json")
        with atomic_open(sidecar, "w", encoding="utf-8") as handle:
            json.dump(settings, handle, indent=2)
    except OSError as error:
        raise SaltviewerError(f"--out {out}: cannot be written ({error.strerror or error}).") from None
    return SegyPrediction(out, array_path, sidecar, data.kind, settings["values"], n_tiles, seconds, settings)
