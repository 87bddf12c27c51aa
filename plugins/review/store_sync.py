"""Decisions made elsewhere (another viewer, the command line) reach an open dock within seconds.

`StoreWatcher` polls the store's revision (one cheap query) on a timer; when it moved, it
reads the events since and hands on those this dock did not write itself. The dock then
updates its rows in place, refreshes the shown tile, or, when the person is editing that
tile, shows the conflict instead of overwriting the edit.
"""

from qtpy.QtCore import QObject, QTimer, Signal

__all__ = ["StoreWatcher"]


class StoreWatcher(QObject):
    """Poll a curation store for changes made by others.

    Parameters
    ----------
    store_of : callable
        Returns the store to watch (or None while nothing is open).
    interval_ms : int
        Polling period (the default shows an outside decision within about 1.5 s).

    Signals
    -------
    outside(list)
        The events (`saltviewer.store.Event`) written by someone else since the last poll.
    """

    outside = Signal(list)

    def __init__(self, store_of, interval_ms=1500, parent=None):
        super().__init__(parent)
        self.store_of = store_of
        self.revision = None
        self.timer = QTimer(self)
        self.timer.setInterval(int(interval_ms))
        self.timer.timeout.connect(self.poll)

    def start(self):
        """Start watching from the store's revision now."""
        store = self.store_of()
        self.revision = store.revision() if store is not None else None
        self.timer.start()

    def stop(self):
        self.timer.stop()

    def catch_up(self, user):
        """Right after this dock wrote: take the events since the last poll as its own, except those of
        other users (written meanwhile by someone else), which are handed on as outside ones."""
        return self.poll(own_user=user)

    def poll(self, own_user=None):
        """Read what changed since the last poll; emit `outside` with the others' events.

        Parameters
        ----------
        own_user : str, optional
            Events of this user are this dock's own (see `catch_up`); by default every event
            since the last poll is someone else's (another viewer, the command line).
        """
        store = self.store_of()
        if store is None:
            return []
        try:
            revision = store.revision()
        except Exception:          # the store was closed or replaced under the timer: try next time
            return []
        if self.revision is None:
            self.revision = revision
            return []
        if revision == self.revision:
            return []
        events = store.events(since=self.revision)
        self.revision = revision
        outside = [event for event in events if own_user is None or event.user != own_user]
        if outside:
            self.outside.emit(outside)
        return outside
