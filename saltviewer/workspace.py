"""The workspace: a folder beside the data that keeps everything saltviewer produces.

Layout::

    WS/
      cache/<dataset key>/          packed tiles (memory-mapped), rebuilt when the data change
      models/v0001/                 one folder per model version, never overwritten
          card.json                 encoder, recipe, data used, scores, threshold, parent
          model.keras               the Keras model (written by saltviewer.training)
      predictions/v0001/<key>.npy   probability maps of a version for a dataset, uint8 (p * 255)
      curation.sqlite               the curation store
      mosaics/                      neighbour pairs and mosaics

A model version appears under its final name only when it is complete: it is built in a
hidden temporary folder and renamed in one step.
"""

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ._atomic import atomic_open, atomic_path
from ._errors import SaltviewerError
from .rle import TILE_SHAPE

__all__ = ["Workspace", "as_workspace", "version_score"]

_VERSION = re.compile(r"^v(\d{4,})$")


def version_score(card):
    """A version's validation score from its card (the out-of-fold competition score), or None.

    The one rule for "how good is this version", used by the CLI, the Retrain dock and the
    benchmarks.

    >>> version_score({"oof_score": 0.75}), version_score({"oof_score": float("nan")}), version_score(None)
    (0.75, None, None)
    """
    import math

    if not card:
        return None
    for key in ("oof_score", "val_score", "score"):
        value = card.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
    return None


def as_workspace(workspace):
    """A `Workspace` for a path, or the object itself."""
    return workspace if isinstance(workspace, Workspace) else Workspace(workspace)


class Workspace:
    """A folder of model versions, predictions, caches and the curation store.

    Parameters
    ----------
    path : str or Path
        Created if missing (with its parents).
    """

    def __init__(self, path):
        path = Path(path)
        if path.exists() and not path.is_dir():
            raise SaltviewerError(f"--workspace {path}: is a file; expected a folder (it is created if missing).")
        self.path = path
        path.mkdir(parents=True, exist_ok=True)

    def __repr__(self):
        return f"<Workspace {str(self.path)!r}: {len(self.versions())} model versions>"

    def __fspath__(self):
        return str(self.path)

    @property
    def models_dir(self):
        return self.path / "models"

    @property
    def predictions_dir(self):
        return self.path / "predictions"

    @property
    def cache_dir(self):
        return self.path / "cache"

    @property
    def mosaics_dir(self):
        return self.path / "mosaics"

    @property
    def store_path(self):
        return self.path / "curation.sqlite"

    # ------------------------------------------------------------------ versions
    def versions(self):
        """Names of the complete model versions, oldest first (``["v0001", "v0002"]``)."""
        if not self.models_dir.is_dir():
            return []
        found = []
        for entry in os.scandir(self.models_dir):
            match = _VERSION.match(entry.name)
            if match and entry.is_dir() and os.path.isfile(os.path.join(entry.path, "card.json")):
                found.append((int(match.group(1)), entry.name))
        return [name for _, name in sorted(found)]

    def latest(self):
        """The newest version's name, or None."""
        versions = self.versions()
        return versions[-1] if versions else None

    def version_dir(self, version):
        self._check_version(version)
        return self.models_dir / version

    def _check_version(self, version):
        if version not in self.versions():
            known = ", ".join(self.versions()) or "none yet"
            raise SaltviewerError(f"model version {version!r} is not in workspace {self.path} (versions: {known}).")

    def card(self, version):
        """The version's card (a dict)."""
        path = self.version_dir(version) / "card.json"
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)

    def resolve_models(self, models=("latest",)):
        """Turn ``all``, ``latest`` or version names into a list of version names."""
        if isinstance(models, str):
            models = [models]
        models = list(models) or ["latest"]
        versions = self.versions()
        if not versions:
            raise SaltviewerError(f"workspace {self.path} has no model versions yet; run `saltviewer train` first.")
        chosen = []
        for name in models:
            if name == "all":
                chosen.extend(versions)
            elif name == "latest":
                chosen.append(versions[-1])
            else:
                self._check_version(name)
                chosen.append(name)
        return list(dict.fromkeys(chosen))

    def add_version(self, card, write_files=None):
        """Write a new model version atomically and return its name.

        Parameters
        ----------
        card : dict
            JSON-serialisable description; ``version`` and ``created`` are filled in.
        write_files : callable, optional
            Called with the temporary folder to write the model files into.

        The folder becomes visible as ``models/vNNNN`` in one rename, so a crash leaves
        either nothing or a complete version; two writers never get the same number.
        """
        self.models_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".incomplete-", dir=self.models_dir))
        try:
            if write_files is not None:
                write_files(tmp)
            existing = [int(_VERSION.match(p.name).group(1)) for p in self.models_dir.iterdir()
                        if _VERSION.match(p.name)]
            number = max(existing, default=0) + 1
            while True:
                name = f"v{number:04d}"
                card = dict(card, version=name)
                card.setdefault("created", _now())
                with open(tmp / "card.json", "w", encoding="utf-8") as handle:
                    json.dump(card, handle, indent=2, sort_keys=True, default=_json_default)
                    handle.flush()
                    os.fsync(handle.fileno())
                try:
                    os.mkdir(self.models_dir / name)   # claim the number; fails if taken
                except FileExistsError:
                    number += 1
                    continue
                os.replace(tmp, self.models_dir / name)  # onto the empty claimed folder
                return name
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    def update_card(self, version, **fields):
        """Add fields to a version's card (atomically); existing fields may not change."""
        card = self.card(version)
        clash = [k for k in fields if k in card and card[k] != fields[k]]
        if clash:
            raise SaltviewerError(f"model version {version}: card fields {clash} are already set; a card is never rewritten.")
        card.update(fields)
        with atomic_open(self.version_dir(version) / "card.json", "w", encoding="utf-8") as handle:
            json.dump(card, handle, indent=2, sort_keys=True, default=_json_default)

    # --------------------------------------------------------------- predictions
    def predictions_path(self, version, dataset):
        return self.predictions_dir / version / f"{dataset.key}.npy"

    def has_predictions(self, version, dataset):
        return self.predictions_path(version, dataset).is_file()

    def predicted_tiles_path(self, version, dataset):
        """Where the (N,) bool record of which tiles hold real predictions is kept."""
        return self.predictions_path(version, dataset).with_suffix(".predicted.npy")

    def predicted_tiles(self, version, dataset):
        """(N,) bool: which tiles of the dataset hold real predictions of the version.

        A version predicted on one split only (``saltviewer predict --split``) stores zeros for
        the other tiles and records which ones it predicted in ``<key>.predicted.npy``; without
        that record every tile was predicted.
        """
        marker = self.predicted_tiles_path(version, dataset)
        if not marker.is_file():
            return np.ones(len(dataset), bool)
        predicted = np.load(marker)
        if predicted.shape != (len(dataset),) or predicted.dtype != bool:
            raise SaltviewerError(f"{marker}: holds {predicted.shape} {predicted.dtype}; expected ({len(dataset)},) bool.")
        return predicted

    def open_predictions(self, version, dataset):
        """A version's probability maps for the dataset, memory-mapped.

        Returns
        -------
        probabilities : (N, 101, 101) memmap of uint8
            ``p * 255`` rounded, aligned with ``dataset.ids``.
        """
        path = self.predictions_path(version, dataset)
        if not path.is_file():
            raise SaltviewerError(f"model version {version} has no predictions for {dataset.root} in {self.path}; "
                                  f"run `saltviewer predict {dataset.root} --workspace {self.path} --models {version}`.")
        maps = np.load(path, mmap_mode="r")
        if maps.shape != (len(dataset),) + TILE_SHAPE or maps.dtype != np.uint8:
            raise SaltviewerError(f"{path}: holds {maps.shape} {maps.dtype}; expected ({len(dataset)}, 101, 101) uint8.")
        return maps

    def write_predictions(self, version, dataset, probabilities, chunk=1024):
        """Store probability maps for a dataset atomically.

        Parameters
        ----------
        probabilities : (N, 101, 101) array of float in [0, 1] or uint8, or a callable
            A callable is called as ``probabilities(start, stop)`` for consecutive chunks
            and returns that chunk, so the maps never need to be in memory at once.
        """
        path = self.predictions_path(version, dataset)
        n = len(dataset)
        with atomic_path(path, suffix=".npy") as tmp:
            out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(n,) + TILE_SHAPE)
            for start in range(0, n, chunk):
                stop = min(start + chunk, n)
                block = probabilities(start, stop) if callable(probabilities) else probabilities[start:stop]
                out[start:stop] = quantize_probabilities(block, f"probabilities {start}:{stop}")
            out.flush()
            del out
        with atomic_open(path.with_suffix(".json"), "w", encoding="utf-8") as handle:
            json.dump({"dataset": str(dataset.root), "key": dataset.key, "count": n,
                       "created": _now(), "encoding": "uint8 = round(p * 255)"}, handle, indent=2)
        return path


def quantize_probabilities(block, name="probabilities"):
    """Probabilities in [0, 1] (or already uint8) as uint8 ``round(p * 255)``."""
    block = np.asarray(block)
    if block.ndim != 3 or block.shape[1:] != TILE_SHAPE:
        raise SaltviewerError(f"{name}: expected (n, 101, 101) maps, got shape {block.shape}.")
    if block.dtype == np.uint8:
        return block
    if not np.all(np.isfinite(block)) or block.min(initial=0) < 0 or block.max(initial=0) > 1:
        raise SaltviewerError(f"{name}: probabilities must be finite and within [0, 1].")
    return np.rint(block * 255).astype(np.uint8)


def _now():
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
