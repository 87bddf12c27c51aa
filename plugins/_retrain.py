"""Retraining without a viewer: train a new version, re-predict the pool, refresh the proposals.

`train_version` and `predict_pool` do the work in the calling process (they import
`saltviewer.training`, and so Keras, only when called). The widget runs them through
`run_in_process` from a napari worker thread: a child process imports TensorFlow (which
cannot be loaded next to the viewer's OpenGL context, see `_train_process`), and the
worker relays its progress and its cancel. None of them raises for a cancellation or a
failure: they return an `Outcome` whose ``status`` says what happened, so the widget
decides what the person sees (a napari notification with one clear line).
"""

import json
import math
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import SimpleNamespace

__all__ = ["RetrainOptions", "Outcome", "train_version", "predict_pool", "run_in_process", "encoder_names",
           "version_score", "compare_scores", "progress_position"]


@dataclass
class RetrainOptions:
    """What the Retrain widget asks for.

    Attributes
    ----------
    encoder : str
    epochs, folds : int
    pseudo_labels : bool
        Train on the accepted and corrected pseudo-labels of the curation store too.
    base_version : str or None
        Start from this version's weights (it becomes the parent).
    encoder_weights : str
    budget_minutes : float or None
    extra : dict
        More keyword arguments for `saltviewer.training.train_model` (model width, input
        size, batch size: tests use tiny models this way).
    """

    encoder: str = "small"
    epochs: int = 30
    folds: int = 5
    pseudo_labels: bool = True
    base_version: object = None
    encoder_weights: str = "none"
    budget_minutes: object = None
    extra: dict = field(default_factory=dict)


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
    from saltviewer import SaltviewerError

    if type(error).__name__ == "TrainingCancelled":
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

        result = train_model(
            dataset, workspace, encoder=options.encoder, epochs=int(options.epochs), folds=int(options.folds),
            encoder_weights=options.encoder_weights, pseudo_labels="accepted" if options.pseudo_labels else None,
            base_version=options.base_version or None, budget_minutes=options.budget_minutes,
            on_progress=on_progress, cancel=cancel, **options.extra)
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
        child = subprocess.Popen([sys.executable, "-m", "saltviewer.plugins._train_process"], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=log, text=True, bufsize=1)
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
    if outcome is None:
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


def _close(stream):
    try:
        stream.close()
    except (OSError, ValueError):
        pass


def version_score(card):
    """A version's validation score (out-of-fold competition score), or None."""
    if not card:
        return None
    for key in ("oof_score", "val_score", "score"):
        value = card.get(key)
        if isinstance(value, (int, float)) and math.isfinite(value):
            return float(value)
    return None


def compare_scores(workspace, version):
    """One line: the version's validation score beside its parent's (or the best earlier one).

    >>> compare_scores(workspace, "v0004")   # doctest: +SKIP
    'v0004: validation 0.812  ·  parent v0003: 0.795  (+0.017)'
    """
    card = workspace.card(version)
    score = version_score(card)
    text = f"{version}: validation {_fmt(score)}"
    parent = card.get("parent")
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
