"""Start background work with a napari progress bar, with a Cancel button in the activity dock.

napari's own ``create_worker(..., _progress={...})`` deadlocks the whole application
(napari 0.9.2, PyQt5) as soon as a second worker thread runs beside the one with the
progress bar: the Qt event loop stops while both threads wait. The progress bar here is
made, updated and closed in the main thread instead, which does not: the worker only
writes its count into a small shared record, and a timer in the main thread copies it to
the bar. Cancel (the bar's button, or the one a dock shows beside its own bar, `JobBar`)
makes the worker's next progress call raise `Cancelled`, so the work stops at its next step
and writes nothing half-done (the work functions saltviewer runs here save at their end, in
one transaction or one rename).

Work that may go many seconds between two progress calls is either run in a child process
that is ended at once (`saltviewer.plugins.common.job_process`: Find mosaics, Find candidates), or,
when it writes nothing (Explore), marked ``interruptible``: `Cancelled` is then also raised
inside its thread between two Python steps, a fraction of a second after Cancel.
"""

import threading
import time

__all__ = ["start_worker", "Cancelled", "INTERRUPT_AFTER"]

#: Seconds a cancelled interruptible worker gets to stop at its next progress call before
#: `Cancelled` is raised inside its thread (again each such interval until it stops).
INTERRUPT_AFTER = 0.3


_RUNNING = set()       # the workers whose threads still run


class Cancelled(Exception):
    """Raised inside a worker by its progress callback once a person pressed Cancel."""


class _Progress:
    """What a worker reports (thread-safe): ``progress(done, total)`` or ``progress("stage")``; raises
    `Cancelled` once cancelled."""

    def __init__(self, desc):
        self.desc = desc
        self.done, self.total, self.stage = 0, 0, None
        self.cancelled = threading.Event()
        self.thread = None             # the worker's thread id, once it runs
        self.running = False

    def __call__(self, *args):
        if self.cancelled.is_set():
            raise Cancelled(f"{self.desc}: cancelled")
        if args and isinstance(args[0], str):        # a stage named (the mosaics say what they do)
            self.stage, args = args[0], args[1:]
        if args:
            self.done = int(args[0])
            if len(args) > 1 and args[1] is not None:
                self.total = int(args[1])      # 0: no count, a busy bar

    def interrupt(self):
        """Raise `Cancelled` inside the worker's thread at its next Python step (a cancelled, busy worker)."""
        import ctypes

        if self.running and self.thread is not None:
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self.thread), ctypes.py_object(Cancelled))


def _run(function, report):
    """`function` with its thread made known to `report` (so that Cancel can interrupt it)."""
    def run(*args, **kwargs):
        report.thread, report.running = threading.get_ident(), True
        try:
            if report.cancelled.is_set():
                raise Cancelled(f"{report.desc}: cancelled")
            return function(*args, **kwargs)
        finally:
            report.running = False
    return run


def start_worker(function, *args, desc, ignore_errors=True, progress_arg=None, returned=None, errored=None,
                 finished=None, interruptible=False, **kwargs):
    """Run ``function(*args, **kwargs)`` in a napari worker thread with a progress bar.

    Parameters
    ----------
    function : callable
    desc : str
        Shown beside the progress bar in napari's activity dock.
    ignore_errors : bool
        Leave exceptions to the worker's ``errored`` signal instead of re-raising them in
        the main thread.
    progress_arg : str, optional
        Name of `function`'s ``progress(done, total)`` (or ``progress("stage")``) parameter: the
        bar then counts (or names the stage), and
        shows a Cancel button that stops the work at its next call (the worker's
        ``errored`` signal then carries a `Cancelled`). Without it the bar is a busy one.

    returned, errored, finished : callable, optional
        Connected to the worker's signals of those names before it starts. Pass them here:
        a signal emitted from the worker thread reaches only the slots connected by then, so
        a function that fails at once would leave a connection made after this call unheard
        (seen as a lost error on PyQt5).
    interruptible : bool
        `function` writes nothing (or only at its very end, atomically): once cancelled and
        still busy after `INTERRUPT_AFTER` seconds, `Cancelled` is raised inside its thread.

    Returns
    -------
    worker : napari.qt.threading.FunctionWorker
        Already started. ``worker.progress_bar`` is the napari progress object,
        ``worker.report`` what the work reported (``desc``, ``done``, ``total``, ``stage``)
        and ``worker.cancel()`` cancels as the button does.
    """
    from napari.qt.threading import create_worker
    from napari.utils import cancelable_progress, progress
    from qtpy.QtCore import QTimer

    def listen(worker):
        for signal, slot in (("returned", returned), ("errored", errored), ("finished", finished)):
            if slot is not None:
                getattr(worker, signal).connect(slot)
        # kept alive until it finishes: a worker collected while its thread runs (its dock or viewer
        # closed) takes its signals with it, and the thread's last emit then aborts the application
        _RUNNING.add(worker)
        worker.finished.connect(lambda: _RUNNING.discard(worker))

    if progress_arg is None:
        bar = progress(total=0, desc=desc)
        worker = create_worker(function, *args, _ignore_errors=ignore_errors, **kwargs)
        worker.progress_bar = bar
        worker.cancel = lambda: None
        worker.finished.connect(bar.close)
        listen(worker)
        worker.start()
        return worker
    report = _Progress(desc)
    kwargs[progress_arg] = report
    bar = cancelable_progress(total=0, desc=desc, cancel_callback=report.cancelled.set)
    worker = create_worker(_run(function, report), *args, _ignore_errors=ignore_errors, **kwargs)
    timer = QTimer()
    timer.setInterval(150)

    shown = {"stage": None, "cancelled_at": None}

    def sync():
        if bar.is_canceled and not report.cancelled.is_set():
            report.cancelled.set()
        if report.cancelled.is_set():
            if shown["cancelled_at"] is None:
                shown["cancelled_at"] = time.monotonic()
                bar.set_description(f"{desc} (cancelling…)")
            elif interruptible and time.monotonic() - shown["cancelled_at"] >= INTERRUPT_AFTER:
                report.interrupt()               # still busy between progress calls: stop it where it is
                shown["cancelled_at"] = time.monotonic()
            return
        if report.stage != shown["stage"]:
            shown["stage"] = report.stage
            bar.set_description(f"{desc}: {report.stage}")
        if bar.total != report.total:             # a new count, or none (0: a busy bar while it works)
            bar.total = report.total
            bar.n = 0
        if report.done != bar.n:
            bar.update(report.done - bar.n)

    def cancel():
        if not report.cancelled.is_set():
            report.cancelled.set()
            if not bar.is_canceled:
                bar.cancel()
        sync()

    def finish():
        timer.stop()
        bar.close()

    timer.timeout.connect(sync)
    timer.setInterval(100)
    worker.progress_bar = bar
    worker.report = report
    worker.progress_timer = timer        # kept alive with the worker
    worker.cancel = cancel
    worker.finished.connect(finish)
    listen(worker)
    timer.start()
    worker.start()
    return worker
