"""Read replicas, the I/O-free part: which replica serves the next read, what is
known of each (serving, or skipped and why), and the position in the primary's
WAL that a store's next reads must see (read-your-writes).

The executor (:mod:`vaultstore._async.postgres`) does the I/O: it asks
:meth:`Replicas.order` for the replicas to try, checks one's state when
:meth:`Replica.due` says so, and records what it found here. Positions are WAL
byte offsets (``pg_wal_lsn_diff(lsn, '0/0')``), so that lag is a subtraction.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from typing import Any

import attrs

logger = logging.getLogger("vaultstore")

CHECK_INTERVAL = 1.0
"""Seconds between two checks of a serving replica's state (standby, replay
position): a replica that falls behind is skipped within this time."""
RETRY_INTERVAL = 1.0
"""Seconds before a skipped replica is tried again."""


@attrs.frozen
class ReplicaStats:
    """What :meth:`~vaultstore.VaultStore.replica_stats` says of one replica."""

    url: str
    """The replica's URL, its secrets hidden."""
    serving: bool
    """Whether reads go to it now."""
    reason: str | None
    """Why it is skipped (down, lagging, not a standby), or None."""
    served: int
    """Reads it answered since the store opened."""
    skipped: int
    """Times it was taken out of service since the store opened."""
    lag_bytes: int | None
    """Bytes of WAL it was behind the primary when last checked, if known."""
    pool: dict[str, int]
    """Its connection pool's gauges and counters."""


class Replica:
    """One read replica: its connection pool (the executor's) and its state."""

    __slots__ = (
        "_lock",
        "checked_at",
        "lag",
        "name",
        "pool",
        "probing",
        "reachable",
        "reason",
        "replayed",
        "retry_at",
        "served",
        "skipped",
    )

    def __init__(self, name: str, pool: Any) -> None:
        self.name = name
        self.pool = pool
        self.reason: str | None = None
        """Why it is out of service; None while it serves."""
        self.retry_at = 0.0
        self.checked_at = -CHECK_INTERVAL  # never: the first read checks it
        self.replayed = -1
        """The WAL position it had replayed when last asked (-1: unknown)."""
        self.lag: int | None = None
        self.served = 0
        self.skipped = 0
        self.reachable = False
        """Skipped, but a try since found it answering: the next read may check it."""
        self.probing = False
        self._lock = threading.Lock()

    def usable(self, now: float) -> bool:
        """Whether a read may try it: it serves, or its time to be tried again came."""
        return self.reason is None or now >= self.retry_at

    def due(self, now: float) -> bool:
        """Whether its state must be checked before it serves a read."""
        return self.reason is not None or now - self.checked_at >= CHECK_INTERVAL

    def skip(self, reason: str, now: float) -> None:
        """Take it out of service for :data:`RETRY_INTERVAL` (logged when it was serving)."""
        if self.reason is None:
            self.skipped += 1
            logger.warning("vaultstore: read replica %s skipped: %s", self.name, reason)
        self.reason = reason
        self.reachable = False
        self.retry_at = now + RETRY_INTERVAL

    def start_probe(self) -> bool:
        """Whether the caller is to try it now (no other try is under way)."""
        with self._lock:
            if self.probing:
                return False
            self.probing = True
            return True

    def probed(self, answered: bool, reason: str | None, now: float) -> None:
        """What a try found: it answers (a read may check it now), or not (``reason``)."""
        with self._lock:
            self.probing = False
            self.reachable = answered
            if not answered:
                self.reason = reason
                self.retry_at = now + RETRY_INTERVAL

    def checked(self, replayed: int, primary: int | None, now: float) -> None:
        """Record a check that found it a standby, replayed up to ``replayed``
        (``primary``: the primary's position, if known)."""
        self.replayed = max(self.replayed, replayed)
        self.checked_at = now
        if primary is not None:
            self.lag = max(0, primary - replayed)
        if self.reason is not None:
            logger.info("vaultstore: read replica %s serves again", self.name)
            self.reason = None
            self.reachable = False

    def stats(self) -> ReplicaStats:
        return ReplicaStats(
            url=self.name,
            serving=self.reason is None,
            reason=self.reason,
            served=self.served,
            skipped=self.skipped,
            lag_bytes=self.lag,
            pool=dict(self.pool.get_stats()),
        )


class Replicas:
    """A store's read replicas, shared by the store and its transactions; safe
    across threads and tasks (a race at worst checks a replica twice)."""

    def __init__(self, replicas: list[Replica], *, wait: float, max_lag: int) -> None:
        self.replicas = replicas
        self.wait = wait
        self.max_lag = max_lag
        self.primary_reads = 0
        """Reads that could have gone to a replica but went to the primary."""
        self._turn = itertools.count()
        self._lock = threading.Lock()
        self._unlocated = False  # a write committed whose position is not known yet
        self.target = 0
        """The WAL position this store's reads must see: its latest write's."""
        self.primary_position: int | None = None
        self.primary_checked_at = -CHECK_INTERVAL

    def __bool__(self) -> bool:
        return bool(self.replicas)

    def order(self) -> list[Replica]:
        """The replicas to try for the next read, in round-robin order, those out
        of service left out until their time to be tried again."""
        now = time.monotonic()
        replicas = self.replicas
        start = next(self._turn) % len(replicas)
        return [r for r in replicas[start:] + replicas[:start] if r.usable(now)]

    def wrote(self) -> None:
        """A write through this store committed (or may have): its next reads must
        see the primary's position as of now, looked up by the next read."""
        self._unlocated = True

    def must_locate(self) -> bool:
        """Whether a write committed since the target was last set; taken by the
        caller that then asks the primary for its position."""
        with self._lock:
            unlocated, self._unlocated = self._unlocated, False
        return unlocated

    def located(self, position: int) -> None:
        """The primary's position, asked after the writes that :meth:`wrote` marked."""
        with self._lock:
            self.target = max(self.target, position)
            self._primary_at(position)

    def primary_due(self) -> bool:
        return time.monotonic() - self.primary_checked_at >= CHECK_INTERVAL

    def _primary_at(self, position: int) -> None:
        self.primary_position = max(self.primary_position or 0, position)
        self.primary_checked_at = time.monotonic()

    def primary_at(self, position: int) -> None:
        """The primary's position, asked to measure the replicas' lag."""
        with self._lock:
            self._primary_at(position)

    def too_far_behind(self, replayed: int) -> int | None:
        """The lag in bytes of a replica that replayed up to ``replayed``, if it is
        past the bound; None if it may serve."""
        primary = self.primary_position
        if primary is None:
            return None
        lag = primary - replayed
        return lag if lag > self.max_lag else None

    def stats(self) -> dict[str, int]:
        """The counters :meth:`pool_stats` adds: reads each way, replicas serving."""
        return {
            "replica_reads": sum(r.served for r in self.replicas),
            "replica_fallback_reads": self.primary_reads,
            "replicas_serving": sum(r.reason is None for r in self.replicas),
            "replicas_skipped": sum(r.reason is not None for r in self.replicas),
        }
