"""Train a k-fold U-Net ensemble and write it as one new model version.

The recipe (all of it recorded in the version's card):

1. Labelled tiles are split into k folds stratified by salt coverage; pseudo-labelled tiles
   (accepted or corrected in the curation store) only ever train, never validate.
2. Each fold trains a U-Net on augmented batches: BCE + soft Dice first, then the Lovasz
   hinge; each stage one cosine learning-rate cycle (a warm restart at the switch) driving a
   normalized-gradient Nesterov SGD.
3. The weights of the last epochs are averaged (SWA), BatchNorm statistics are recomputed on
   the fold's training tiles, and the SWA model is kept (chosen without looking at the
   validation fold, so the out-of-fold score is not inflated); a fold cut short by the time
   budget keeps its best epoch so far.
4. Out-of-fold probabilities (with flip TTA) give the OOF competition score, and the threshold
   and minimum salt area are tuned on them.
5. The fold models, the OOF maps and the card are written atomically as ``models/vNNNN``.

The version folder holds ``card.json``, ``fold<k>.keras`` (one Keras model per fold: the
k-fold ensemble is one version) and ``oof.npz`` (``ids``, ``folds``, ``probabilities`` as
uint8 ``round(p * 255)``). Card fields: ``encoder``, ``encoder_weights``, ``input_size``,
``resize_mode`` (``pad``/``resize``), ``channels`` (extra feature names), ``in_channels``,
``width``, ``hypercolumn``, ``scse``, ``loss_schedule`` (``[{loss, epochs}]``), ``optimizer``,
``lr_schedule``, ``swa``, ``augmentation``, ``batch_size``, ``epochs``, ``folds``,
``fold_models``, ``fold_details`` (per fold: tiles, epochs run, loss schedule run, validation
history, the weights kept - ``swa``, ``last`` or ``best_epoch`` - and their score, seconds),
``dataset``, ``dataset_key``, ``ids_hash`` and ``ids_count`` (labelled tiles used),
``pseudo_labels`` and ``label_corrections`` (``{count, hash}`` or null), ``oof_count``, ``oof_score`` (at the tuned
binarisation), ``oof_score_at_0.5``, ``threshold``, ``min_area``, ``tta``, ``parent``,
``seed``, ``timings``, ``cut_by_budget``, ``budget_minutes``, ``keras_backend``,
``keras_version``, ``saltviewer_version``, plus ``version`` and ``created``.
"""

import hashlib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._errors import SaltviewerError, TrainingCancelled

__all__ = ["train_model", "TrainResult", "TrainingCancelled", "default_loss_schedule", "load_pseudo_labels",
           "load_label_corrections",
           "prepare_inputs"]


@dataclass
class TrainResult:
    """The outcome of `train_model`.

    Attributes
    ----------
    version : str
        The new version's name (``"v0003"``).
    card : dict
        Its card, as written to ``models/<version>/card.json``.
    path : Path
        The version's folder.
    oof_ids : list of str
        Labelled tiles with an out-of-fold prediction, in dataset order.
    oof_probabilities : (M, 101, 101) ndarray of float32
        Their out-of-fold probabilities (also stored, as uint8, in ``oof.npz``).
    """

    version: str
    card: dict
    path: Path
    oof_ids: list = None
    oof_probabilities: np.ndarray = None


def default_loss_schedule(epochs):
    """BCE + Dice for the first half of the epochs (rounded up), Lovasz for the rest.

    Returns
    -------
    schedule : list of (loss name, epochs)
    """
    lovasz = epochs // 2
    stages = [("bce_dice", epochs - lovasz)]
    if lovasz:
        stages.append(("lovasz", lovasz))
    return stages


def _ids_hash(ids):
    return hashlib.sha1("\n".join(ids).encode()).hexdigest()[:16]


def _mask_hash(ids, masks):
    digest = hashlib.sha1()
    for tile_id, mask in zip(ids, masks):
        digest.update(tile_id.encode())
        digest.update(np.packbits(mask).tobytes())
    return digest.hexdigest()[:16]


def load_pseudo_labels(pseudo_labels, dataset, workspace):
    """Resolve the ``pseudo_labels`` argument to ``(ids, masks)``.

    Parameters
    ----------
    pseudo_labels : None, "accepted", or dict of id to (101, 101) bool mask
        ``"accepted"`` reads the accepted and corrected masks of the curation store
        (``saltviewer.store.CurationStore(workspace.store_path).pseudo_labels(dataset)``).

    Returns
    -------
    ids : list of str
        Ids of tiles without ground truth; tiles that have ground truth are skipped.
    masks : (M, 101, 101) ndarray of bool
    """
    if pseudo_labels is None:
        return [], np.zeros((0, 101, 101), bool)
    if isinstance(pseudo_labels, str):
        if pseudo_labels != "accepted":
            raise SaltviewerError(f"pseudo_labels must be 'accepted', None or a dict of id to mask; got {pseudo_labels!r}.")
        try:
            from ..store import CurationStore
        except ImportError:
            raise SaltviewerError("--pseudo-labels accepted: this installation has no curation store "
                                  "(saltviewer.store).") from None
        pseudo_labels = CurationStore(workspace.store_path).pseudo_labels(dataset)
    if not isinstance(pseudo_labels, dict):
        raise SaltviewerError(f"pseudo_labels must be None, 'accepted' or a dict of id to mask; "
                              f"got {type(pseudo_labels).__name__}.")
    ids, masks = [], []
    for tile_id in sorted(pseudo_labels):
        index = dataset.index(tile_id)
        mask = np.asarray(pseudo_labels[tile_id])
        if mask.shape != (101, 101):
            raise SaltviewerError(f"pseudo-label of {tile_id!r} has shape {mask.shape}; expected (101, 101).")
        if dataset.has_mask[index]:
            continue
        ids.append(tile_id)
        masks.append(mask.astype(bool))
    return ids, (np.stack(masks) if masks else np.zeros((0, 101, 101), bool))


def load_label_corrections(pseudo_labels, dataset, workspace):
    """Training masks a person replaced in review, when training reads the curation store.

    With ``pseudo_labels="accepted"`` the accepted and corrected ``"label"`` items of the
    store (`CurationStore.label_corrections`) take the place of the training masks they
    dispute; with anything else the training masks are used as they are.

    Returns
    -------
    corrections : dict of str to (101, 101) ndarray of bool
        Tile id to its mask in force, for labelled tiles of the dataset only.
    """
    if not (isinstance(pseudo_labels, str) and pseudo_labels == "accepted") or not Path(workspace.store_path).is_file():
        return {}
    from ..store import CurationStore

    with CurationStore(workspace.store_path) as store:
        corrections = store.label_corrections(dataset)
    return {i: np.asarray(m, bool) for i, m in corrections.items() if dataset.has_mask[dataset.index(i)]}


def prepare_inputs(dataset, indices, channels=()):
    """Model inputs for dataset rows: image / 255 plus the named feature channels.

    Returns
    -------
    x : (n, 101, 101, 1 + len(channels)) ndarray
        uint8 without extra channels, else float32 (see `as_inputs`).
    """
    from .data import as_inputs

    images = dataset.images(indices)
    features = None
    if channels:
        try:
            from ..features import compute_features
        except ImportError:
            raise SaltviewerError(f"--channels {' '.join(channels)}: this installation has no feature "
                                  "channels (saltviewer.features).") from None
        features = compute_features(images, dataset.depths[np.asarray(indices, int)], tuple(channels))
    return as_inputs(images, features)


def _check_channels(channels):
    channels = tuple(channels or ())
    if channels:
        try:
            from ..features import FEATURE_NAMES
        except ImportError:
            raise SaltviewerError(f"channels {' '.join(channels)}: this installation has no feature "
                                  "channels (saltviewer.features).") from None
        unknown = [c for c in channels if c not in FEATURE_NAMES]
        if unknown:
            raise SaltviewerError(f"channels: unknown channel {unknown[0]!r}; known: {', '.join(FEATURE_NAMES)}.")
    return channels


def train_model(data, workspace, recipe=None, *, pseudo_labels=None, base_version=None, on_progress=None,
                cancel=None, **settings):
    """Train a k-fold ensemble and write it as one new model version.

    Parameters
    ----------
    data : str, Path or Dataset
        A folder in the competition layout (or an open `saltviewer.Dataset`); its
        labelled tiles train and validate.
    workspace : str, Path or Workspace
    recipe : TrainingRecipe, optional
        Every setting of the run (`saltviewer.recipe.TrainingRecipe`); by default
        `TrainingRecipe.from_scratch()`. The card keeps it as ``recipe``.
    pseudo_labels : None, "accepted" or dict of id to (101, 101) bool
        Extra training tiles; they never enter validation folds, and at most the recipe's
        ``pseudo_fraction`` of each epoch's tiles are drawn from them. ``"accepted"`` reads
        the curation store's accepted and corrected pseudo-labels and also replaces the
        training masks that review corrected (`load_label_corrections`).
    base_version : str, optional
        Start every fold from this version's weights (fold k from its fold k, or its
        fold 0); the card records it as ``parent``. Each labelled tile keeps the fold it
        had in the parent (read from its ``oof.npz``), so the out-of-fold predictions of
        the new version come from models that never trained on those tiles, and the new
        and the parent's scores compare on the same tiles (``parent_oof_score``).
    on_progress : callable, optional
        Called from the training thread with a `ProgressEvent` (``kind`` in ``phase``,
        ``batch``, ``epoch``, ``fold``, ``done``).
    cancel : threading.Event, optional
        When set, training stops at the next batch end, nothing is written and
        `TrainingCancelled` is raised.
    **settings
        Recipe settings that replace the recipe's (``epochs=8``, ``folds=2``, ...); see
        `TrainingRecipe` for each one's meaning.

    Returns
    -------
    result : TrainResult

    Raises
    ------
    TrainingCancelled
        When `cancel` was set; no version is written.
    SaltviewerError
        For bad arguments or data (one clear line naming the setting).
    """
    from .. import __version__, competition_score, open_dataset
    from ..dataset import Dataset
    from ..recipe import TrainingRecipe
    from ..thresholds import apply_threshold, tune_threshold
    from ..workspace import as_workspace
    from .callbacks import ProgressEvent
    from .encoders import check_encoder_weights, encoder_spec

    started = time.monotonic()
    wall_start = time.time()
    emit = on_progress or (lambda event: None)
    configure_backend()
    if recipe is None:
        recipe = TrainingRecipe.from_scratch()
    elif not isinstance(recipe, TrainingRecipe):
        raise SaltviewerError(f"recipe must be a TrainingRecipe, got {type(recipe).__name__}.")
    if "loss_schedule" in settings and settings["loss_schedule"] is not None:
        settings["loss_schedule"] = tuple(tuple(stage) for stage in settings["loss_schedule"])
    recipe = recipe.replace(**settings).check()
    workspace = as_workspace(workspace)
    dataset = data if isinstance(data, Dataset) else open_dataset(data)

    parent_card = workspace.card(base_version) if base_version else None
    encoder = recipe.encoder or (parent_card["encoder"] if parent_card else "small")
    spec = encoder_spec(encoder)
    encoder_weights = recipe.encoder_weights
    check_encoder_weights(encoder, encoder_weights)
    channels = _check_channels(recipe.channels)
    input_size = int(recipe.input_size or spec.input_size)
    recipe = recipe.replace(encoder=encoder, input_size=input_size, channels=channels)
    epochs, folds, seed = recipe.epochs, recipe.folds, recipe.seed
    budget_minutes, batch_size, resize_mode = recipe.budget_minutes, recipe.batch_size, recipe.resize_mode
    width, hypercolumn, scse, optimizer = recipe.width, recipe.hypercolumn, recipe.scse, recipe.optimizer
    min_lr_ratio, swa_epochs, augment, tta = recipe.min_lr_ratio, recipe.swa_epochs, recipe.augment, recipe.tta
    bn_batches = recipe.bn_batches
    if parent_card:
        for key, value in (("encoder", encoder), ("input_size", input_size), ("resize_mode", resize_mode),
                           ("channels", list(channels))):
            if parent_card.get(key) != value:
                raise SaltviewerError(f"base_version {base_version}: its {key} is {parent_card.get(key)!r} but this "
                                      f"run asks for {value!r}; a fine-tuned model keeps its parent's architecture.")
    schedule = recipe.schedule()
    swa_planned = _swa_epochs(schedule, swa_epochs)
    max_lr = recipe.peak_lr()

    if check_encoder_weights(encoder, encoder_weights) == "imagenet":
        from .encoders import build_encoder

        build_encoder(encoder, input_size, weights="imagenet")   # fail now, not after loading the tiles
    emit(ProgressEvent("phase", n_folds=folds, n_epochs=epochs, message="loading tiles"))
    dataset.use_cache(workspace)
    labelled = np.flatnonzero((dataset.split == "train") & dataset.has_mask)
    if len(labelled) == 0:
        raise SaltviewerError(f"{dataset.root}: has no labelled tiles (train/masks or train.csv) to train on.")
    masks = dataset.masks(labelled)
    corrections = load_label_corrections(pseudo_labels, dataset, workspace)
    if corrections:
        position = {tile_id: k for k, tile_id in enumerate(dataset.ids[i] for i in labelled)}
        for tile_id, mask in corrections.items():
            if tile_id in position:
                masks[position[tile_id]] = mask
    x_labelled = prepare_inputs(dataset, labelled, channels)
    pseudo_ids, pseudo_masks = load_pseudo_labels(pseudo_labels, dataset, workspace)
    if pseudo_ids:
        pseudo_rows = np.array([dataset.index(i) for i in pseudo_ids])
        x_all = np.concatenate([x_labelled, prepare_inputs(dataset, pseudo_rows, channels)])
        y_all = np.concatenate([masks, pseudo_masks])
    else:
        x_all, y_all = x_labelled, masks
    fold_of = stratified_fold_assignment(masks, folds, seed)
    label_ids = [dataset.ids[i] for i in labelled]
    parent_oof = None
    if parent_card:
        fold_of, parent_oof = parent_folds(workspace, base_version, parent_card, label_ids, fold_of, folds)
    fold_of_all = np.concatenate([fold_of, np.full(len(pseudo_ids), -1)])
    n_models = max(folds, 1)

    work = Path(tempfile.mkdtemp(prefix=".training-", dir=_ensure(workspace.models_dir)))
    try:
        oof = np.full(masks.shape, np.nan, np.float32)
        fold_cards = []
        timing = {}   # measured speed, so later folds fit their schedule to the budget
        cut_by_budget = False
        for k in range(n_models):
            deadline = None
            if budget_minutes is not None:
                deadline = started + budget_minutes * 60.0 * (k + 1) / n_models
            fold_card, probabilities, cut = _train_fold(
                k, n_models, x_all, y_all, fold_of_all, encoder=encoder, input_size=input_size,
                resize_mode=resize_mode, channels=x_all.shape[-1], encoder_weights=encoder_weights, width=width,
                hypercolumn=hypercolumn, scse=scse, schedule=schedule, optimizer=optimizer, max_lr=max_lr,
                min_lr_ratio=min_lr_ratio, swa_epochs=swa_epochs, batch_size=batch_size, augment=augment, timing=timing,
                tta=tta, seed=seed, emit=emit, cancel=cancel, deadline=deadline, bn_batches=bn_batches,
                n_labelled=len(labelled), recipe=recipe,
                base=(workspace, base_version, parent_card), out=work / f"fold{k}.keras")
            cut_by_budget |= fold_card["cut_by_budget"]
            val = fold_of == k
            oof[val] = probabilities
            fold_cards.append(fold_card)
            emit(ProgressEvent("fold", fold=k, n_folds=n_models, n_epochs=epochs,
                               logs={"val_score": fold_card["val_score"]}, message=f"fold {k + 1}/{n_models} done"))

        if cancel is not None and cancel.is_set():
            raise TrainingCancelled("cancelled")
        emit(ProgressEvent("phase", n_folds=n_models, n_epochs=epochs, message="tuning threshold"))
        has_oof = fold_of >= 0
        truth, probs = masks[has_oof], oof[has_oof]
        choice = tune_threshold(truth, probs)
        score_at_half = competition_score(truth, apply_threshold(probs, 0.5, 0))
        ids = [dataset.ids[i] for i in labelled]
        np.savez_compressed(work / "oof.npz", ids=np.array(ids)[has_oof], folds=fold_of[has_oof],
                            probabilities=np.rint(probs * 255).astype(np.uint8))

        import keras

        parent_score = None
        if parent_oof is not None:
            parent_score = _parent_score(parent_oof, parent_card, ids, has_oof, masks)
        card = {
            "recipe": recipe.to_card(),
            "parent_oof_score": parent_score,
            "encoder": encoder, "encoder_weights": str(encoder_weights), "input_size": input_size,
            "resize_mode": resize_mode, "channels": list(channels), "in_channels": int(x_all.shape[-1]),
            "width": width if encoder == "small" else None, "hypercolumn": bool(hypercolumn), "scse": bool(scse),
            "loss_schedule": [{"loss": loss, "epochs": n} for loss, n in schedule],
            "optimizer": ({"name": "normalized_sgd", "momentum": 0.9, "nesterov": True} if optimizer == "nsgd"
                          else {"name": "adam"}),
            "lr_schedule": {"name": "cosine_restarts", "max_lr": max_lr, "min_lr": max_lr * min_lr_ratio,
                            "cycle": "one cycle per loss stage (warm restart at each switch)"},
            "swa": {"epochs": swa_planned, "batchnorm_recomputed": bool(swa_planned),
                    "per_fold": [f["swa_averaged"] for f in fold_cards]},
            "augmentation": ({"hflip": 0.5, "shift_px": 8, "scale": [0.9, 1.15], "brightness": 0.08,
                              "contrast": [0.85, 1.15]} if augment else None),
            "batch_size": batch_size, "epochs": epochs, "folds": folds,
            "fold_models": [f"fold{k}.keras" for k in range(n_models)], "fold_details": fold_cards,
            "dataset": str(dataset.root), "dataset_key": dataset.key,
            "ids_hash": _ids_hash(ids), "ids_count": len(ids),
            "pseudo_labels": ({"count": len(pseudo_ids), "hash": _mask_hash(pseudo_ids, pseudo_masks)}
                              if pseudo_ids else None),
            "label_corrections": ({"count": len(corrections),
                                   "hash": _mask_hash(sorted(corrections), np.array([corrections[i] for i in sorted(corrections)]))}
                                  if corrections else None),
            "oof_count": int(has_oof.sum()), "oof_score": choice.score, "oof_score_at_0.5": score_at_half,
            "threshold": choice.threshold, "min_area": choice.min_area, "tta": bool(tta),
            "parent": base_version, "seed": seed,
            "timings": {"total_s": round(time.monotonic() - started, 1),
                        "folds_s": [f["seconds"] for f in fold_cards], "started": wall_start},
            "cut_by_budget": bool(cut_by_budget), "budget_minutes": budget_minutes,
            "keras_backend": keras.backend.backend(), "keras_version": keras.__version__,
            "saltviewer_version": __version__,
        }
        if cancel is not None and cancel.is_set():
            raise TrainingCancelled("cancelled")
        emit(ProgressEvent("phase", n_folds=n_models, n_epochs=epochs, message="writing version"))

        def write_files(folder):
            for name in card["fold_models"] + ["oof.npz"]:
                os.replace(work / name, Path(folder) / name)

        version = workspace.add_version(card, write_files)
        card = workspace.card(version)
        emit(ProgressEvent("done", n_folds=n_models, n_epochs=epochs, message=version,
                           logs={"oof_score": choice.score, "threshold": choice.threshold,
                                 "min_area": float(choice.min_area)}))
        return TrainResult(version, card, workspace.version_dir(version), list(np.array(ids)[has_oof]), probs)
    finally:
        shutil.rmtree(work, ignore_errors=True)


#: TensorFlow's inter-op threads: at least this many. With one per core (2 here) its thread pool
#: could deadlock, the train step waiting for a batch that the input pipeline (a Python generator
#: prefetched by tf.data) had no thread left to make; seen twice on a loaded 2-core machine.
MIN_INTER_OP_THREADS = 4


def configure_backend():
    """Give TensorFlow enough inter-op threads (see `MIN_INTER_OP_THREADS`); a no-op on other
    backends or once TensorFlow has started (``TF_NUM_INTEROP_THREADS`` set earlier wins)."""
    import keras

    if keras.backend.backend() != "tensorflow" or os.environ.get("TF_NUM_INTEROP_THREADS"):
        return
    import tensorflow as tf

    try:
        if tf.config.threading.get_inter_op_parallelism_threads() < MIN_INTER_OP_THREADS:
            tf.config.threading.set_inter_op_parallelism_threads(max(MIN_INTER_OP_THREADS, os.cpu_count() or 1))
    except RuntimeError:       # TensorFlow already running: keep what it has
        pass


def parent_folds(workspace, base_version, parent_card, ids, fold_of, folds):
    """Each labelled tile's fold in the parent version, where the parent has one.

    A fine-tuned fold k starts from the parent's fold-k model, which trained on every tile
    outside the parent's fold k; validating fold k on other tiles would score the model on
    tiles it learned. So tiles keep the parent's folds (from its ``oof.npz``); tiles the
    parent never saw keep `fold_of`.

    Returns
    -------
    fold_of : (N,) ndarray of int
    parent_oof : dict or None
        ``{"ids": list, "probabilities": (M, 101, 101) uint8}`` of the parent's out-of-fold
        maps, or None when the parent kept none or had another number of folds.
    """
    path = workspace.version_dir(base_version) / "oof.npz"
    if int(parent_card.get("folds") or 0) != int(folds) or not path.is_file():
        return fold_of, None
    with np.load(path) as oof:
        parent_ids = [str(i) for i in oof["ids"]]
        parent_fold = np.asarray(oof["folds"], int)
        probabilities = np.asarray(oof["probabilities"])
    where = {tile_id: k for k, tile_id in enumerate(parent_ids)}
    fold_of = np.array(fold_of, copy=True)
    for k, tile_id in enumerate(ids):
        if tile_id in where:
            fold_of[k] = parent_fold[where[tile_id]]
    return fold_of, {"ids": parent_ids, "probabilities": probabilities}


def _parent_score(parent_oof, parent_card, ids, has_oof, masks):
    """The parent's out-of-fold score on the tiles this version's out-of-fold score covers."""
    from .. import competition_score
    from ..thresholds import apply_threshold

    where = {tile_id: k for k, tile_id in enumerate(parent_oof["ids"])}
    rows = [k for k in np.flatnonzero(has_oof) if ids[k] in where]
    if not rows:
        return None
    levels = parent_oof["probabilities"][[where[ids[k]] for k in rows]]
    probabilities = levels.astype(np.float32) / 255.0 if levels.dtype == np.uint8 else levels.astype(np.float32)
    predicted = apply_threshold(probabilities, parent_card.get("threshold") or 0.5, parent_card.get("min_area") or 0)
    return {"score": float(competition_score(masks[rows], predicted)), "tiles": len(rows)}


def _swa_epochs(schedule, requested):
    """SWA epochs for a schedule: `requested` (capped by the last stage), or the default rule."""
    last_stage = schedule[-1][1]
    if requested is None:
        return max(2, last_stage // 4) if last_stage >= 4 else 0
    return min(int(requested), last_stage)


def fit_schedule(schedule, epochs):
    """Shrink a loss schedule to `epochs` epochs, keeping the stages' proportions.

    Each stage keeps at least one epoch while there are enough; with fewer epochs than
    stages, the first stages get one epoch each.

    Examples
    --------
    >>> fit_schedule([("bce_dice", 8), ("lovasz", 8)], 5)
    [('bce_dice', 3), ('lovasz', 2)]
    """
    total = sum(n for _, n in schedule)
    if epochs >= total:
        return list(schedule)
    if epochs <= len(schedule):
        return [(loss, 1) for loss, _ in schedule[:max(epochs, 1)]]
    raw = [n * epochs / total for _, n in schedule]
    counts = [max(1, int(r)) for r in raw]
    while sum(counts) < epochs:
        i = max(range(len(raw)), key=lambda j: raw[j] - counts[j])
        counts[i] += 1
    while sum(counts) > epochs:
        i = max(range(len(raw)), key=lambda j: counts[j] - raw[j] if counts[j] > 1 else -1)
        counts[i] -= 1
    return [(loss, c) for (loss, _), c in zip(schedule, counts)]


def _probe_seconds_per_batch(model, batches, steps=3):
    """Time a few training steps that leave the weights as they are (SGD with learning rate 0)."""
    import keras

    from .losses import BCEDice

    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss=BCEDice(), jit_compile=False)
    x, y = batches[0]
    model.train_on_batch(x, y)                      # trace
    start = time.monotonic()
    for _ in range(steps):
        model.train_on_batch(x, y)
    return (time.monotonic() - start) / steps


def stratified_fold_assignment(masks, folds, seed):
    from .folds import stratified_folds

    return stratified_folds(masks, folds, seed)


def _ensure(path):
    Path(path).mkdir(parents=True, exist_ok=True)
    return path


def _train_fold(k, n_models, x_all, y_all, fold_of_all, *, encoder, input_size, resize_mode, channels,
                encoder_weights, width, hypercolumn, scse, schedule, optimizer, max_lr, min_lr_ratio, swa_epochs,
                batch_size, augment, tta, seed, emit, cancel, deadline, bn_batches, base, out, timing, n_labelled,
                recipe):
    """Train one fold; returns (fold card, validation probabilities, cut by budget)."""
    import keras

    from .callbacks import (SWA, BestWeights, ProgressEvent, ProgressReporter, TrainingControl, ValidationScore,
                            recompute_batchnorm)
    from .data import TileBatches
    from .losses import get_loss
    from .models import build_unet
    from .optimizers import CosineRestarts, make_optimizer
    from .tta import predict_probabilities

    fold_start = time.monotonic()
    epochs = requested_epochs = sum(n for _, n in schedule)
    train_rows = np.flatnonzero(fold_of_all != k)
    labelled_rows = train_rows[train_rows < n_labelled]
    pseudo_rows = train_rows[train_rows >= n_labelled]
    epoch_tiles, from_pseudo = recipe.epoch_size(len(labelled_rows), len(pseudo_rows))
    val_rows = np.flatnonzero(fold_of_all == k)
    x_val, y_val = x_all[val_rows], y_all[val_rows]
    keras.utils.set_random_seed(seed * 1000 + k)
    model = build_unet(encoder, input_size=input_size, resize_mode=resize_mode, channels=channels,
                       encoder_weights=encoder_weights, width=width, hypercolumn=hypercolumn, scse=scse)
    workspace, base_version, parent_card = base
    if base_version:
        _load_parent_weights(model, workspace, base_version, parent_card, k)

    batches = TileBatches(x_all, y_all, batch_size=batch_size, shuffle=True, augment=augment,
                          seed=seed * 1000 + k, indices=labelled_rows, pseudo_indices=pseudo_rows,
                          epoch_tiles=epoch_tiles, from_pseudo=from_pseudo)
    original = list(schedule)
    control = TrainingControl(cancel, deadline)
    validation = ValidationScore(x_val, y_val)
    best = BestWeights()
    swa = SWA(start_epoch=epochs)
    reporter = ProgressReporter(emit, fold=k, n_folds=n_models, n_epochs=epochs)
    done = []              # (loss, epochs run) of the stages so far
    history_all = []       # validation scores of every epoch
    plan = list(original)
    epoch = 0
    stopped = False
    for stage in range(len(original)):
        loss_name, stage_epochs = original[stage]
        if deadline is not None:
            # Fit the rest of the schedule to the time left (re-planned at every stage, as the
            # machine's speed changes), so that a budget still ends with the Lovasz stage, a
            # cooled-down learning rate and SWA rather than being cut in the middle.
            if "epoch_seconds" not in timing:
                per_batch = _probe_seconds_per_batch(model, batches)
                val_batches = len(x_val) / batch_size
                timing["epoch_seconds"] = per_batch * (len(batches) + val_batches / 3)
                timing["overhead_seconds"] = 15 + per_batch * (len(batches) / 2 + val_batches)
            left = deadline - time.monotonic() - timing["overhead_seconds"]
            if stage > 0 and left < timing["epoch_seconds"]:
                break
            rest = fit_schedule(original[stage:], int(max(1, left // timing["epoch_seconds"])))
            plan = done + rest
            loss_name, stage_epochs = rest[0]
            if rest[0][0] != original[stage][0]:
                break
        reporter.n_epochs = sum(n for _, n in plan)
        if stage == 0:
            emit(ProgressEvent("phase", fold=k, n_folds=n_models, n_epochs=reporter.n_epochs, n_batches=len(batches),
                               message=f"fold {k + 1}/{n_models}: training"))
        steps = len(batches) * stage_epochs
        lr = CosineRestarts(max_lr, cycle_steps=steps, min_lr=max_lr * min_lr_ratio,
                            warmup_steps=min(len(batches), steps // 10) if stage == 0 and not base_version else 0)
        model.compile(optimizer=make_optimizer(optimizer, lr), loss=get_loss(loss_name), jit_compile=False)
        # The control goes last, so a cancel set by the progress callback stops at this batch end.
        callbacks = [validation, best, reporter, control]
        if stage == len(original) - 1:
            n_swa = _swa_epochs([(loss_name, stage_epochs)], swa_epochs)
            if n_swa:
                swa.start_epoch = epoch + stage_epochs - n_swa
                callbacks.insert(1, swa)
        fit_start = time.monotonic()
        history = model.fit(batches, epochs=epoch + stage_epochs, initial_epoch=epoch, callbacks=callbacks, verbose=0)
        ran = len(history.epoch)
        done.append((loss_name, ran))
        history_all.extend(validation.history_)
        if ran and not (control.out_of_time_ or control.cancelled_):
            timing["epoch_seconds"] = (time.monotonic() - fit_start) / ran
        epoch += ran
        if control.cancelled_:
            raise TrainingCancelled("cancelled")
        if control.out_of_time_:
            stopped = True
            break

    # Choose the final weights: SWA (with BatchNorm statistics recomputed) or the best epoch.
    selected, swa_score = "last", None
    if not len(x_val):
        last_score = None
    elif history_all:
        last_score = history_all[-1]["val_score"]   # the weights of the last epoch end
    else:
        last_score = validation.evaluate()["val_score"]
    candidates = [("last", last_score, [np.array(w) for w in model.get_weights()])]
    if best.weights_ is not None:
        candidates.append(("best_epoch", best.best_, best.weights_))
    if swa.n_averaged_ >= 2 or (swa.n_averaged_ == 1 and stopped):
        emit(ProgressEvent("phase", fold=k, n_folds=n_models, n_epochs=epochs,
                           message=f"fold {k + 1}/{n_models}: weight averaging and BatchNorm statistics"))
        swa.apply(model)
        order = np.random.default_rng(seed).permutation(train_rows)
        limit = len(order) if bn_batches is None else int(bn_batches) * batch_size
        bn_source = (x_all[order[i:i + batch_size]] for i in range(0, min(limit, len(order)), batch_size))
        recompute_batchnorm(model, bn_source, cancel)
        swa_score = validation.evaluate()["val_score"] if len(x_val) else None
        candidates.append(("swa", swa_score, [np.array(w) for w in model.get_weights()]))
    # Keep SWA (or else the last weights) without looking at validation scores, so that the
    # out-of-fold score is not inflated by choosing on the fold it is measured on; only a fold
    # cut short by the budget keeps its best epoch so far.
    chosen = {name: (name, score, weights) for name, score, weights in candidates}
    if "swa" in chosen and not stopped:
        selected, score, weights = chosen["swa"]
    elif stopped and "best_epoch" in chosen and len(x_val):
        selected, score, weights = max((chosen["best_epoch"], chosen.get("swa", chosen["last"]), chosen["last"]),
                                       key=lambda c: -1 if c[1] is None else c[1])
    else:
        selected, score, weights = chosen["last"]
    model.set_weights(weights)
    emit(ProgressEvent("phase", fold=k, n_folds=n_models, n_epochs=epochs,
                       message=f"fold {k + 1}/{n_models}: out-of-fold prediction"))
    probabilities = predict_probabilities(model, x_val, tta=tta, cancel=cancel) if len(x_val) else \
        np.zeros((0, 101, 101), np.float32)
    model.save(out)
    if deadline is not None:
        timing["overhead_seconds"] = max(0.0, time.monotonic() - fold_start - epoch * timing["epoch_seconds"])
    card = {"fold": k, "train_tiles": int(len(labelled_rows)), "pseudo_tiles": int(len(pseudo_rows)),
            "epoch_tiles": int(epoch_tiles), "epoch_pseudo_tiles": int(from_pseudo), "val_tiles": int(len(val_rows)),
            "loss_schedule": [[loss, n] for loss, n in done], "epochs_run": int(epoch),
            "selected": selected, "val_score": None if score is None else float(score),
            "best_epoch": int(best.best_epoch_), "best_epoch_score": None if best.weights_ is None else float(best.best_),
            "swa_score": swa_score, "swa_averaged": int(swa.n_averaged_),
            "history": history_all, "cut_by_budget": bool(stopped or epoch < requested_epochs),
            "seconds": round(time.monotonic() - fold_start, 1)}
    del model
    return card, probabilities, stopped


def _load_parent_weights(model, workspace, base_version, parent_card, k):
    import keras

    names = parent_card.get("fold_models") or []
    if not names:
        raise SaltviewerError(f"--base {base_version}: its card lists no fold models.")
    name = names[k] if k < len(names) else names[0]
    parent = keras.saving.load_model(workspace.version_dir(base_version) / name, compile=False)
    try:
        model.set_weights(parent.get_weights())
    except ValueError as error:
        raise SaltviewerError(f"--base {base_version}: its weights do not fit this model "
                              f"({str(error).splitlines()[0][:160]}).") from None
