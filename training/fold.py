"""One fold of a training run: build (or load the parent's weights), train through the loss
schedule, average weights, pick the weights kept, predict the validation tiles.

`saltviewer.training.fit.train_model` calls `train_fold` once per fold.
"""

import time

import numpy as np

from .._errors import SaltviewerError, TrainingCancelled

__all__ = ["train_fold", "fit_schedule", "planned_swa_epochs"]


def planned_swa_epochs(schedule, requested):
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


def _jit_compile():
    """Whether `model.compile` asks for XLA: on TensorFlow no, as before (``tf.function`` runs the
    step as one graph already); on JAX yes, since there ``False`` runs the train step eagerly, op
    by op, many times slower, and under a data-parallel distribution each of those small ops is
    its own multi-device program, whose all-reduces deadlocked now and then on XLA's CPU devices
    (CI: "Termination timeout ... exceeded")."""
    import keras

    return keras.backend.backend() != "tensorflow"


def _compile(model, optimizer, loss):
    """`model.compile` (XLA as `_jit_compile` says), then the optimizer's variables created at once.

    On TensorFlow a ``tf.function`` whose first call creates variables is traced twice (once
    to create them, once more without), and tracing the step of even a small U-Net takes
    many seconds: with the optimizer built here, each compile costs one trace (a stage of a
    tiny model 12 s instead of 22 s). The variables are the same either way (zeros, and the
    step count).
    """
    model.compile(optimizer=optimizer, loss=loss, jit_compile=_jit_compile())
    model.optimizer.build(model.trainable_variables)


def _probe_seconds_per_batch(model, batches, steps=3):
    """Time a few training steps that leave the weights as they are (SGD with learning rate 0)."""
    import keras

    from .losses import BCEDice

    _compile(model, keras.optimizers.SGD(learning_rate=0.0), BCEDice())
    x, y = batches[0][:2]
    model.train_on_batch(x, y)                      # trace
    start = time.monotonic()
    for _ in range(steps):
        model.train_on_batch(x, y)
    return (time.monotonic() - start) / steps


def train_fold(k, n_models, data, recipe, *, base, emit, cancel, deadline, timing, out):
    """Train one fold; returns (fold card, validation probabilities, cut by budget).

    Parameters
    ----------
    k, n_models : int
        This fold and the number of fold models.
    data : TrainingSet
        Every row of the run (`saltviewer.training.trainset`).
    recipe : TrainingRecipe
        The run's settings, resolved (encoder, input size, schedule, context).
    base : tuple
        ``(workspace, parent version or None, parent card or None)``.
    emit, cancel, deadline, timing, out
        Progress callback, cancel event, wall-clock deadline (or None), the speed measured
        so far (shared by the folds), and the ``.keras`` file to write.
    """
    import keras

    from .callbacks import (SWA, BestWeights, ProgressEvent, ProgressReporter, TrainingControl, ValidationScore,
                            recompute_batchnorm)
    from .data import TileBatches
    from .losses import get_loss
    from .models import build_unet
    from .optimizers import CosineRestarts, make_optimizer
    from .tta import predict_probabilities

    fold_start = time.monotonic()
    workspace, base_version, parent_card = base
    schedule = recipe.schedule(parent_last_loss(parent_card))
    seed, batch_size, max_lr = recipe.seed, recipe.batch_size, recipe.peak_lr()
    epochs = requested_epochs = sum(n for _, n in schedule)
    labelled_rows, pseudo_rows, val_rows = data.fold_rows(k)
    draws = data.repeated(labelled_rows, recipe.new_label_repeat)
    epoch_tiles, from_pseudo = recipe.epoch_size(len(draws), len(pseudo_rows))
    x_all, y_all = data.x, data.y
    x_val, y_val = x_all[val_rows], y_all[val_rows]
    keras.utils.set_random_seed(seed * 1000 + k)
    model = build_unet(recipe.encoder, input_size=recipe.input_size, resize_mode=recipe.resize_mode,
                       channels=x_all.shape[-1], encoder_weights=recipe.encoder_weights, width=recipe.width,
                       hypercolumn=recipe.hypercolumn, scse=recipe.scse, context=bool(recipe.context))
    if base_version:
        _load_parent_weights(model, workspace, base_version, parent_card, k)

    weights = data.weight if len(pseudo_rows) and np.any(data.weight[pseudo_rows] != 1) else None
    batches = TileBatches(x_all, y_all, batch_size=batch_size, shuffle=True, augment=recipe.augment,
                          seed=seed * 1000 + k, indices=draws, pseudo_indices=pseudo_rows,
                          epoch_tiles=epoch_tiles, from_pseudo=from_pseudo, weights=weights)
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
        lr = CosineRestarts(max_lr, cycle_steps=steps, min_lr=max_lr * recipe.min_lr_ratio,
                            warmup_steps=warmup_steps(recipe, len(batches), steps, bool(base_version)) if stage == 0
                            else 0)
        _compile(model, make_optimizer(recipe.optimizer, lr), get_loss(loss_name))
        # The control goes last, so a cancel set by the progress callback stops at this batch end.
        callbacks = [validation, best, reporter, control]
        if stage == len(original) - 1:
            n_swa = planned_swa_epochs([(loss_name, stage_epochs)], recipe.swa_epochs)
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
        order = np.random.default_rng(seed).permutation(np.concatenate([labelled_rows, pseudo_rows]))
        limit = len(order) if recipe.bn_batches is None else int(recipe.bn_batches) * batch_size
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
    probabilities = predict_probabilities(model, x_val, tta=recipe.tta, cancel=cancel) if len(x_val) else \
        np.zeros((0, 101, 101), np.float32)
    model.save(out)
    if deadline is not None:
        timing["overhead_seconds"] = max(0.0, time.monotonic() - fold_start - epoch * timing["epoch_seconds"])
    card = {"fold": k, "train_tiles": int(len(labelled_rows)), "pseudo_tiles": int(len(pseudo_rows)),
            "new_label_tiles": int(np.count_nonzero(data.new[labelled_rows])),
            "epoch_tiles": int(epoch_tiles), "epoch_pseudo_tiles": int(from_pseudo), "val_tiles": int(len(val_rows)),
            "loss_schedule": [[loss, n] for loss, n in done], "epochs_run": int(epoch),
            "selected": selected, "val_score": None if score is None else float(score),
            "best_epoch": int(best.best_epoch_), "best_epoch_score": None if best.weights_ is None else float(best.best_),
            "swa_score": swa_score, "swa_averaged": int(swa.n_averaged_),
            "history": history_all, "cut_by_budget": bool(stopped or epoch < requested_epochs),
            "seconds": round(time.monotonic() - fold_start, 1)}
    del model
    return card, probabilities, stopped


def parent_last_loss(parent_card):
    """The loss a parent version ended on (``"lovasz"`` for a card that does not say), or None."""
    if not parent_card:
        return None
    stages = parent_card.get("loss_schedule") or []
    ran = [f.get("loss_schedule") for f in parent_card.get("fold_details") or [] if f.get("loss_schedule")]
    if ran and ran[0]:
        return str(ran[0][-1][0])
    return str(stages[-1]["loss"]) if stages else "lovasz"


def warmup_steps(recipe, batches_per_epoch, steps, from_parent):
    """Steps of the linear warm-up at the start of a run (see `TrainingRecipe.warmup_epochs`).

    >>> from saltviewer.recipe import TrainingRecipe
    >>> warmup_steps(TrainingRecipe(), 10, 120, False), warmup_steps(TrainingRecipe(), 10, 120, True)
    (10, 0)
    >>> warmup_steps(TrainingRecipe.fine_tune(), 10, 40, True)
    5
    """
    if recipe.warmup_epochs is None:
        return min(batches_per_epoch, steps // 10) if not from_parent else 0
    return int(min(round(float(recipe.warmup_epochs) * batches_per_epoch), steps // 2))


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
