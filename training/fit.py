"""Train a k-fold U-Net ensemble and write it as one new model version.

The recipe (all of it recorded in the version's card):

1. Labelled tiles are split into k folds stratified by salt coverage (a fine-tune keeps its
   parent's folds). Reviewed tiles (decided in the curation store while a person saw them)
   are labels too, each in the fold its id gives (`labels.stable_fold`); pseudo-labels
   (accepted unseen) only ever train, never validate, and weigh less
   (`saltviewer.training.trainset`).
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
``reviewed_labels`` (``{count, new, hash, times_seen, new_times_seen, tiles: {id: fold}}`` or null),
``pseudo_labels`` (``{count, weight, hash}``) and ``label_corrections`` (``{count, hash}`` or null),
``oof_count``, ``oof_score`` (at the tuned
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
from .labels import load_label_corrections, load_pseudo_labels, load_training_labels, mask_hash  # noqa: F401
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
        ``"accepted"`` reads the curation store: unlabelled tiles a person decided while
        seeing them (corrected, or accepted one by one, on a grid page or in a mosaic) train
        as labels, in a fold's training and validation tiles (`saltviewer.training.trainset`);
        tiles accepted unseen in a batch are pseudo-labels: they never validate, take at most
        the recipe's ``pseudo_fraction`` of an epoch and weigh its ``pseudo_weight``; training
        masks that review corrected are replaced (`load_label_corrections`). A dict gives
        pseudo-labels.
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
    from .. import open_dataset
    from ..dataset import Dataset
    from ..workspace import as_workspace
    from .callbacks import ProgressEvent

    started = time.monotonic()
    wall_start = time.time()
    emit = on_progress or (lambda event: None)
    configure_backend()
    workspace = as_workspace(workspace)
    parent_card = workspace.card(base_version) if base_version else None
    recipe = resolve_recipe(recipe, settings, parent_card, base_version)
    dataset = data if isinstance(data, Dataset) else open_dataset(data)

    emit(ProgressEvent("phase", n_folds=recipe.folds, n_epochs=recipe.epochs, message="loading tiles"))
    run = _load_run(dataset, workspace, recipe, pseudo_labels, (workspace, base_version, parent_card), emit)
    n_models = max(recipe.folds, 1)
    work = Path(tempfile.mkdtemp(prefix=".training-", dir=_ensure(workspace.models_dir)))
    try:
        train = run.data
        oof = np.full((train.n_labelled, 101, 101), np.nan, np.float32)
        fold_cards = []
        timing = {}   # measured speed, so later folds fit their schedule to the budget
        for k in range(n_models):
            deadline = None
            if recipe.budget_minutes is not None:
                deadline = started + recipe.budget_minutes * 60.0 * (k + 1) / n_models
            fold_card, probabilities, _ = train_fold(
                k, n_models, train, recipe, base=(workspace, base_version, parent_card), emit=emit, cancel=cancel,
                deadline=deadline, timing=timing, out=work / f"fold{k}.keras")
            oof[train.fold_of[:train.n_labelled] == k] = probabilities
            fold_cards.append(fold_card)
            emit(ProgressEvent("fold", fold=k, n_folds=n_models, n_epochs=recipe.epochs,
                               logs={"val_score": fold_card["val_score"]}, message=f"fold {k + 1}/{n_models} done"))

        if cancel is not None and cancel.is_set():
            raise TrainingCancelled("cancelled")
        emit(ProgressEvent("phase", n_folds=n_models, n_epochs=recipe.epochs, message="tuning threshold"))
        card, has_oof = _version_card(run, recipe, oof, fold_cards, (base_version, parent_card),
                                      {"total_s": round(time.monotonic() - started, 1),
                                       "folds_s": [f["seconds"] for f in fold_cards], "started": wall_start})
        np.savez_compressed(work / "oof.npz", ids=np.array(train.ids[:train.n_labelled])[has_oof],
                            folds=train.fold_of[:train.n_labelled][has_oof],
                            probabilities=np.rint(oof[has_oof] * 255).astype(np.uint8))
        if cancel is not None and cancel.is_set():
            raise TrainingCancelled("cancelled")
        emit(ProgressEvent("phase", n_folds=n_models, n_epochs=recipe.epochs, message="writing version"))

        def write_files(folder):
            for name in card["fold_models"] + ["oof.npz"]:
                os.replace(work / name, Path(folder) / name)

        version = workspace.add_version(card, write_files)
        card = workspace.card(version)
        emit(ProgressEvent("done", n_folds=n_models, n_epochs=recipe.epochs, message=version,
                           logs={"oof_score": card["oof_score"], "threshold": card["threshold"],
                                 "min_area": float(card["min_area"])}))
        return TrainResult(version, card, workspace.version_dir(version),
                           list(np.array(train.ids[:train.n_labelled])[has_oof]), oof[has_oof])
    finally:
        shutil.rmtree(work, ignore_errors=True)


def resolve_recipe(recipe, settings, parent_card, base_version):
    """The run's recipe with every default a run needs filled in (encoder, input size, context,
    the loss schedule), checked against the parent's architecture."""
    from ..recipe import TrainingRecipe
    from .context import card_context
    from .encoders import build_encoder, check_encoder_weights, encoder_spec
    from .fold import parent_last_loss
    from .models import context_margin

    if recipe is None:
        recipe = TrainingRecipe.from_scratch()
    elif not isinstance(recipe, TrainingRecipe):
        raise SaltviewerError(f"recipe must be a TrainingRecipe, got {type(recipe).__name__}.")
    if "loss_schedule" in settings and settings["loss_schedule"] is not None:
        settings["loss_schedule"] = tuple(tuple(stage) for stage in settings["loss_schedule"])
    recipe = recipe.replace(**settings).check()
    if parent_card and recipe.input_size is None and parent_card.get("input_size"):
        # a fine-tune that does not say its geometry keeps its parent's
        recipe = recipe.replace(input_size=int(parent_card["input_size"]),
                                resize_mode=parent_card.get("resize_mode") or recipe.resize_mode)
    encoder = recipe.encoder or (parent_card["encoder"] if parent_card else "small")
    spec = encoder_spec(encoder)
    check_encoder_weights(encoder, recipe.encoder_weights)
    channels = _check_channels(recipe.channels)
    input_size = int(recipe.input_size or spec.input_size)
    context = recipe.context
    if context is None:
        context = bool(parent_card and card_context(parent_card))
    recipe = recipe.replace(encoder=encoder, input_size=input_size, channels=channels, context=context).check()
    if context and context_margin(input_size) == 0:
        raise SaltviewerError(f"context: input_size {input_size} leaves no margin around the {101}-pixel tile.")
    if parent_card:
        for key, value in (("encoder", encoder), ("input_size", input_size), ("resize_mode", recipe.resize_mode),
                           ("channels", list(channels))):
            if parent_card.get(key) != value:
                raise SaltviewerError(f"base_version {base_version}: its {key} is {parent_card.get(key)!r} but this "
                                      f"run asks for {value!r}; a fine-tuned model keeps its parent's architecture.")
        if recipe.continue_loss:
            recipe = recipe.replace(loss_schedule=tuple(recipe.schedule(parent_last_loss(parent_card))))
    if check_encoder_weights(encoder, recipe.encoder_weights) == "imagenet":
        build_encoder(encoder, input_size, weights="imagenet")   # fail now, not after loading the tiles
    return recipe


@dataclass
class _Run:
    dataset: object
    data: object            # TrainingSet
    labels: object          # TrainingLabels
    masks: np.ndarray       # the dataset's labelled masks, corrections applied
    mosaics: object
    margin: int


def _load_run(dataset, workspace, recipe, pseudo_labels, parent, emit):
    """The tiles of a run: labelled tiles (corrected), reviewed tiles and pseudo-labels, with folds."""
    from .context import workspace_mosaics
    from .models import context_margin
    from .trainset import build_training_set

    dataset.use_cache(workspace)
    labelled = np.flatnonzero((dataset.split == "train") & dataset.has_mask)
    if len(labelled) == 0:
        raise SaltviewerError(f"{dataset.root}: has no labelled tiles (train/masks or train.csv) to train on.")
    masks = dataset.masks(labelled)
    labels = load_training_labels(pseudo_labels, dataset, workspace)
    if labels.corrections:
        position = {tile_id: k for k, tile_id in enumerate(dataset.ids[i] for i in labelled)}
        for tile_id, mask in labels.corrections.items():
            if tile_id in position:
                masks[position[tile_id]] = mask
    margin = context_margin(recipe.input_size) if recipe.context else 0
    mosaics = workspace_mosaics(workspace, dataset, emit) if recipe.context else None

    def inputs(rows):
        return prepare_inputs(dataset, rows, recipe.channels, mosaics=mosaics, margin=margin)

    data = build_training_set(dataset, labelled, masks, labels, recipe, inputs,
                              parent=parent if parent[1] else None)
    return _Run(dataset, data, labels, masks, mosaics, margin)


def _version_card(run, recipe, oof, fold_cards, parent, timings):
    """The card of a finished run, and which labels have an out-of-fold prediction."""
    import keras

    from .. import __version__, competition_score
    from ..thresholds import apply_threshold, tune_threshold

    data, labels = run.data, run.labels
    base_version, parent_card = parent
    y = data.y[:data.n_labelled]
    has_oof = data.fold_of[:data.n_labelled] >= 0
    truth, probs = y[has_oof], oof[has_oof]
    choice = tune_threshold(truth, probs)
    score_at_half = competition_score(truth, apply_threshold(probs, 0.5, 0))
    ids = data.ids[:data.n_labelled]
    same_tiles = None
    if data.parent_oof is not None:
        same_tiles = _parent_score(data.parent_oof, parent_card, ids, has_oof, y, oof=oof,
                                   binarise=(choice.threshold, choice.min_area))
    schedule = recipe.schedule()
    swa_planned = planned_swa_epochs(schedule, recipe.swa_epochs)
    max_lr = recipe.peak_lr()
    reviewed = data.reviewed_ids
    reviewed_folds = data.fold_of[data.n_given:data.n_labelled]
    corrections = labels.corrections
    encoder, context = recipe.encoder, recipe.context
    card = {
        "recipe": recipe.to_card(),
        "parent_oof_score": same_tiles,
        "encoder": encoder, "encoder_weights": str(recipe.encoder_weights), "input_size": recipe.input_size,
        "resize_mode": recipe.resize_mode, "channels": list(recipe.channels), "in_channels": int(data.x.shape[-1]),
        "width": recipe.width if encoder == "small" else None, "hypercolumn": bool(recipe.hypercolumn),
        "scse": bool(recipe.scse),
        "loss_schedule": [{"loss": loss, "epochs": n} for loss, n in schedule],
        "optimizer": ({"name": "normalized_sgd", "momentum": 0.9, "nesterov": True} if recipe.optimizer == "nsgd"
                      else {"name": "adam"}),
        "lr_schedule": {"name": "cosine_restarts", "max_lr": max_lr, "min_lr": max_lr * recipe.min_lr_ratio,
                        "cycle": "one cycle per loss stage (warm restart at each switch)",
                        "warmup_epochs": recipe.warmup_epochs},
        "swa": {"epochs": swa_planned, "batchnorm_recomputed": bool(swa_planned),
                "per_fold": [f["swa_averaged"] for f in fold_cards]},
        "augmentation": ({"hflip": 0.5, "shift_px": 8, "scale": [0.9, 1.15], "brightness": 0.08,
                          "contrast": [0.85, 1.15]} if recipe.augment else None),
        "batch_size": recipe.batch_size, "epochs": recipe.epochs, "folds": recipe.folds,
        "fold_models": [f"fold{k}.keras" for k in range(max(recipe.folds, 1))], "fold_details": fold_cards,
        "dataset": str(run.dataset.root), "dataset_key": run.dataset.key,
        "ids_hash": _ids_hash(ids[:data.n_given]), "ids_count": data.n_given,
        "reviewed_labels": ({"count": len(reviewed), "new": int(np.count_nonzero(data.new)),
                             "hash": mask_hash(reviewed, data.y[data.n_given:data.n_labelled]),
                             "times_seen": recipe.times_seen(), "new_times_seen": recipe.times_seen(new=True),
                             "tiles": {tile: int(fold) for tile, fold in zip(reviewed, reviewed_folds)}}
                            if reviewed else None),
        "pseudo_labels": ({"count": len(data.pseudo_ids), "weight": float(recipe.pseudo_weight),
                           "hash": mask_hash(data.pseudo_ids, data.y[data.n_labelled:])}
                          if data.pseudo_ids else None),
        "label_corrections": ({"count": len(corrections),
                               "hash": mask_hash(sorted(corrections),
                                                 np.array([corrections[i] for i in sorted(corrections)]))}
                              if corrections else None),
        "oof_count": int(has_oof.sum()), "oof_score": choice.score, "oof_score_at_0.5": score_at_half,
        "threshold": choice.threshold, "min_area": choice.min_area, "tta": bool(recipe.tta),
        "parent": base_version, "seed": recipe.seed,
        "context": ({"margin": run.margin, "mosaics": len(run.mosaics),
                     "labelled_tiles_placed": int((run.mosaics.mosaic_index[
                         np.flatnonzero((run.dataset.split == "train") & run.dataset.has_mask)] >= 0).sum())}
                    if context else None),
        "timings": timings,
        "cut_by_budget": any(f["cut_by_budget"] for f in fold_cards), "budget_minutes": recipe.budget_minutes,
        "keras_backend": keras.backend.backend(), "keras_version": keras.__version__,
        "saltviewer_version": __version__,
    }
    return card, has_oof


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
