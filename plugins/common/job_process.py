"""A long job of a dock in a child process: ``python -m saltviewer.plugins.common.job_process`` (started by `run_job`).

Why a process: a job in a thread stops only where it asks whether it was cancelled, and the
mosaic search or the ensemble's scoring can go for many seconds inside numpy, scipy or a
thread pool without asking (Find mosaics took 15 to 28 s to cancel). A child process is
ended at once, and a job that is ended writes nothing: each writes its result at its end,
in one SQLite transaction or one rename. The child also keeps the GIL away from the viewer.

Protocol (one JSON object per line): stdin, the task ``{"job": name, "data": path,
"workspace": path}``; stdout, ``{"progress": [done, total, stage]}`` as the job goes on, then
``{"outcome": {"status": "done" | "failed", "result": ..., "message": str}}``. Anything else
printed goes to stderr. Once a job says it is writing (a stage that starts with "writing"),
SIGTERM waits for the end of the job: results written in several files are never left half
replaced; a job that ends so reports its outcome as done.
"""

import json
import os
import sys
import time

__all__ = ["JOBS", "run_job", "main"]


def _find_mosaics(dataset, workspace, progress):
    from .stored_mosaics import find_mosaics

    mosaics = find_mosaics(workspace, dataset, progress=progress)
    return len(mosaics)


def _find_candidates(dataset, workspace, progress):
    from saltviewer.pseudo import propose_pseudo_labels

    return propose_pseudo_labels(workspace, dataset, progress=progress).lines()


#: job name -> function(dataset, workspace, progress) returning something JSON can carry
JOBS = {"find_mosaics": _find_mosaics, "find_candidates": _find_candidates}


def main():
    protocol = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)                       # stray prints must not break the protocol
    sys.stdout = sys.stderr

    def send(kind, payload):
        protocol.write(json.dumps({kind: payload}) + "\n")
        protocol.flush()

    last = {"at": 0.0, "stage": None}
    writing = {"now": False}

    def on_term(signum, frame):
        if not writing["now"]:
            raise SystemExit(143)              # ended at once: nothing was written yet

    import signal

    signal.signal(signal.SIGTERM, on_term)

    def progress(*args):
        stage = None
        if args and isinstance(args[0], str):
            stage, args = args[0], args[1:]
            writing["now"] = writing["now"] or stage.startswith("writing")
        done = int(args[0]) if args else 0
        total = int(args[1]) if len(args) > 1 and args[1] is not None else 0
        now = time.monotonic()
        if stage != last["stage"] or now - last["at"] >= 0.1 or (total and done >= total):
            last["at"], last["stage"] = now, stage
            send("progress", [done, total, stage])

    try:
        task = json.loads(sys.stdin.readline())
        from saltviewer import Workspace, open_dataset

        dataset = open_dataset(task["data"])
        workspace = Workspace(task["workspace"])
        result = JOBS[task["job"]](dataset, workspace, progress)
    except Exception as error:        # one line for the person; the traceback to stderr (the log)
        import traceback

        traceback.print_exc()
        send("outcome", {"status": "failed", "result": None, "message": f"{type(error).__name__}: {error}"})
        return 1
    send("outcome", {"status": "done", "result": result, "message": ""})
    return 0


def run_job(job, data, workspace, progress=None):
    """Run a job of `JOBS` in a child process and wait for it; ended at once when cancelled.

    Parameters
    ----------
    job : str
    data, workspace : path
    progress : callable, optional
        ``progress(done, total)`` / ``progress(stage, done, total)``; when it is the progress
        record of `saltviewer.plugins.common.workers.start_worker`, its ``cancelled`` event ends the
        child (SIGTERM, then SIGKILL a second later) and this raises `Cancelled`.

    Returns
    -------
    result
        What the job returned.

    Raises
    ------
    Cancelled
        When the progress record was cancelled.
    SaltviewerError
        When the job failed (one line; the child's output is kept in ``<workspace>/logs``).
    """
    import subprocess
    import threading
    from pathlib import Path

    from saltviewer import SaltviewerError

    from .workers import Cancelled

    cancelled = getattr(progress, "cancelled", None) or threading.Event()
    logs = Path(workspace) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"{job}-{time.strftime('%Y%m%d-%H%M%S')}.log"
    outcome = None
    with open(log_path, "w", encoding="utf-8") as log:
        child = subprocess.Popen([sys.executable, "-m", "saltviewer.plugins.common.job_process"], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=log, text=True, bufsize=1)
        child.stdin.write(json.dumps({"job": job, "data": str(data), "workspace": str(workspace)}) + "\n")
        child.stdin.close()

        def stop_when_cancelled():
            while child.poll() is None:
                if cancelled.wait(0.05):
                    _end(child)
                    return

        watcher = threading.Thread(target=stop_when_cancelled, daemon=True)
        watcher.start()
        for line in child.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if "progress" in message and progress is not None and not cancelled.is_set():
                done, total, stage = message["progress"]
                try:
                    progress(stage, done, total) if stage else progress(done, total)
                except Cancelled:
                    _end(child)
            elif "outcome" in message:
                outcome = message["outcome"]
        child.wait()
        watcher.join(timeout=2)
    if outcome is not None and outcome["status"] == "done":
        log_path.unlink(missing_ok=True)       # (done, even when Cancel came as it was writing)
        return outcome["result"]
    if cancelled.is_set():
        log_path.unlink(missing_ok=True)
        raise Cancelled(f"{job}: cancelled")
    if outcome is None:
        raise SaltviewerError(f"the process ended unexpectedly ({child.returncode}) (its output is in {log_path})")
    raise SaltviewerError(f"{outcome['message']} (the job's output is in {log_path})")


def _end(child):
    """End the child now: SIGTERM, and SIGKILL if it still lives a second later (writing takes milliseconds)."""
    import subprocess

    try:
        child.terminate()
        child.wait(timeout=1.0)
    except subprocess.TimeoutExpired:
        child.kill()
    except OSError:
        pass


if __name__ == "__main__":
    sys.exit(main())
