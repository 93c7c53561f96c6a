"""The change feeds (async source of the sync twin): what ``store.watch()`` gives,
an iterator of :class:`~vaultstore.ChangeEvent` that reconnects by itself.

PostgreSQL: a connection of the feed's own (LISTEN needs one that no pool hands
to someone else) reads the outbox by position (:class:`vaultstore._changes.Positions`
says which rows may be delivered) and sleeps on its notifications in between.
MongoDB: a change stream on the store's client. Either way, a lost connection is
made again and the feed goes on after the last event it delivered. Only I/O is
here; the rest is :mod:`vaultstore._changes`'.
"""

from __future__ import annotations

import logging
import random
from collections import deque
from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection
from pymongo.errors import OperationFailure, PyMongoError

from .. import _retry
from .._changes import (
    ChangeEvent,
    Positions,
    mongodb_event,
    mongodb_pipeline,
    postgres_event,
)
from .._mongo import translate as mongodb_translate
from .._postgres import DRIVER_ERRORS, connection_kwargs, connection_lost, session_defaults
from .._postgres import translate as postgres_translate
from .._registry import EntityType
from ..errors import ChangesLostError, StoreClosedError, UnavailableError, VaultStoreError

logger = logging.getLogger("vaultstore")

BATCH = 1000
"""Outbox rows read at a time."""
IDLE_WAIT = 1.0
"""Seconds a PostgreSQL feed sleeps on its notifications before it reads anyway."""
STREAM_WAIT = 0.02
"""Seconds a MongoDB feed's read waits on the server for a change (SecantusDB
answers a waiting read late when a change comes: asking again soon is faster)."""
GAP_WAIT = 0.002
"""Seconds it waits for the transactions of a gap before it asks again."""
FIRST_RETRY = 0.05
"""Seconds before the first reconnection; each next wait doubles, up to LAST_RETRY."""
LAST_RETRY = 1.0
_HISTORY_LOST = frozenset({136, 280, 286})
"""MongoDB's codes for a resume token the oplog no longer reaches (CappedPositionLost,
ChangeStreamFatalError, ChangeStreamHistoryLost)."""


class AsyncChangeFeed:
    """What both feeds share: iteration, the last token delivered, closing."""

    def __init__(self) -> None:
        self._ready: deque[ChangeEvent] = deque()
        self._closed = False
        self._failures = 0
        self.resume_token: str | None = None
        """The token of the last event delivered: where a new feed would go on."""

    def __aiter__(self) -> AsyncChangeFeed:
        return self

    async def __anext__(self) -> ChangeEvent:
        while not self._ready:
            if self._closed:
                raise StopAsyncIteration
            try:
                await self._fill()
                self._failures = 0
            except UnavailableError as exc:
                if isinstance(exc, StoreClosedError):
                    await self.aclose()
                    raise
                await self._lost(exc)
            except BaseException:
                await self.aclose()  # an error the feed cannot go on after
                raise
        event = self._ready.popleft()
        self.resume_token = event.resume_token
        return event

    async def _lost(self, error: VaultStoreError) -> None:
        """The connection is gone: wait (jittered, longer each time) and let the
        next read connect again, from the last token delivered."""
        await self._disconnect()
        self._failures += 1
        pause = min(LAST_RETRY, FIRST_RETRY * 2 ** (self._failures - 1))
        logger.warning(
            "vaultstore watch: connection lost (%s); reconnecting in %.2f s",
            error.message,
            pause,
        )
        await _retry.asleep(pause * random.uniform(0.5, 1.0))  # noqa: S311 - jitter

    async def _fill(self) -> None:
        raise NotImplementedError

    async def _disconnect(self) -> None:
        raise NotImplementedError

    async def aclose(self) -> None:
        """Stop the feed and close its connection (its stream)."""
        self._closed = True
        await self._disconnect()

    async def __aenter__(self) -> AsyncChangeFeed:
        """Connect now: a feed without a resume token starts here, not at its
        first read."""
        try:
            await self._open()
        except UnavailableError as exc:
            if isinstance(exc, StoreClosedError):
                await self.aclose()
                raise
            await self._lost(exc)  # the first read tries again
        except BaseException:
            await self.aclose()
            raise
        return self

    async def _open(self) -> None:
        raise NotImplementedError

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class AsyncPostgresFeed(AsyncChangeFeed):
    """The outbox read by position on a connection of the feed's own."""

    def __init__(self, executor: Any, watched: Sequence[EntityType], after: int | None) -> None:
        super().__init__()
        self._executor = executor
        self._queries = executor.queries
        self._by_name = {e.name: e for e in watched}
        self._after = after
        self._tenant = executor.settings.scope.effective_tenant()
        self._conn: AsyncConnection[Any] | None = None
        self._positions: Positions | None = None

    async def _connect(self) -> AsyncConnection[Any]:
        """A connection acting for the store's scope, listening
        (``health.configure_session``, ``health.set_session_scope``, ``changes.listen``)."""
        executor = self._executor
        conninfo, kwargs = connection_kwargs(executor.settings)
        key = executor._scope_key
        if key is None:
            raise executor._scope_error
        conn = await AsyncConnection.connect(conninfo, **{**kwargs, "autocommit": True})
        try:
            cur = conn.cursor()
            await self._queries.health.configure_session(cur, **session_defaults(executor.settings))
            await self._queries.health.set_session_scope(
                cur, tenant=key[0], actor=key[1], audit=key[2]
            )
            await self._queries.changes.listen(cur)
        except BaseException:
            await conn.close()
            raise
        self._conn = conn
        return conn

    async def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.close()
            except DRIVER_ERRORS:
                logger.debug("vaultstore watch: closing a broken connection failed")

    async def _open(self) -> None:
        try:
            conn = self._conn or await self._connect()
            if self._positions is None:
                self._positions = await self._start(conn.cursor())
        except DRIVER_ERRORS as exc:
            raise self._error(exc) from exc

    def _error(self, exc: BaseException) -> VaultStoreError:
        error = postgres_translate(exc, settings=self._executor.settings)
        if connection_lost(exc) and not isinstance(error, UnavailableError):
            error = UnavailableError(error.message, code=error.code)
        return error

    async def _fill(self) -> None:
        try:
            conn = self._conn or await self._connect()
            await self._step(conn)
        except DRIVER_ERRORS as exc:
            raise self._error(exc) from exc

    async def _start(self, cur: Any) -> Positions:
        """Where the feed starts: after its resume token (ChangesLostError if that
        was pruned: ``changes.pruned_through``), else after the last change now
        (``changes.last_position``)."""
        if self._after is None:
            return Positions(int(await self._queries.changes.last_position(cur)))
        pruned = int(await self._queries.changes.pruned_through(cur))
        if self._after < pruned:
            raise ChangesLostError(
                f"the changes after this resume token were pruned (up to {pruned}); "
                "start a new feed without resume_after"
            )
        return Positions(self._after)

    async def _step(self, conn: AsyncConnection[Any]) -> None:
        """Read what follows the last position and deliver what may be, or wait
        (``changes.read_after``; at a gap ``changes.in_progress`` and
        ``changes.finished``)."""
        cur = conn.cursor()
        changes = self._queries.changes
        positions = self._positions
        if positions is None:
            positions = self._positions = await self._start(cur)
        rows = [row async for row in changes.read_after(cur, after=positions.last, limit=BATCH)]
        complete = len(rows) < BATCH
        delivered, blocked = positions.accept(rows, complete)
        self._after = positions.last  # a reconnection goes on from here
        converter = self._executor.converter
        for row in delivered:
            event = postgres_event(row, self._by_name, converter, self._tenant)
            if event is not None:
                self._ready.append(event)
        if blocked:
            if positions.horizon is None:
                positions.gap(rows, await changes.in_progress(cur) or [])
            elif not positions.settled:
                if await changes.finished(cur, xids=list(positions.xids)):
                    positions.settled = True
                else:
                    await self._wait(conn, GAP_WAIT)
        elif complete and not delivered:
            await self._wait(conn, IDLE_WAIT)

    async def _wait(self, conn: AsyncConnection[Any], seconds: float) -> None:
        """Until a write commits (a notification) or ``seconds`` pass."""
        async for _ in conn.notifies(timeout=seconds, stop_after=1):
            break
        async for _ in conn.notifies(timeout=0):  # the rest already received
            pass


class AsyncMongoFeed(AsyncChangeFeed):
    """A change stream on the watched collections, resumed after its last token."""

    def __init__(
        self, executor: Any, watched: Sequence[EntityType], after: dict[str, Any] | None
    ) -> None:
        super().__init__()
        self._executor = executor
        self._by_table = {e.table: e for e in watched}
        self._pipeline = mongodb_pipeline(watched, executor._watch_tenant())
        self._token = after
        self._stream: Any = None

    async def _disconnect(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                await stream.close()
            except PyMongoError:
                logger.debug("vaultstore watch: closing a broken change stream failed")

    async def _stream_now(self) -> Any:
        stream = self._stream
        if stream is None:
            stream = self._stream = await self._executor.database.watch(
                self._pipeline,
                full_document="updateLookup",
                full_document_before_change="whenAvailable",
                resume_after=self._token,
                max_await_time_ms=round(STREAM_WAIT * 1000),
            )
            if self._token is None:
                self._token = stream.resume_token  # where it starts: a reconnection goes on
        return stream

    async def _open(self) -> None:
        try:
            await self._stream_now()
        except PyMongoError as exc:
            raise self._error(exc) from exc

    async def _fill(self) -> None:
        executor = self._executor
        try:
            stream = await self._stream_now()
            change = await stream.try_next()
            if change is None:
                token = stream.resume_token
                if token is not None:
                    self._token = token  # the stream's position, past what it filtered out
                return
            self._token = change["_id"]
            load = executor.converter.document_loader
            event = mongodb_event(change, self._by_table, load)
            if event is not None:
                self._ready.append(event)
        except PyMongoError as exc:
            raise self._error(exc) from exc

    def _error(self, exc: PyMongoError) -> VaultStoreError:
        if isinstance(exc, OperationFailure) and exc.code in _HISTORY_LOST:
            return ChangesLostError(
                "the changes after this resume token are no longer in the oplog; "
                "start a new feed without resume_after",
                code=exc.code,
            )
        executor = self._executor
        return mongodb_translate(exc, settings=executor.settings, closed=executor.state["closed"])
