"""The training process: ``python -m saltviewer.plugins.retrain.train_process`` (started by the GUI).

Why a process: TensorFlow cannot be imported into a process that has already made an
OpenGL context with Mesa (llvmpipe, radeonsi, iris: their LLVM clashes with TensorFlow's),
and napari makes one as soon as its window opens. A child process also keeps the GIL and
the memory of training away from the viewer, so the viewer stays responsive.

Protocol (one JSON object per line):

- stdin, first line: the task, ``{"task": "retrain" | "train" | "predict", "data": path,
  "workspace": path, "options": {...}, "version": name, "propose": bool}``; any later line
  ``cancel`` (or the end of stdin, when the GUI went away) sets the cancel event.
  ``retrain`` trains, then predicts the unlabelled pool with the new version and refreshes
  the proposals, in one process (TensorFlow loads once).
- stdout: ``{"event": {kind, fold, n_folds, epoch, n_epochs, batch, n_batches, logs,
  message}}`` for each progress report (``kind="trained"`` with the version name as
  ``message`` once the new version is written), then ``{"outcome": {status, version,
  card, message}}``. Anything else the libraries print goes to stderr (the GUI keeps it
  in a log file in the workspace when something fails).
"""

import json
import os
import sys
import threading
from types import SimpleNamespace

__all__ = ["main"]


def main():
    protocol = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)                       # stray prints must not break the protocol
    sys.stdout = sys.stderr
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    lock = threading.Lock()

    def send(kind, payload):
        with lock:
            protocol.write(json.dumps({kind: payload}, default=_json_default) + "\n")
            protocol.flush()

    line = sys.stdin.readline()
    try:
        task = json.loads(line)
    except ValueError:
        send("outcome", {"status": "failed", "message": f"training process: bad task line {line[:80]!r}"})
        return 2
    cancel = threading.Event()

    def watch_stdin():
        for command in sys.stdin:
            if command.strip() == "cancel":
                cancel.set()
        cancel.set()                    # stdin closed: the GUI is gone

    threading.Thread(target=watch_stdin, daemon=True).start()

    def stop(signum, frame):
        # told to end (the GUI's cancel found this process busy): leave through the cleanup
        # code (finally blocks remove a half-written version's folder), no outcome to send
        cancel.set()
        raise SystemExit(143)

    import signal

    signal.signal(signal.SIGTERM, stop)
    send("event", {"kind": "phase", "fold": 0, "n_folds": 0, "epoch": 0, "n_epochs": 0, "batch": 0, "n_batches": 0,
                   "logs": {}, "message": "loading TensorFlow"})

    def on_progress(event):
        send("event", {name: getattr(event, name) for name in
                       ("kind", "fold", "n_folds", "epoch", "n_epochs", "batch", "n_batches", "logs", "message")})

    outcome = run_task(task, on_progress, cancel)
    send("outcome", {"status": outcome.status, "version": outcome.version, "card": outcome.card,
                     "message": outcome.message})
    return 0


def run_task(task, on_progress, cancel):
    """Run a task dict (see the module notes) in this process; returns an `Outcome`."""
    from saltviewer import Workspace, open_dataset

    from .retraining import Outcome, RetrainOptions, predict_pool, train_version

    try:
        dataset = open_dataset(task["data"])
        workspace = Workspace(task["workspace"])
    except Exception as error:
        return Outcome("failed", message=f"cannot open the data or workspace: {error}")
    if task.get("task") in ("train", "retrain"):
        options = RetrainOptions(**task.get("options", {}))
        trained = train_version(dataset, workspace, options, on_progress=on_progress, cancel=cancel)
        if task["task"] == "train" or trained.status != "done":
            return trained
        on_progress(SimpleNamespace(kind="trained", fold=0, n_folds=0, epoch=0, n_epochs=0, batch=0, n_batches=0,
                                    logs={}, message=trained.version))
        predicted = predict_pool(dataset, workspace, trained.version, on_progress=on_progress, cancel=cancel,
                                 propose=bool(task.get("propose", True)))
        if predicted.status == "done":
            return Outcome("done", trained.version, trained.card, f"{trained.message}; {predicted.message}")
        return Outcome(predicted.status, trained.version, trained.card,
                       f"{trained.version} was trained and kept, but {predicted.message[:1].lower()}"
                       f"{predicted.message[1:]}")
    if task.get("task") == "predict":
        return predict_pool(dataset, workspace, task["version"], on_progress=on_progress, cancel=cancel,
                            propose=bool(task.get("propose", True)))
    return Outcome("failed", message=f"training process: unknown task {task.get('task')!r}")


def _json_default(value):
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


if __name__ == "__main__":
    sys.exit(main())
