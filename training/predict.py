"""Apply model versions to a dataset: probability maps, and competition submissions.

Probability maps go to the workspace (`Workspace.write_predictions`): one
``(N, 101, 101)`` uint8 file per version and dataset, aligned with the dataset's order,
written chunk by chunk so the float maps of a large pool are never all in memory.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._errors import SaltviewerError

__all__ = ["predict_dataset", "load_version_models", "write_ensemble_submission", "SubmissionInfo",
           "ensemble_threshold", "predicted_mask_path"]


def load_version_models(workspace, version):
    """The fold models of a version, loaded for inference (uncompiled).

    Returns
    -------
    models : list of keras.Model
    card : dict
    """
    import keras

    from . import callbacks, layers, losses, optimizers   # noqa: F401 - registers the custom objects

    card = workspace.card(version)
    names = card.get("fold_models") or []
    if not names:
        raise SaltviewerError(f"model version {version}: its card lists no fold models.")
    models = []
    for name in names:
        path = workspace.version_dir(version) / name
        if not path.is_file():
            raise SaltviewerError(f"model version {version}: {path} is missing.")
        models.append(keras.saving.load_model(path, compile=False))
    return models, card


def predicted_mask_path(workspace, version, dataset):
    """Where the (N,) bool record of which tiles hold real predictions is kept."""
    return workspace.predicted_tiles_path(version, dataset)


def predict_dataset(data, workspace, versions=("latest",), *, split=None, tta=True, on_progress=None, cancel=None,
                    batch_size=64, chunk=1024, folds=None):
    """Write the probability maps of model versions for a dataset.

    Parameters
    ----------
    data : str, Path or Dataset
    workspace : str, Path or Workspace
    versions : str or sequence of str
        Version names, ``"latest"`` or ``"all"`` (see `Workspace.resolve_models`).
    split : {None, "all", "train", "test"}
        Predict only these tiles. The stored file always covers every tile of the dataset;
        tiles outside the split keep the version's earlier predictions (zeros if none),
        and ``<key>.predicted.npy`` beside it records which tiles hold predictions.
    tta : bool
        Average with the horizontally flipped prediction.
    on_progress : callable, optional
        Called with ``ProgressEvent(kind="batch", batch=tiles done, n_batches=tiles to do,
        message=version)`` after each chunk, and ``kind="done"`` per version.
    cancel : threading.Event, optional
        Checked between batches; raises `TrainingCancelled`. A cancelled version's
        predictions are left as they were.
    batch_size : int
    chunk : int
        Tiles loaded and predicted at a time.
    folds : sequence of int, optional
        Use only these fold models of each version (default: all, the k-fold ensemble).

    Returns
    -------
    paths : dict of str to Path
        Version name to its predictions file.
    """
    from .. import open_dataset
    from ..dataset import Dataset
    from ..workspace import as_workspace
    from .._atomic import atomic_path
    from .callbacks import ProgressEvent
    from .._errors import TrainingCancelled
    from .context import card_context, workspace_mosaics
    from .fit import prepare_inputs
    from .tta import predict_probabilities

    workspace = as_workspace(workspace)
    dataset = data if isinstance(data, Dataset) else open_dataset(data)
    versions = workspace.resolve_models(versions)
    dataset.use_cache(workspace)
    wanted = np.zeros(len(dataset), bool)
    wanted[dataset.indices(split)] = True
    if not wanted.any():
        raise SaltviewerError(f"--split {split}: {dataset.root} has no {split} tiles.")
    emit = on_progress or (lambda event: None)
    paths = {}
    for version in versions:
        models, card = load_version_models(workspace, version)
        if folds is not None:
            bad = [k for k in folds if not 0 <= k < len(models)]
            if bad:
                raise SaltviewerError(f"folds {list(folds)}: version {version} has folds 0..{len(models) - 1}.")
            models = [models[k] for k in folds]
        channels = tuple(card.get("channels") or ())
        margin = card_context(card)
        mosaics = workspace_mosaics(workspace, dataset) if margin else None
        previous = None
        done_before = np.zeros(len(dataset), bool)
        if workspace.has_predictions(version, dataset) and not wanted.all():
            previous = workspace.open_predictions(version, dataset)
            done_before = workspace.predicted_tiles(version, dataset)
        total = int(wanted.sum())
        state = {"done": 0}

        def block(start, stop):
            out = np.zeros((stop - start, 101, 101), np.float32)
            if previous is not None:
                out[:] = np.asarray(previous[start:stop], np.float32) / 255.0
            rows = start + np.flatnonzero(wanted[start:stop])
            if len(rows):
                if cancel is not None and cancel.is_set():
                    raise TrainingCancelled("cancelled")
                x = prepare_inputs(dataset, rows, channels, mosaics=mosaics, margin=margin)
                out[rows - start] = predict_probabilities(models, x, batch_size=batch_size, tta=tta, cancel=cancel)
                state["done"] += len(rows)
                emit(ProgressEvent("batch", batch=state["done"], n_batches=total, message=version))
            return out

        paths[version] = workspace.write_predictions(version, dataset, block, chunk=chunk)
        with atomic_path(predicted_mask_path(workspace, version, dataset), suffix=".npy") as tmp:
            with open(tmp, "wb") as handle:
                np.save(handle, wanted | done_before)
        emit(ProgressEvent("done", batch=total, n_batches=total, message=version))
    return paths


@dataclass
class SubmissionInfo:
    """What `write_ensemble_submission` wrote.

    Attributes
    ----------
    path : Path
    versions : list of str
    threshold : float
    min_area : int
    n_tiles : int
    n_salt : int
        Tiles with salt in the submission.
    tuned_on : str
        ``"ensemble OOF"`` (threshold tuned on the averaged out-of-fold maps),
        ``"card"`` (one version's tuned values) or ``"mean of cards"``, or ``"given"``.
    oof_score : float or None
        OOF score of the ensemble at the chosen binarisation, where known.
    """

    path: Path
    versions: list
    threshold: float
    min_area: int
    n_tiles: int
    n_salt: int
    tuned_on: str
    oof_score: float = None


def ensemble_threshold(workspace, versions):
    """Threshold and minimum area for the average of versions' probabilities.

    One version: its card's values. Several: tuned on their averaged out-of-fold maps when
    all were validated on the same tiles, else the mean of their cards' values.

    Returns
    -------
    threshold : float
    min_area : int
    tuned_on : str
    oof_score : float or None
    """
    from .. import open_dataset
    from ..thresholds import tune_threshold

    cards = [workspace.card(v) for v in versions]
    if len(versions) == 1:
        card = cards[0]
        return float(card.get("threshold", 0.5)), int(card.get("min_area", 0)), "card", card.get("oof_score")
    oofs = []
    for version in versions:
        path = workspace.version_dir(version) / "oof.npz"
        if not path.is_file():
            break
        with np.load(path) as f:
            oofs.append((f["ids"], f["probabilities"]))
    same = len(oofs) == len(versions) and all(np.array_equal(oofs[0][0], ids) for ids, _ in oofs)
    dataset_root = cards[0].get("dataset")
    if same and dataset_root and Path(dataset_root).is_dir():
        dataset = open_dataset(dataset_root).use_cache(workspace)
        rows = np.array([dataset.index(i) for i in oofs[0][0]])
        truth = dataset.masks(rows)
        mean = np.mean([p.astype(np.float32) / 255.0 for _, p in oofs], axis=0)
        choice = tune_threshold(truth, mean)
        return choice.threshold, choice.min_area, "ensemble OOF", choice.score
    threshold = float(np.mean([c.get("threshold", 0.5) for c in cards]))
    min_area = int(round(np.mean([c.get("min_area", 0) for c in cards])))
    return threshold, min_area, "mean of cards", None


def write_ensemble_submission(data, workspace, versions, path, *, split="test", threshold=None, min_area=None):
    """Write a competition submission from the stored predictions of one or more versions.

    Probabilities of the versions are averaged (uint8 maps / 255), binarised at the tuned
    threshold and emptied below the minimum salt area (see `ensemble_threshold`), and
    run-length encoded.

    Parameters
    ----------
    data : str, Path or Dataset
    workspace : str, Path or Workspace
    versions : str or sequence of str
    path : str or Path
        The CSV to write (atomically).
    split : {"test", "train", "all"}
        Tiles written; ``"test"`` falls back to every tile when the dataset has no test split.
    threshold, min_area : optional
        Override the tuned values.

    Returns
    -------
    info : SubmissionInfo
    """
    from .. import open_dataset, write_submission
    from ..dataset import Dataset
    from ..thresholds import apply_threshold
    from ..workspace import as_workspace

    workspace = as_workspace(workspace)
    dataset = data if isinstance(data, Dataset) else open_dataset(data)
    versions = workspace.resolve_models(versions)
    rows = dataset.indices(split)
    if split == "test" and len(rows) == 0:
        rows = dataset.indices("all")
    maps = [workspace.open_predictions(v, dataset) for v in versions]
    for version in versions:
        if not workspace.predicted_tiles(version, dataset)[rows].all():
            raise SaltviewerError(f"model version {version} has no predictions for some {split} tiles of "
                                  f"{dataset.root}; run `saltviewer predict {dataset.root} --workspace "
                                  f"{workspace.path} --models {version} --split {split}`.")
    tuned_threshold, tuned_area, tuned_on, score = ensemble_threshold(workspace, versions)
    if threshold is not None or min_area is not None:
        tuned_on, score = "given", None
    threshold = tuned_threshold if threshold is None else float(threshold)
    min_area = tuned_area if min_area is None else int(min_area)
    masks = np.empty((len(rows), 101, 101), bool)
    for lo in range(0, len(rows), 2048):
        part = rows[lo:lo + 2048]
        mean = np.mean([np.asarray(m[part], np.float32) for m in maps], axis=0) / 255.0
        masks[lo:lo + len(part)] = apply_threshold(mean, threshold, min_area)
    write_submission(path, [dataset.ids[i] for i in rows], masks)
    info = SubmissionInfo(Path(path), list(versions), threshold, min_area, len(rows),
                          int(masks.reshape(len(masks), -1).any(axis=1).sum()), tuned_on, score)
    return info
