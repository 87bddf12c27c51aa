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
from .fold import fit_schedule, planned_swa_epochs, train_fold  # noqa: F401 - fit_schedule importable here too
from .labels import load_label_corrections, load_pseudo_labels, load_training_labels, mask_hash, parent_folds
from .labels import parent_score as _parent_score

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


def prepare_inputs(dataset, indices, channels=(), *, mosaics=None, margin=0):
    """Model inputs for dataset rows: image / 255 plus the named feature channels.

    With `mosaics` and a `margin` (a context model's, see `saltviewer.training.context`),
    each tile comes in a window of ``101 + 2 margin`` pixels with its neighbours around it.

    Returns
    -------
    x : (n, 101, 101, 1 + len(channels)) ndarray
        uint8 without extra channels, else float32 (see `as_inputs`); ``(n, W, W, 1)``
        uint8 windows with context.
    """
    from .data import as_inputs

    if margin:
        from .context import context_inputs

        if channels:
            raise SaltviewerError("context windows carry the image only; feature channels "
                                  f"({' '.join(channels)}) cannot be combined with them yet.")
        return context_inputs(dataset, indices, mosaics, margin)

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
    from .context import card_context, workspace_mosaics
    from .encoders import check_encoder_weights, encoder_spec
    from .models import context_margin

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
    context = recipe.context
    if context is None:
        context = bool(parent_card and card_context(parent_card))
        recipe = recipe.replace(context=context).check()
    margin = context_margin(input_size) if context else 0
    if context and margin == 0:
        raise SaltviewerError(f"context: input_size {input_size} leaves no margin around the {101}-pixel tile.")
    if parent_card:
        for key, value in (("encoder", encoder), ("input_size", input_size), ("resize_mode", resize_mode),
                           ("channels", list(channels))):
            if parent_card.get(key) != value:
                raise SaltviewerError(f"base_version {base_version}: its {key} is {parent_card.get(key)!r} but this "
                                      f"run asks for {value!r}; a fine-tuned model keeps its parent's architecture.")
    schedule = recipe.schedule()
    swa_planned = planned_swa_epochs(schedule, swa_epochs)
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
    pseudo_ids, pseudo_masks, corrections = load_training_labels(pseudo_labels, dataset, workspace)
    if corrections:
        position = {tile_id: k for k, tile_id in enumerate(dataset.ids[i] for i in labelled)}
        for tile_id, mask in corrections.items():
            if tile_id in position:
                masks[position[tile_id]] = mask
    mosaics = workspace_mosaics(workspace, dataset, emit) if context else None
    x_labelled = prepare_inputs(dataset, labelled, channels, mosaics=mosaics, margin=margin)
    if pseudo_ids:
        pseudo_rows = np.array([dataset.index(i) for i in pseudo_ids])
        x_all = np.concatenate([x_labelled, prepare_inputs(dataset, pseudo_rows, channels, mosaics=mosaics,
                                                           margin=margin)])
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
            fold_card, probabilities, cut = train_fold(
                k, n_models, x_all, y_all, fold_of_all, encoder=encoder, input_size=input_size,
                resize_mode=resize_mode, channels=x_all.shape[-1], encoder_weights=encoder_weights, width=width,
                hypercolumn=hypercolumn, scse=scse, schedule=schedule, optimizer=optimizer, max_lr=max_lr,
                min_lr_ratio=min_lr_ratio, swa_epochs=swa_epochs, batch_size=batch_size, augment=augment, timing=timing,
                tta=tta, seed=seed, emit=emit, cancel=cancel, deadline=deadline, bn_batches=bn_batches,
                n_labelled=len(labelled), recipe=recipe, context=bool(context),
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

        same_tiles = None
        if parent_oof is not None:
            same_tiles = _parent_score(parent_oof, parent_card, ids, has_oof, masks)
        card = {
            "recipe": recipe.to_card(),
            "parent_oof_score": same_tiles,
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
            "pseudo_labels": ({"count": len(pseudo_ids), "hash": mask_hash(pseudo_ids, pseudo_masks)}
                              if pseudo_ids else None),
            "label_corrections": ({"count": len(corrections),
                                   "hash": mask_hash(sorted(corrections), np.array([corrections[i] for i in sorted(corrections)]))}
                                  if corrections else None),
            "oof_count": int(has_oof.sum()), "oof_score": choice.score, "oof_score_at_0.5": score_at_half,
            "threshold": choice.threshold, "min_area": choice.min_area, "tta": bool(tta),
            "parent": base_version, "seed": seed,
            "context": ({"margin": margin, "mosaics": len(mosaics),
                         "labelled_tiles_placed": int((mosaics.mosaic_index[labelled] >= 0).sum())}
                        if context else None),
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


def stratified_fold_assignment(masks, folds, seed):
    from .folds import stratified_folds

    return stratified_folds(masks, folds, seed)


def _ensure(path):
    Path(path).mkdir(parents=True, exist_ok=True)
    return path
