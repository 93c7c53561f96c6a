"""What a store knows of its server being down, so that calls fail at once instead
of each waiting out the connect timeout, and the first call after the server is
back gets through at once instead of waiting out the pool's reconnection backoff.

Once a call finds the server unreachable, every call fails at once with an
:class:`~vaultstore.errors.UnavailableError` saying so, but for one call in every
:data:`PROBE_INTERVAL`, which tries the server (a connection outside the pool on
PostgreSQL, a ping on MongoDB, at most :data:`PROBE_TIMEOUT` long where the driver
lets it be bounded) and ends the outage when it gets through."""

from __future__ import annotations

import logging
import threading
import time

from .errors import UnavailableError

logger = logging.getLogger("vaultstore")

PROBE_INTERVAL = 0.1
"""Seconds between two tries of a server known to be down."""
PROBE_TIMEOUT = 0.5
"""Seconds a call waits for a try of the server (a connection takes milliseconds;
pymongo's monitor checks a server it was asked about every 0.5 s at most). A try
of PostgreSQL still going then goes on in the background, to end the outage."""


class Outage:
    """Whether the server is known to be down (``error`` is then the reason), shared
    by a store and its transactions; safe across threads and tasks."""

    __slots__ = ("_lock", "_next_probe", "_probing", "error", "since")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.error: UnavailableError | None = None
        self.since = 0.0
        self._next_probe = 0.0
        self._probing = False

    def begin(self, error: UnavailableError) -> None:
        """Record that the server is unreachable (``error`` says why)."""
        with self._lock:
            starting = self.error is None
            if starting:
                self.since = time.monotonic()
                self._next_probe = self.since + PROBE_INTERVAL
            self.error = error
        if starting:
            logger.warning("vaultstore: the database is unreachable: %s", error.message)

    def end(self) -> bool:
        """Record that the server answers; whether it was known to be down."""
        with self._lock:
            self._probing = False
            if self.error is None:
                return False
            self.error = None
            down = time.monotonic() - self.since
        logger.warning("vaultstore: the database answers again after %.2f s", down)
        return True

    def must_probe(self) -> bool:
        """While the server is known to be down: True for the caller whose turn it
        is to try it (it then reports with :meth:`probed`), else raise at once."""
        with self._lock:
            error = self.error
            if error is None:
                return False
            now = time.monotonic()
            if not self._probing and now >= self._next_probe:
                self._probing = True
                self._next_probe = now + PROBE_INTERVAL
                return True
            since = now - self.since
        raise UnavailableError(
            f"{error.message} (unreachable for {since:.1f} s; "
            f"tried again every {PROBE_INTERVAL:g} s)",
            code=error.code,
        )

    def release(self) -> None:
        """A try ended without an answer either way (cancelled, or inconclusive):
        the next caller whose turn it is tries again."""
        with self._lock:
            self._probing = False

    def probed(self, error: UnavailableError | None) -> bool:
        """Record a try's outcome (None: the server answered); whether this ends an
        outage."""
        if error is None:
            return self.end()
        with self._lock:
            self._probing = False
        self.begin(error)
        return False
