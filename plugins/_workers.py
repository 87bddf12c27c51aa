"""Start background work with a napari progress bar that is safe beside other threads.

napari's own ``create_worker(..., _progress={...})`` deadlocks the whole application
(napari 0.9.2, PyQt5) as soon as a second worker thread runs beside the one with the
progress bar: the Qt event loop stops while both threads wait. The progress bar here is
made and closed in the main thread instead, which does not.
"""

__all__ = ["start_worker"]


def start_worker(function, *args, desc, ignore_errors=True, **kwargs):
    """Run ``function(*args, **kwargs)`` in a napari worker thread with a busy progress bar.

    Parameters
    ----------
    function : callable
    desc : str
        Shown beside the progress bar in napari's activity dock.
    ignore_errors : bool
        Leave exceptions to the worker's ``errored`` signal instead of re-raising them in
        the main thread.

    Returns
    -------
    worker : napari.qt.threading.FunctionWorker
        Already started; connect to ``returned``, ``errored`` and ``finished`` right
        after this call (the worker's signals reach the main thread through its event loop,
        so none is missed).
    """
    from napari.qt.threading import create_worker
    from napari.utils import progress

    worker = create_worker(function, *args, _ignore_errors=ignore_errors, **kwargs)
    bar = progress(total=0, desc=desc)
    worker.finished.connect(bar.close)
    worker.start()
    return worker
