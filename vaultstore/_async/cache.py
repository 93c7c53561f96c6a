"""The Redis cache in front of the hot reads (async source of the sync twin); what
is cached and how is :mod:`vaultstore._cache`.

:class:`AsyncCachingExecutor` wraps a backend's executor: every write passes
through it, so that the keys it affects are invalidated once its transaction has
committed, whatever the backend. A cached read is served by :meth:`AsyncCache.read`
from the operation pipeline, which runs the database read (and counts it) only on
a miss.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError

from .._cache import (
    CACHED,
    FILL,
    AsyncFlights,
    CacheKeys,
    CacheState,
    Codec,
    aredis_client,
    is_write,
    new_tombstone,
)
from .._monitoring import CacheStats
from .._pipeline import AsyncCall, Operation
from .._scope import Scope
from .._settings import Settings
from ..errors import CommitUnknownError, VaultStoreError

if TYPE_CHECKING:
    from .._convert import EntityConverter
    from .._health import ServerFacts
    from .._replicas import ReplicaStats
    from .documents import AsyncDocumentBackend
    from .repositories import AsyncExecutor

FAILURES = (RedisError, OSError, TimeoutError)
"""What a Redis call raises when Redis is down, slow or refuses: the database
then serves the call."""

_CHUNK = 500  # keys per pipeline when invalidating many


class _Written:
    """What a transaction's writes invalidate once it has committed."""

    def __init__(self) -> None:
        self.keys: set[str] = set()
        self.patterns: set[str] = set()

    def add(self, keys: Iterable[str], pattern: str | None) -> None:
        self.keys.update(keys)
        if pattern is not None:
            self.patterns.add(pattern)


class AsyncCache:
    """One store's Redis cache: its client, keys, counters and state."""

    def __init__(self, settings: Settings, converter: EntityConverter) -> None:
        self.options = settings.cache
        self.state = CacheState(settings.cache)
        self.keys = CacheKeys(settings)
        self._client = aredis_client(settings.cache)
        self._fill = self._client.register_script(FILL)
        self._flights = AsyncFlights()
        self._converter = converter
        self._codecs: dict[type, Codec] = {}
        self._closed = False  # then every call goes to the executor, which says so

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.options}>"

    def stats(self) -> CacheStats:
        return self.state.stats()

    def _codec(self, cls: type) -> Codec:
        codec = self._codecs.get(cls)
        if codec is None:
            codec = self._codecs[cls] = Codec(cls, self._converter)
        return codec

    def key(self, op: Operation, params: dict[str, Any], scope: Scope) -> str:
        """The key of a cached read; ValidationError (before any I/O) when
        tenancy is on and the scope names no tenant."""
        entity = op.entity
        tenant = "*" if entity.shared else scope.effective_tenant()
        names = CACHED[entity.name][op.name]
        return self.keys.key(
            self.keys.prefix(entity, tenant), op.name, (params[name] for name in names)
        )

    async def read(self, key: str, cls: type, load: AsyncCall[Any]) -> Any:
        """The entity under ``key``, from Redis, or else from ``load()`` (the
        database), put in Redis for the next read. Concurrent reads of one key
        make one Redis call and, on a miss, one database read: a hot key's
        readers share each GET instead of opening a connection each."""
        state = self.state
        if self._closed or not state.usable():
            if not self._closed:
                state.bypassed += 1
            return await load()
        return await self._flights.run(key, lambda: self._read(key, cls, load))

    async def _read(self, key: str, cls: type, load: AsyncCall[Any]) -> Any:
        state = self.state
        if not state.up and not await self._recover():
            state.bypassed += 1
            return await load()
        codec = self._codec(cls)
        try:
            value = await self._client.get(key)
            if value is not None:
                entity = self._decoded(codec, value)
                if entity is not None:
                    state.hits += 1
                    return entity
            # A miss: note the tombstone before reading the database (a second
            # round trip, on misses only, keeps a hit one GET).
            gone = await self._client.get(key + ":gone")
        except FAILURES as exc:
            state.failed(exc, "GET")
            state.bypassed += 1
            return await load()
        return await self._miss(key, codec, gone, load)

    def _decoded(self, codec: Codec, value: bytes | str) -> Any:
        try:
            return codec.loads(value)
        except (ValueError, TypeError, KeyError, ArithmeticError):
            return None  # not an entry of this shape: read the database, fill it again

    async def _miss(self, key: str, codec: Codec, gone: Any, load: AsyncCall[Any]) -> Any:
        """The database read, and the key filled unless its tombstone changed
        since it was noted (``gone``): a write committed meanwhile."""
        state = self.state
        state.misses += 1
        entity = await load()
        if entity is not None:
            try:
                filled = await self._fill(
                    keys=[key, key + ":gone"],
                    args=[gone or b"", codec.dumps(entity), state.ttl_ms()],
                )
            except FAILURES as exc:
                state.failed(exc, "SET")
            else:
                if not filled:
                    state.fills_refused += 1
        return entity

    def written(self, op: Operation, params: dict[str, Any], scope: Scope) -> _Written:
        """What a write of ``op`` with ``params`` invalidates."""
        entity = op.entity
        tenant = "*" if entity.shared else scope.effective_tenant()
        keys, broad = self.keys.written(op, params, tenant)
        written = _Written()
        written.add(keys, _glob(self.keys.prefix(entity, tenant)) if broad else None)
        return written

    async def invalidate(self, written: _Written) -> None:
        """Delete the keys written, each after setting its tombstone; when Redis
        fails, keep them to delete before the cache serves again. Then no later
        read joins a read in flight for them (which may have begun before the
        keys were deleted)."""
        if self._closed or (not written.keys and not written.patterns):
            return
        try:
            await self._invalidate(written)
        finally:
            if written.patterns:
                self._flights = AsyncFlights()  # forget every read in flight
            else:
                self._flights.forget(written.keys)

    async def _invalidate(self, written: _Written) -> None:
        state = self.state
        if state.usable() and (state.up or await self._recover()):
            try:
                await self._delete(written.keys)
                for pattern in written.patterns:
                    await self._delete_matching(pattern)
                return
            except FAILURES as exc:
                state.failed(exc, "invalidation")
        state.miss_invalidations(written.keys, bool(written.patterns))

    async def _recover(self) -> bool:
        """After an outage: send the invalidations missed meanwhile; whether the
        cache serves again."""
        state = self.state
        missed, flush = state.take_missed()
        try:
            if flush:
                await self._delete_matching(_glob(self.keys.namespace))
            elif missed:
                await self._delete(missed)
            else:
                await self._client.ping()
        except FAILURES as exc:
            state.miss_invalidations(missed, flush)
            state.failed(exc, "reconnection")
            return False
        state.recovered()
        return True

    async def _delete(self, keys: Iterable[str]) -> None:
        tombstone = new_tombstone()
        ttl = self.state.tombstone_ms()
        batch = list(keys)
        for start in range(0, len(batch), _CHUNK):
            pipe = self._client.pipeline(transaction=False)
            for key in batch[start : start + _CHUNK]:
                pipe.set(key + ":gone", tombstone, px=ttl)
                pipe.delete(key)
            await pipe.execute()
        self.state.invalidations += len(batch)

    async def _delete_matching(self, pattern: str) -> None:
        found: list[str] = []
        async for key in self._client.scan_iter(match=pattern, count=1000):
            text = key.decode() if isinstance(key, bytes) else str(key)
            if not text.endswith(":gone"):
                found.append(text)
        await self._delete(found)

    async def flush(self) -> int:
        """Delete every entry of this store's database (all tenants): how many."""
        found = 0
        async for key in self._client.scan_iter(match=_glob(self.keys.namespace), count=1000):
            await self._client.delete(key)
            found += 1
        return found

    async def close(self) -> None:
        self._closed = True
        await self._client.aclose()


def _glob(prefix: str) -> str:
    """A SCAN pattern of the keys that begin with ``prefix``."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", prefix) + "*"


class AsyncCachingExecutor:
    """A backend's executor with the cache in front: a write's keys are
    invalidated after it commits (after the outermost transaction, for a write
    inside one); inside a transaction nothing is read from the cache, so that a
    transaction sees its own writes. Everything else is the wrapped executor's."""

    def __init__(
        self, inner: AsyncExecutor, cache: AsyncCache, written: _Written | None = None
    ) -> None:
        self._inner = inner
        self._cache = cache
        self._written = written  # inside a transaction: what it wrote so far
        self.backend = inner.backend
        self.settings = inner.settings
        self.registry = inner.registry

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._inner!r}, cache {self._cache.options}>"

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    @property
    def cache(self) -> AsyncCache | None:
        """The cache reads may use: none inside a transaction."""
        return self._cache if self._written is None else None

    @property
    def in_transaction(self) -> bool:
        return self._inner.in_transaction

    @property
    def converter(self) -> EntityConverter:
        return self._inner.converter

    async def execute(self, op: Operation, params: dict[str, Any]) -> Any:
        if not is_write(op):
            return await self._inner.execute(op, params)
        written = self._cache.written(op, params, self.settings.scope)
        if self._written is not None:
            self._written.add(written.keys, None)
            self._written.patterns.update(written.patterns)
            return await self._inner.execute(op, params)
        try:
            result = await self._inner.execute(op, params)
        except CommitUnknownError:
            await self._cache.invalidate(written)  # it may have committed
            raise
        except VaultStoreError:
            raise  # nothing was written
        except BaseException:
            await self._cache.invalidate(written)
            raise
        await self._cache.invalidate(written)
        return result

    @asynccontextmanager
    async def transaction(self, *, timeout: float | None = None) -> AsyncIterator[Any]:
        outermost = self._written is None
        written = _Written() if self._written is None else self._written
        try:
            async with self._inner.transaction(timeout=timeout) as inner:
                if not outermost and inner is self._inner:
                    yield self  # joined the outer transaction
                else:
                    yield AsyncCachingExecutor(inner, self._cache, written)
        finally:
            if outermost:
                await self._cache.invalidate(written)

    def documents(self) -> AsyncDocumentBackend:
        return self._inner.documents()

    async def ping(self) -> float:
        return await self._inner.ping()

    async def pending_migrations(self) -> list[str]:
        return await self._inner.pending_migrations()

    async def health_facts(self, timeout: float) -> ServerFacts:
        return await self._inner.health_facts(timeout)

    def pool_stats(self) -> dict[str, int]:
        return self._inner.pool_stats()

    def replica_stats(self) -> list[ReplicaStats]:
        return self._inner.replica_stats()

    def scoped(self, scope: Scope) -> AsyncCachingExecutor:
        return AsyncCachingExecutor(self._inner.scoped(scope), self._cache, self._written)

    async def close(self) -> None:
        try:
            await self._inner.close()
        finally:
            await self._cache.close()
