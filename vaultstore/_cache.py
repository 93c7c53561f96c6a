"""The Redis cache's I/O-free parts: what is cached, under which key, and the
cache's state (its Redis parts are :mod:`vaultstore._async.cache`; an entry is
the entity's column values as JSON, :class:`vaultstore._convert.JsonColumns`).

Cache-aside: a cached read looks in Redis first and, on a miss, reads the
database (the primary: a replica may not have replayed the latest write yet) and
fills the key, unless a write invalidated it in between. A write deletes the keys
it affects once its transaction has committed, after leaving a *tombstone* beside
each: a random value a read notes before reading the database and finds changed
when it comes to fill, so that a read that raced with the write cannot put the
old entity back. Concurrent reads of one key in one process make one Redis call
and, on a miss, one database read (:class:`AsyncFlights`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import random
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping
from enum import Enum
from time import monotonic
from typing import TYPE_CHECKING, Any, Literal, TypeVar, get_args

from ._convert import leaf_fields
from ._monitoring import CacheStats
from ._pipeline import Operation
from ._registry import EntityType
from ._settings import CacheOptions, Settings
from .errors import ValidationError

if TYPE_CHECKING:
    import redis
    import redis.asyncio

logger = logging.getLogger("vaultstore")

T = TypeVar("T")

CACHED: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "agents": {"find_by_id": ("id",)},
    "vaults": {"find_by_id": ("id",)},
    "market_data": {"latest_price": ("token", "chain_id")},
}
"""Per entity, the reads that are cached, each with the parameters that make its
key; each parameter is also the name of the entity's field that holds it, so a
written entity gives the keys it affects."""

FORMAT = 1
"""The layout of a cached value; part of every key, as is each entity's shape."""

_NEW_ROWS = ("insert", "insert_many", "copy_in")
"""Operations that only add rows (a conflict with a stored id writes nothing)."""


class _Health:
    """Whether a Redis serves a key namespace, shared by every store of the
    process on that Redis and namespace (a sync and an async store of one
    application see one outage, and the invalidations either kept)."""

    def __init__(self) -> None:
        self.down_until = 0.0  # monotonic seconds; 0: up
        self.missed: set[str] = set()
        self.flush_all = False  # more invalidations were missed than kept
        self.failures = 0  # counts failures: a recovery is void if one came during it
        self.recovering = False
        self.lock = threading.Lock()


_HEALTH: dict[tuple[str, str], _Health] = {}
_HEALTH_LOCK = threading.Lock()


def _shared_health(url: str, namespace: str) -> _Health:
    with _HEALTH_LOCK:
        health = _HEALTH.get((url, namespace))
        if health is None:
            health = _HEALTH[url, namespace] = _Health()
        return health


CountName = Literal["hits", "misses", "fills_refused", "invalidations", "errors", "bypassed"]
"""The counters of :class:`CacheStats`."""
_COUNTS: tuple[CountName, ...] = get_args(CountName)


class CacheState:
    """A store's counters, and whether Redis is used: after a failure the cache
    is off for ``retry_after`` seconds, then tried again by one call at a time;
    invalidations that could not be sent meanwhile are kept (up to a bound, past
    which the whole namespace is flushed) and sent before the cache serves again.
    The outage and the invalidations kept are shared by the stores of the
    process on the same Redis and namespace."""

    MISSED_MAX = 100_000

    def __init__(self, options: CacheOptions, namespace: str = "") -> None:
        self.options = options
        self._counts = dict.fromkeys(_COUNTS, 0)
        self._counts_lock = threading.Lock()  # a sync store's threads share it
        self._health = _shared_health(options.url or "", namespace)

    @property
    def up(self) -> bool:
        return self._health.down_until == 0.0

    def usable(self) -> bool:
        """Whether to try Redis now (up, or off long enough to try again)."""
        down_until = self._health.down_until
        return down_until == 0.0 or monotonic() >= down_until

    def count(self, name: CountName, n: int = 1) -> None:
        """Add ``n`` to one of :class:`CacheStats`' counters."""
        with self._counts_lock:
            self._counts[name] += n

    def failed(self, exc: BaseException, doing: str) -> None:
        self.count("errors")
        health = self._health
        with health.lock:
            health.failures += 1
            was_up = health.down_until == 0.0
            health.down_until = monotonic() + self.options.retry_after
        if was_up:
            logger.warning(
                "vaultstore: the cache is off for %.1f s (Redis %s failed: %s: %s); "
                "the database serves every call",
                self.options.retry_after,
                doing,
                type(exc).__name__,
                exc,
            )

    def miss_invalidations(self, keys: Iterable[str], flush: bool = False) -> None:
        """Keep invalidations Redis did not get (``flush``: some named no keys)."""
        health = self._health
        with health.lock:
            if not health.flush_all:
                health.missed.update(keys)
                if flush or len(health.missed) > self.MISSED_MAX:
                    health.missed.clear()
                    health.flush_all = True

    def begin_recovery(self) -> tuple[set[str], bool, int] | None:
        """The invalidations kept, whether to flush instead, and the failures so
        far; None while another call is recovering (this one then skips Redis)."""
        health = self._health
        with health.lock:
            if health.recovering:
                return None
            health.recovering = True
            missed, flush = health.missed, health.flush_all
            health.missed, health.flush_all = set(), False
            return missed, flush, health.failures

    def end_recovery(self, taken: tuple[set[str], bool, int], sent: bool) -> bool:
        """After sending what :meth:`begin_recovery` took (``sent``): whether the
        cache serves again, which it does only if no failure came meanwhile and
        nothing more is kept."""
        missed, flush, failures = taken
        health = self._health
        with health.lock:
            health.recovering = False
            if not sent:
                if not health.flush_all:
                    health.missed |= missed
                    health.flush_all = flush
                return False
            if health.failures != failures or health.missed or health.flush_all:
                health.down_until = monotonic()  # try again at the next call
                return False
            back = health.down_until != 0.0
            health.down_until = 0.0
        if back:
            logger.warning("vaultstore: the cache is back on (Redis answers again)")
        return True

    def stats(self) -> CacheStats:
        with self._counts_lock:
            return CacheStats(up=self.up, **self._counts)

    def ttl_ms(self) -> int:
        """An entry's time to live: the TTL less 0 to 10 %, so that entries
        filled together expire apart."""
        return max(1, int(self.options.ttl * 1000 * (1 - random.random() / 10)))  # noqa: S311 - jitter

    def tombstone_ms(self) -> int:
        """How long a tombstone lives: longer than any read it must outlast."""
        return int(max(2 * self.options.ttl, 60.0) * 1000)


def _schema_of(cls: type) -> str:
    """A short hash of ``cls``'s fields and their types: an entity whose shape
    changes in a deploy gets keys of its own, never reading entries of the old."""
    shape = repr([(path, str(field.type)) for path, field in leaf_fields(cls)])
    return hashlib.sha256(f"{FORMAT}:{shape}".encode()).hexdigest()[:12]


def _part(value: object) -> str:
    """A key's part: braces escaped (they delimit a Redis Cluster hash tag)."""
    text = str(value.value if isinstance(value, Enum) else value)
    if text.isalnum():
        return text  # an id, a token, a chain: nothing to escape
    return text.replace("%", "%25").replace("{", "%7B").replace("}", "%7D").replace(":", "%3A")


def _server_of(settings: Settings) -> str:
    """A short hash of the hosts and ports the store connects to: two servers'
    databases of one name are two namespaces."""
    hosts = ",".join(sorted(f"{host}:{port or ''}" for host, port in settings.hosts))
    return hashlib.sha256(hosts.encode()).hexdigest()[:8]


class CacheKeys:
    """The keys of one store's cached reads.

    ``vaultstore:{<backend>:<server>:<database>:<tenant>:<entity>@<shape>}:<read>:<values>``,
    ``<server>`` a hash of the hosts; each key's tombstone is the key with
    ``:gone`` after it, and the prefix's tombstone (a write that cannot name its
    keys) is the prefix with ``gone`` after it. The braces put the keys of one
    tenant's entity, and their tombstones, in one Redis Cluster hash slot, as the
    fill's script needs. Market data, shared by every tenant, has ``*`` for a
    tenant."""

    def __init__(self, settings: Settings) -> None:
        self.namespace = (
            f"vaultstore:{{{_part(settings.backend)}:{_server_of(settings)}:"
            f"{_part(settings.database)}:"
        )
        self._prefixes: dict[tuple[str, str], str] = {}

    def prefix(self, entity: EntityType, tenant: str) -> str:
        prefix = self._prefixes.get((entity.name, tenant))
        if prefix is None:
            shape = _schema_of(entity.cls)
            shown = _part("*" if entity.shared else tenant)
            prefix = f"{self.namespace}{shown}:{entity.name}@{shape}}}:"
            if len(self._prefixes) < 10_000:  # tenants are few; a bound all the same
                self._prefixes[entity.name, tenant] = prefix
        return prefix

    def key(self, prefix: str, read: str, values: Iterable[object]) -> str:
        return f"{prefix}{read}:{':'.join(map(_part, values))}"

    def written(
        self, op: Operation, params: Mapping[str, Any], prefix: str
    ) -> tuple[set[str], bool]:
        """The keys under ``prefix`` a write of ``op`` with ``params`` affects, and
        whether it affects keys it cannot name (then every key under it goes)."""
        keys: set[str] = set()
        broad = False
        given = params.get("entities")
        # A batch of new rows is read once, as it is sent: its keys are not known
        # beforehand, and such a write goes broad.
        streamed = given is not None and not isinstance(given, list)
        entities = [] if given is None or streamed else list(given)
        if params.get("entity") is not None:
            entities.append(params["entity"])
        for read, names in CACHED[op.entity.name].items():
            if names == ("id",) and op.name in _NEW_ROWS:
                continue  # a new id: nothing cached under it (a miss is not cached)
            named = False
            if all(name in params for name in names):
                keys.add(self.key(prefix, read, (params[name] for name in names)))
                named = True
            if names == ("id",) and params.get("ids") is not None:
                keys.update(self.key(prefix, read, (id,)) for id in params["ids"])
                named = True
            for entity in entities:
                keys.add(self.key(prefix, read, (getattr(entity, name) for name in names)))
                named = True
            if streamed or (names != ("id",) and not entities):
                # A price updated or deleted by its id: its token is not known here.
                named = False
            broad = broad or not named
        return keys, broad


FILL = """
local gone = redis.call('GET', KEYS[2]) or ''
if gone ~= ARGV[1] then return 0 end
local all_gone = redis.call('GET', KEYS[3]) or ''
if all_gone ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
return 1
"""
"""Fill a key unless a tombstone changed since the read noted it (KEYS: the key,
its tombstone, its prefix's tombstone; ARGV: the two tombstones as noted, the
value, the TTL in ms)."""


def new_tombstone() -> str:
    return os.urandom(8).hex()


class AsyncFlights:
    """One call in flight per key: concurrent calls for a key wait for the first
    one's result instead of making their own (the stampede guard)."""

    def __init__(self) -> None:
        self._running: dict[str, asyncio.Future[Any]] = {}

    async def run(self, key: str, call: Callable[[], Awaitable[T]]) -> T:
        running = self._running.get(key)
        if running is not None:
            try:
                result: T = await asyncio.shield(running)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise
                return await call()  # the first caller was cancelled, not this one
            return result
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._running[key] = future
        try:
            value = await call()
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                future.cancel()
            else:
                future.set_exception(exc)
                future.exception()  # retrieved: no warning when nobody waited
            raise
        else:
            future.set_result(value)
            return value
        finally:
            if self._running.get(key) is future:
                del self._running[key]

    def forget(self, keys: Iterable[str]) -> None:
        """Let no later call join a call in flight for ``keys``: it may have read
        the database before a write that has just committed."""
        for key in keys:
            self._running.pop(key, None)


class _Flight:
    """A call in flight: its outcome, and an event made only if someone waits."""

    __slots__ = ("done", "error", "event", "value")

    def __init__(self) -> None:
        self.done = False
        self.value: Any = None
        self.error: BaseException | None = None
        self.event: threading.Event | None = None


class Flights:
    """:class:`AsyncFlights` for threads (the first caller makes no event unless
    another one waits for it: the uncontended call stays cheap)."""

    def __init__(self) -> None:
        self._running: dict[str, _Flight] = {}
        self._lock = threading.Lock()

    def run(self, key: str, call: Callable[[], T]) -> T:
        event: threading.Event | None = None
        with self._lock:
            flight = self._running.get(key)
            if flight is None:
                mine = self._running[key] = _Flight()
            elif not flight.done:
                if flight.event is None:
                    flight.event = threading.Event()
                event = flight.event
        if flight is not None:
            if event is not None:
                event.wait()
            if flight.error is not None:
                raise flight.error
            result: T = flight.value
            return result
        try:
            mine.value = value = call()
        except BaseException as exc:
            mine.error = exc
            raise
        finally:
            with self._lock:
                mine.done = True
                if self._running.get(key) is mine:
                    del self._running[key]
                waiting = mine.event
            if waiting is not None:
                waiting.set()
        return value

    def forget(self, keys: Iterable[str]) -> None:
        """:meth:`AsyncFlights.forget`."""
        with self._lock:
            for key in keys:
                self._running.pop(key, None)


def check_redis_installed() -> None:
    """Refuse a cache URL, before connecting, when redis-py is not installed."""
    try:
        import redis  # noqa: F401, PLC0415 - an optional extra
    except ImportError:
        raise ValidationError(
            "a cache URL was given but redis-py is not installed: pip install 'vaultstore[redis]'",
            field="cache",
        ) from None


CONNECT_TIMEOUT_MIN = 0.25
"""Seconds a new connection to Redis may take at least: a burst of connections
on a busy machine takes longer than a reply."""


def aredis_client(options: CacheOptions) -> redis.asyncio.Redis:
    """An asyncio Redis client failing fast: ``options.timeout`` for each reply
    (and at least :data:`CONNECT_TIMEOUT_MIN` to connect), no retry: the database
    is the fallback, not a wait."""
    from redis.asyncio import Redis  # noqa: PLC0415 - an optional extra
    from redis.asyncio.retry import Retry  # noqa: PLC0415 - an optional extra
    from redis.backoff import NoBackoff  # noqa: PLC0415 - an optional extra

    return Redis.from_url(
        options.url or "",
        socket_timeout=options.timeout,
        socket_connect_timeout=max(options.timeout, CONNECT_TIMEOUT_MIN),
        retry=Retry(NoBackoff(), 0),
        health_check_interval=0,
    )


def redis_client(options: CacheOptions) -> redis.Redis:
    """:func:`aredis_client` for threads."""
    from redis import Redis  # noqa: PLC0415 - an optional extra
    from redis.backoff import NoBackoff  # noqa: PLC0415 - an optional extra
    from redis.retry import Retry  # noqa: PLC0415 - an optional extra

    return Redis.from_url(
        options.url or "",
        socket_timeout=options.timeout,
        socket_connect_timeout=max(options.timeout, CONNECT_TIMEOUT_MIN),
        retry=Retry(NoBackoff(), 0),
        health_check_interval=0,
    )
