# Generated from vaultstore/_async/cache.py by tools/generate_sync.py: do not edit.
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
from collections.abc import Iterator, Iterable, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError

from .._cache import (
    CACHED,
    FILL,
    Flights,
    CacheKeys,
    CacheState,
    redis_client,
    new_tombstone,
)
from .._monitoring import CacheStats
from .._pipeline import Call, Operation
from .._scope import Scope
from .._settings import Settings
from ..errors import CommitUnknownError, VaultStoreError

if TYPE_CHECKING:
    from .._convert import EntityConverter, JsonColumns
    from .._health import ServerFacts
    from .._registry import EntityType
    from .._replicas import ReplicaStats
    from .changes import ChangeFeed
    from .documents import DocumentBackend
    from .repositories import Executor

FAILURES = (RedisError, OSError, TimeoutError)
"""What a Redis call raises when Redis is down, slow or refuses: the database
then serves the call."""

_CHUNK = 500  # keys per pipeline when invalidating many


class _Written:
    """What a transaction's writes invalidate once it has committed: keys, and
    prefixes whose every key goes (a write that cannot name its keys)."""

    def __init__(self) -> None:
        self.keys: set[str] = set()
        self.prefixes: set[str] = set()

    def add(self, other: _Written) -> None:
        self.keys |= other.keys
        self.prefixes |= other.prefixes


class Cache:
    """One store's Redis cache: its client, keys, counters and state."""

    def __init__(self, settings: Settings, converter: EntityConverter) -> None:
        self.options = settings.cache
        self.keys = CacheKeys(settings)
        self.state = CacheState(settings.cache, self.keys.namespace)
        self._client = redis_client(settings.cache)
        self._fill = self._client.register_script(FILL)
        self._flights = Flights()
        self._converter = converter
        self._closed = False  # then every call goes to the executor, which says so

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.options}>"

    def stats(self) -> CacheStats:
        return self.state.stats()

    def key(self, op: Operation, params: dict[str, Any], scope: Scope) -> tuple[str, str]:
        """The key of a cached read and its prefix; ValidationError (before any
        I/O) when tenancy is on and the scope names no tenant."""
        entity = op.entity
        prefix = self.keys.prefix(entity, "*" if entity.shared else scope.effective_tenant())
        names = CACHED[entity.name][op.name]
        return self.keys.key(prefix, op.name, (params[name] for name in names)), prefix

    def read(self, key: tuple[str, str], cls: type, load: Call[Any]) -> Any:
        """The entity under ``key``, from Redis, or else from ``load()`` (the
        database), put in Redis for the next read. Concurrent reads of one key
        make one Redis call and, on a miss, one database read: a hot key's
        readers share each GET instead of opening a connection each."""
        state = self.state
        if self._closed or not state.usable():
            if not self._closed:
                state.count("bypassed")
            return load()
        return self._flights.run(key[0], lambda: self._read(key, cls, load))

    def _read(self, key: tuple[str, str], cls: type, load: Call[Any]) -> Any:
        state = self.state
        if not state.up and not self._recover():
            state.count("bypassed")
            return load()
        codec = self._converter.json_columns(cls)
        name, prefix = key
        try:
            value = self._client.get(name)
            if value is not None:
                entity = self._decoded(codec, value)
                if entity is not None:
                    state.count("hits")
                    return entity
            # A miss: note the tombstones before reading the database (a second
            # round trip, on misses only, keeps a hit one GET).
            gone, all_gone = self._client.mget(name + ":gone", prefix + "gone")
        except FAILURES as exc:
            state.failed(exc, "GET")
            state.count("bypassed")
            return load()
        return self._miss(key, codec, (gone or b"", all_gone or b""), load)

    def _decoded(self, codec: JsonColumns, value: bytes | str) -> Any:
        try:
            return codec.loads(value)
        except (ValueError, TypeError, KeyError, ArithmeticError):
            return None  # not an entry of this shape: read the database, fill it again

    def _miss(
        self, key: tuple[str, str], codec: JsonColumns, noted: tuple[Any, Any], load: Call[Any]
    ) -> Any:
        """The database read, and the key filled unless a tombstone changed since
        it was noted: a write committed meanwhile."""
        state = self.state
        state.count("misses")
        entity = load()
        if entity is not None:
            name, prefix = key
            try:
                filled = self._fill(
                    keys=[name, name + ":gone", prefix + "gone"],
                    args=[*noted, codec.dumps(entity), state.ttl_ms()],
                )
            except FAILURES as exc:
                state.failed(exc, "SET")
            else:
                if not filled:
                    state.count("fills_refused")
        return entity

    def written(self, op: Operation, params: dict[str, Any], scope: Scope) -> _Written:
        """What a write of ``op`` with ``params`` invalidates."""
        entity = op.entity
        prefix = self.keys.prefix(entity, "*" if entity.shared else scope.effective_tenant())
        keys, broad = self.keys.written(op, params, prefix)
        written = _Written()
        written.keys = keys
        if broad:
            written.prefixes.add(prefix)
        return written

    def defer(self, written: _Written, exc: BaseException) -> None:
        """Keep what ``written`` invalidates for when Redis is next used, and turn
        the cache off until then: a write whose invalidation could not be sent (a
        cancelled task, an interrupted thread) must not leave its keys readable."""
        self.state.miss_invalidations(written.keys, bool(written.prefixes))
        self.state.failed(exc, "invalidation")

    def invalidate(self, written: _Written) -> None:
        """Delete the keys written, each after setting its tombstone (a prefix:
        its tombstone, then every key under it); when Redis fails, keep them to
        delete before the cache serves again. Then no later read joins a read in
        flight for them (which may have begun before the keys were deleted)."""
        if self._closed or (not written.keys and not written.prefixes):
            return
        try:
            self._invalidate(written)
        except BaseException as exc:
            self.defer(written, exc)
            raise
        finally:
            if written.prefixes:
                self._flights = Flights()  # forget every read in flight
            else:
                self._flights.forget(written.keys)

    def _invalidate(self, written: _Written) -> None:
        state = self.state
        if state.usable() and (state.up or self._recover()):
            try:
                self._delete(written.keys)
                for prefix in written.prefixes:
                    self._delete_prefix(prefix)
                return
            except FAILURES as exc:
                state.failed(exc, "invalidation")
        state.miss_invalidations(written.keys, bool(written.prefixes))

    def _recover(self) -> bool:
        """After an outage, one call at a time: send the invalidations missed
        meanwhile; whether the cache serves again (not if Redis failed meanwhile)."""
        state = self.state
        taken = state.begin_recovery()
        if taken is None:
            return False  # another call is recovering: this one skips Redis
        missed, flush, _ = taken
        try:
            if flush:
                self._delete_matching(_glob(self.keys.namespace), tombstones=True)
            elif missed:
                self._delete(missed)
            else:
                self._client.ping()
        except BaseException as exc:
            state.end_recovery(taken, sent=False)
            if isinstance(exc, FAILURES):
                state.failed(exc, "reconnection")
                return False
            raise
        return state.end_recovery(taken, sent=True)

    def _delete(self, keys: Iterable[str]) -> None:
        tombstone = new_tombstone()
        ttl = self.state.tombstone_ms()
        batch = list(keys)
        for start in range(0, len(batch), _CHUNK):
            pipe = self._client.pipeline(transaction=False)
            for key in batch[start : start + _CHUNK]:
                pipe.set(key + ":gone", tombstone, px=ttl)
                pipe.delete(key)
            pipe.execute()
        self.state.count("invalidations", len(batch))

    def _delete_prefix(self, prefix: str) -> None:
        """Every key under ``prefix``: its tombstone first, which every fill
        checks, then the keys Redis holds."""
        self._client.set(prefix + "gone", new_tombstone(), px=self.state.tombstone_ms())
        self._delete_matching(_glob(prefix))

    def _delete_matching(self, pattern: str, *, tombstones: bool = False) -> None:
        """The keys matching ``pattern``; ``tombstones``: each prefix's tombstone
        changed too (after an outage, for the reads that noted one before it)."""
        found: list[str] = []
        prefixes: set[str] = set()
        for key in self._client.scan_iter(match=pattern, count=1000):
            text = key.decode() if isinstance(key, bytes) else str(key)
            if not text.endswith("gone"):
                found.append(text)
                prefixes.add(text[: text.index("}:") + 2])
        if tombstones:
            for prefix in prefixes:
                self._client.set(
                    prefix + "gone", new_tombstone(), px=self.state.tombstone_ms()
                )
        self._delete(found)

    def close(self) -> None:
        self._closed = True
        self._client.close()


def _glob(prefix: str) -> str:
    """A SCAN pattern of the keys that begin with ``prefix``."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", prefix) + "*"


class CachingExecutor:
    """A backend's executor with the cache in front: a write's keys are
    invalidated after it commits (after the outermost transaction, for a write
    inside one); inside a transaction nothing is read from the cache, so that a
    transaction sees its own writes. Everything else is the wrapped executor's."""

    def __init__(
        self, inner: Executor, cache: Cache, written: _Written | None = None
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
        """The wrapped executor's own attributes (its pool, its client), for
        introspection; what the pipeline calls is passed on below, typed."""
        return getattr(self._inner, name)

    @property
    def cache(self) -> Cache | None:
        """The cache reads may use: none inside a transaction."""
        return self._cache if self._written is None else None

    @property
    def in_transaction(self) -> bool:
        return self._inner.in_transaction

    @property
    def converter(self) -> EntityConverter:
        return self._inner.converter

    def writes(self, op: Operation) -> bool:
        return self._inner.writes(op)

    def execute(self, op: Operation, params: dict[str, Any]) -> Any:
        if op.lock or op.entity.name not in CACHED or not self._inner.writes(op):
            return self._inner.execute(op, params)
        written = self._cache.written(op, params, self.settings.scope)
        if self._written is not None:
            self._written.add(written)
            return self._inner.execute(op, params)
        try:
            result = self._inner.execute(op, params)
        except CommitUnknownError:
            self._cache.invalidate(written)  # it may have committed
            raise
        except VaultStoreError:
            raise  # nothing was written
        except BaseException as exc:
            self._cache.defer(written, exc)  # cancelled: it may have committed
            raise
        self._cache.invalidate(written)
        return result

    @contextmanager
    def transaction(self, *, timeout: float | None = None) -> Iterator[Any]:
        outermost = self._written is None
        written = _Written() if self._written is None else self._written
        try:
            with self._inner.transaction(timeout=timeout) as inner:
                if not outermost and inner is self._inner:
                    yield self  # joined the outer transaction
                else:
                    yield CachingExecutor(inner, self._cache, written)
        except VaultStoreError as exc:
            if outermost and isinstance(exc, CommitUnknownError):
                self._cache.invalidate(written)  # it may have committed
            raise  # else rolled back: nothing to invalidate
        except Exception:
            raise  # the block raised: rolled back, nothing to invalidate
        except BaseException as exc:
            if outermost:
                self._cache.defer(written, exc)  # interrupted: it may have committed
            raise
        if outermost:
            self._cache.invalidate(written)

    def documents(self) -> DocumentBackend:
        return self._inner.documents()

    def ping(self) -> float:
        return self._inner.ping()

    def pending_migrations(self) -> list[str]:
        return self._inner.pending_migrations()

    def health_facts(self, timeout: float) -> ServerFacts:
        return self._inner.health_facts(timeout)

    def pool_stats(self) -> dict[str, int]:
        return self._inner.pool_stats()

    def replica_stats(self) -> list[ReplicaStats]:
        return self._inner.replica_stats()

    def watch(self, watched: Sequence[EntityType], after: Any) -> ChangeFeed:
        return self._inner.watch(watched, after)

    def prune_changes(self, cutoff: datetime) -> int:
        return self._inner.prune_changes(cutoff)

    def scoped(self, scope: Scope) -> CachingExecutor:
        return CachingExecutor(self._inner.scoped(scope), self._cache, self._written)

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            self._cache.close()
