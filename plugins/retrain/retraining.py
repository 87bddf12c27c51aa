"""Retraining without a viewer: train a new version, re-predict the pool, refresh the proposals.

`train_version` and `predict_pool` do the work in the calling process (they import
`saltviewer.training`, and so Keras, only when called). The widget runs them through
`run_in_process` from a napari worker thread: a child process imports TensorFlow (which
cannot be loaded next to the viewer's OpenGL context, see `train_process`), and the
worker relays its progress and its cancel. None of them raises for a cancellation or a
failure: they return an `Outcome` whose ``status`` says what happened, so the widget
decides what the person sees (a napari notification with one clear line).
"""

import json
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import SimpleNamespace

from saltviewer.workspace import version_score

__all__ = ["RetrainOptions", "Outcome", "train_version", "predict_pool", "run_in_process", "encoder_names",
           "version_score", "compare_scores", "progress_position", "training_data_line", "estimate_line",
           "measured_speed", "recommendation"]


@dataclass
class RetrainOptions:
    """What the Retrain widget asks for; unset settings come from the training recipe's preset.

    Attributes
    ----------
    base_version : str or None
        Fine-tune from this version (it becomes the parent; the preset is
        `TrainingRecipe.fine_tune`), or train from scratch (`TrainingRecipe.from_scratch`).
    pseudo_labels : bool
        Train on the accepted and corrected pseudo-labels of the curation store too.
    encoder : str or None
    epochs, folds : int or None
    encoder_weights : str or None
    budget_minutes : float or None
    context : bool or None
        Feed each tile with its mosaic neighbours around it (`TrainingRecipe.context`);
        None: as the parent version, else off.
    extra : dict
        More recipe settings (model width, input size, batch size: tests use tiny models
        this way).
    """

    base_version: object = None
    pseudo_labels: bool = True
    encoder: object = None
    epochs: object = None
    folds: object = None
    encoder_weights: object = None
    budget_minutes: object = None
    context: object = None
    extra: dict = field(default_factory=dict)

    def recipe(self):
        """The `TrainingRecipe` these options make: the preset, changed by what is set."""
        from saltviewer.recipe import TrainingRecipe

        recipe = TrainingRecipe.fine_tune() if self.base_version else TrainingRecipe.from_scratch()
        # (the widget fills `folds` with the parent's: a fine-tune keeps its folds)
        given = {"encoder": None if self.base_version else self.encoder, "epochs": self.epochs, "folds": self.folds,
                 "encoder_weights": self.encoder_weights, "budget_minutes": self.budget_minutes,
                 "context": self.context}
        return recipe.replace(**{k: v for k, v in given.items() if v is not None}, **self.extra)


@dataclass
class Outcome:
    """What a worker did.

    Attributes
    ----------
    status : {"done", "cancelled", "failed"}
    version : str or None
        The version trained (or predicted).
    card : dict or None
    message : str
        One line for the person.
    """

    status: str
    version: object = None
    card: object = None
    message: str = ""


def encoder_names():
    """The encoders training knows (a cheap import: no Keras)."""
    from saltviewer.training.encoders import ENCODERS

    return list(ENCODERS)


def _failure(error, what):
    from saltviewer._errors import SaltviewerError, TrainingCancelled

    if isinstance(error, TrainingCancelled):
        return Outcome("cancelled", message=f"{what} cancelled; nothing was written and every existing model is kept.")
    if isinstance(error, SaltviewerError):
        return Outcome("failed", message=f"{what} failed: {error}")
    if isinstance(error, MemoryError):
        return Outcome("failed", message=f"{what} failed: out of memory; try fewer folds, a smaller encoder "
                                         "or a smaller batch size.")
    return Outcome("failed", message=f"{what} failed: {type(error).__name__}: {error}")


def train_version(dataset, workspace, options, on_progress=None, cancel=None):
    """Train one new model version with `saltviewer.training.train_model`.

    Returns
    -------
    outcome : Outcome
        ``status`` ``"done"`` with the new version and its card, ``"cancelled"`` (nothing
        written) or ``"failed"`` (one-line message).
    """
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        from saltviewer.training import train_model

        result = train_model(dataset, workspace, options.recipe(), base_version=options.base_version or None,
                             pseudo_labels="accepted" if options.pseudo_labels else None,
                             on_progress=on_progress, cancel=cancel)
    except Exception as error:   # every failure becomes one line for the person
        return _failure(error, "training")
    return Outcome("done", result.version, result.card, f"trained {result.version}")


def predict_pool(dataset, workspace, version, on_progress=None, cancel=None, propose=True):
    """Predict every tile with a version, then refresh the curation store's proposals.

    Every tile is predicted (as ``saltviewer predict`` does by default), so the ensemble
    compares all versions on all tiles; the labelled tiles are in-sample for the new
    version, so the proposals are refreshed for the unlabelled pool only (no label-error
    search). Decisions already taken are kept.

    Returns
    -------
    outcome : Outcome
        ``message`` summarises the proposals.
    """
    try:
        from saltviewer.training import predict_dataset

        predict_dataset(dataset, workspace, [version], on_progress=on_progress, cancel=cancel)
        message = f"predicted {len(dataset):,} tiles with {version}"
        if propose:
            from saltviewer.pseudo import propose_pseudo_labels

            report = propose_pseudo_labels(workspace, dataset, label_errors=False)
            message += f"; {len(report.candidates):,} candidates, {report.queue:,} items await review"
    except Exception as error:
        return _failure(error, f"predicting with {version}")
    return Outcome("done", version, None, message)


def run_in_process(task, dataset, workspace, *, options=None, version=None, propose=True, on_progress=None,
                   cancel=None, log_dir=None):
    """Run ``"train"`` or ``"predict"`` in a child Python process and wait for it.

    Parameters
    ----------
    task : {"train", "predict"}
    dataset : saltviewer.Dataset
    workspace : saltviewer.Workspace
    options : RetrainOptions, optional
        For ``"train"``.
    version : str, optional
        For ``"predict"``.
    on_progress : callable, optional
        Called (in this thread) with each progress event, an object with the attributes
        of `saltviewer.training.ProgressEvent`.
    cancel : threading.Event, optional
        When set, the child is told to stop at its next batch.
    log_dir : Path, optional
        Where the child's own output (TensorFlow's messages, tracebacks) is kept; default
        ``<workspace>/logs``.

    Returns
    -------
    outcome : Outcome
    """
    payload = {"task": task, "data": str(dataset.root), "workspace": str(workspace.path), "propose": bool(propose)}
    if options is not None:
        payload["options"] = asdict(options)
    if version is not None:
        payload["version"] = version
    log_dir = Path(log_dir) if log_dir is not None else Path(workspace.path) / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{task}-{time.strftime('%Y%m%d-%H%M%S')}.log"
    with open(log_path, "w", encoding="utf-8") as log:
        child = subprocess.Popen([sys.executable, "-m", "saltviewer.plugins.retrain.train_process"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True, bufsize=1)
        try:
            child.stdin.write(json.dumps(payload) + "\n")
            child.stdin.flush()
            outcome = _follow(child, on_progress, cancel)
        finally:
            if child.poll() is None:
                _close(child.stdin)
                try:
                    child.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
            _close(child.stdin)
    if outcome is None and cancel is not None and cancel.is_set():
        what = "training" if task in ("train", "retrain") else f"predicting with {version}"
        outcome = Outcome("cancelled", message=f"{what} cancelled; nothing was written and every existing model is kept.")
        log_path.unlink(missing_ok=True)
    elif outcome is None:
        outcome = Outcome("failed", message=f"the {task} process ended unexpectedly (exit code {child.returncode}); "
                                            f"its output is in {log_path}")
    elif outcome.status == "failed":
        outcome.message += f" (details in {log_path})"
    else:
        log_path.unlink(missing_ok=True)      # keep the child's output only when something went wrong
    return outcome


def _follow(child, on_progress, cancel):
    """Read the child's events until its outcome; pass cancel on. Returns the Outcome or None."""
    import threading

    told = threading.Event()

    def tell_cancel():
        while child.poll() is None and not told.is_set():
            if cancel is not None and cancel.wait(0.1):
                try:
                    child.stdin.write("cancel\n")
                    child.stdin.flush()
                except (OSError, ValueError):
                    pass
                _stop(child)
                return

    watcher = threading.Thread(target=tell_cancel, daemon=True)
    watcher.start()
    outcome = None
    try:
        for line in child.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if "event" in message and on_progress is not None:
                on_progress(SimpleNamespace(**message["event"]))
            elif "outcome" in message:
                outcome = Outcome(**message["outcome"])
    finally:
        told.set()
        watcher.join(timeout=1)
    child.wait()
    return outcome


#: Seconds a cancelled child gets to stop at its next batch before it is told to end (SIGTERM: it
#: cleans up and exits), and then before it is killed.
CANCEL_GRACE = (0.7, 1.0)


def _stop(child):
    """End a cancelled child within about `sum(CANCEL_GRACE)` seconds, whatever it is doing.

    The child stops by itself at its next batch end; one busy elsewhere (loading TensorFlow,
    a long prediction batch) gets SIGTERM, which it turns into an exit that runs its cleanup
    (a half-written version's folder is removed); one that still lives is killed.
    """
    import signal

    for grace, how in zip(CANCEL_GRACE, (signal.SIGTERM, signal.SIGKILL)):
        try:
            child.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            try:
                child.send_signal(how)
            except OSError:
                return


def _close(stream):
    try:
        stream.close()
    except (OSError, ValueError):
        pass


def compare_scores(workspace, version):
    """One line: the version's validation score beside its parent's (or the best earlier one).

    A fine-tuned version keeps its parent's folds, so the two are compared on the same
    tiles (``parent_oof_score`` in the card); otherwise on each one's own out-of-fold tiles.

    >>> compare_scores(workspace, "v0004")   # doctest: +SKIP
    'v0004: validation 0.812  ·  parent v0003 on the same 3,200 tiles: 0.795  (+0.017)'
    """
    card = workspace.card(version)
    score = version_score(card)
    text = f"{version}: validation {_fmt(score)}"
    parent = card.get("parent")
    same = card.get("parent_oof_score")
    if parent and same and isinstance(same.get("score"), (int, float)):
        other_score = float(same["score"])
        text += f"  ·  parent {parent} on the same {int(same.get('tiles', 0)):,} tiles: {_fmt(other_score)}"
    else:
        if parent and parent in workspace.versions():
            other, label = parent, "parent"
        else:
            earlier = [(version_score(workspace.card(v)), v) for v in workspace.versions() if v < version]
            earlier = [(s, v) for s, v in earlier if s is not None]
            if not earlier:
                return text + "  ·  first version"
            other, label = max(earlier)[1], "best earlier"
        other_score = version_score(workspace.card(other))
        text += f"  ·  {label} {other}: {_fmt(other_score)}"
    if score is not None and other_score is not None:
        text += f"  ({score - other_score:+.3f})"
    return text


def training_data_line(card):
    """What a version trained on, in words: labelled tiles, reviewed tiles, pseudo-labels, corrected masks, time."""
    pseudo = (card.get("pseudo_labels") or {}).get("count", 0)
    reviewed = (card.get("reviewed_labels") or {}).get("count", 0)
    corrected = (card.get("label_corrections") or {}).get("count", 0)
    minutes = (card.get("timings") or {}).get("total_s", 0) / 60
    return (f"trained on {card.get('ids_count', 0):,} labelled tiles, {reviewed:,} reviewed tiles as labels, "
            f"{pseudo:,} pseudo-labels and {corrected:,} corrected training masks in {minutes:.1f} min")


def measured_speed(workspace, encoder):
    """Training tiles per second measured by this workspace's latest run of `encoder`, or None."""
    for version in reversed(workspace.versions()):
        card = workspace.card(version)
        if card.get("encoder") != encoder or (card.get("input_size") or 128) != 128:
            continue
        tiles = seconds = 0
        for fold in card.get("fold_details") or []:
            per_epoch = fold.get("epoch_tiles") or fold.get("train_tiles") or 0
            tiles += per_epoch * (fold.get("epochs_run") or 0)
            seconds += fold.get("seconds") or 0
        if tiles and seconds > 30:      # too short a run says more about start-up than speed
            return tiles / seconds
    return None


def estimate_line(options, dataset, workspace, pseudo, reviewed=()):
    """'About N min on this machine for …': the time a run will take, before it starts.

    Parameters
    ----------
    pseudo : int
        Pseudo-labels accepted unseen.
    reviewed : collection of str
        Tiles reviewed in the store: they join the labels.
    """
    recipe = options.recipe()
    encoder = recipe.encoder
    parent = workspace.card(options.base_version) if options.base_version else None
    if encoder is None and parent:
        encoder = parent.get("encoder")
    labelled = int(dataset.has_mask.sum())
    pseudo = pseudo if options.pseudo_labels else 0
    reviewed = set(reviewed) if options.pseudo_labels else set()
    new = len(reviewed - set(((parent or {}).get("reviewed_labels") or {}).get("tiles") or {})) if parent else 0
    train_speed, predict_speed, how = _speeds(workspace, encoder)
    seconds = recipe.estimate_seconds(labelled + len(reviewed), pseudo, new=new, train_speed=train_speed,
                                      predict_speed=predict_speed)
    kind = f"fine-tune of {options.base_version}" if options.base_version else "training from scratch"
    extra = (f", {len(reviewed):,} reviewed tiles as labels" if reviewed else "") + \
        (f", {pseudo:,} pseudo-labels" if pseudo else "")
    return (f"About {_duration(seconds)} ({how}): {kind}, {recipe.folds} folds × {recipe.epochs} epochs, "
            f"{labelled:,} labelled tiles{extra}.")


def _speeds(workspace, encoder):
    from saltviewer.training.encoders import encoder_spec

    spec = encoder_spec(encoder or "small")
    speed = measured_speed(workspace, spec.name)
    return speed or spec.train_speed, spec.predict_speed, ("measured here" if speed else "benchmark speed")


def recommendation(dataset, workspace, reviewed, pseudo):
    """What the Retrain dock recommends (`saltviewer.recipe.recommend_retrain`): a fine-tune of the
    newest version or a retrain from scratch, with the minutes of each and why.

    Returns
    -------
    recommendation : saltviewer.recipe.Recommendation
    base : str or None
        The version a fine-tune would start from.
    text : str
        Two sentences for the dock.
    """
    from saltviewer.recipe import recommend_retrain

    versions = workspace.versions() if workspace is not None else []
    base = versions[-1] if versions else None
    card = workspace.card(base) if base else None
    train_speed, predict_speed, how = _speeds(workspace, (card or {}).get("encoder"))
    advice = recommend_retrain(int(dataset.has_mask.sum()), reviewed, card, pseudo=pseudo, train_speed=train_speed,
                               predict_speed=predict_speed)
    choices = [f"from scratch about {_duration(advice.minutes['scratch'] * 60)}"]
    if "fine-tune" in advice.minutes:
        choices.insert(0, f"fine-tune of {base} about {_duration(advice.minutes['fine-tune'] * 60)}")
    chosen = f"fine-tune {base}" if advice.preset == "fine-tune" else "retrain from scratch"
    text = f"Recommended: {chosen}. {advice.reason} ({'; '.join(choices)}, {how}.)"
    return advice, base, text


def _duration(seconds):
    minutes = seconds / 60
    if minutes < 1.5:
        return f"{max(seconds, 1):.0f} s"
    if minutes < 90:
        return f"{minutes:.0f} min"
    return f"{minutes / 60:.1f} h"


def _fmt(score):
    return "n/a" if score is None else f"{score:.3f}"


def progress_position(event):
    """Batches done and batches in all, from a training `ProgressEvent` (positions are 0-based)."""
    n_batches = max(int(event.n_batches), 0)
    n_epochs = max(int(event.n_epochs), 1)
    n_folds = max(int(event.n_folds), 1)
    total = n_folds * n_epochs * n_batches
    done = (int(event.fold) * n_epochs + int(event.epoch)) * n_batches + int(event.batch) + 1
    return min(done, total), total
