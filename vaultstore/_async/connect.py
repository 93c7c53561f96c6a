"""Opening a store (async source of the sync twin)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .._cache import check_redis_installed
from .._registry import REGISTRY, Registry
from .._scope import audit_off
from .._settings import UNSET, Settings, resolve_settings
from .contracts import AsyncStore
from .mongo import AsyncMongoExecutor
from .postgres import AsyncPostgresExecutor
from .repositories import AsyncExecutor
from .store import AsyncVaultStore


async def connect(
    url: str | Settings | None = None,
    *,
    env: Mapping[str, str] | None = None,
    pool_size: int = UNSET,
    min_pool_size: int = UNSET,
    connect_timeout: float = UNSET,
    idle_timeout: float = UNSET,
    operation_timeout: float = UNSET,
    prepare_threshold: int | None = UNSET,
    transaction_pooling: bool = UNSET,
    replicas: Iterable[str] = UNSET,
    replica_wait: float = UNSET,
    replica_max_lag: int = UNSET,
    tenant: str | None = UNSET,
    actor: str | None = UNSET,
    tenancy: bool = UNSET,
    audit: bool = UNSET,
    metrics: bool = UNSET,
    slow_ms: float | None = UNSET,
    cache: str | None = UNSET,
    cache_ttl: float = UNSET,
    cache_timeout: float = UNSET,
    tracer_provider: Any = None,
    registry: Registry = REGISTRY,
) -> AsyncStore:
    """Open a store on the database named by ``url``, or by the environment
    (``DATABASE_TYPE``, ``DATABASE_URL``, ``POSTGRES_*``, ``MONGO_*``; ``env``
    replaces ``os.environ``).

    Keyword options override the pool settings: ``pool_size`` (most connections),
    ``min_pool_size``, ``connect_timeout``, ``idle_timeout`` and
    ``operation_timeout`` (the most any one statement may take) in seconds, and
    ``prepare_threshold`` (executions before a statement is prepared on the
    server; None never prepares). ``transaction_pooling=True``: PostgreSQL is
    reached through a pooler in transaction mode, such as PgBouncer's (no
    session state kept, no statement prepared unless ``prepare_threshold`` says
    so; see the README).

    PostgreSQL read replicas: ``replicas`` (URLs of hot standbys of the primary,
    else ``DATABASE_REPLICA_URLS``, comma-separated) serve the read-only calls,
    round robin among those serving; a store's reads after its own writes wait up
    to ``replica_wait`` seconds (0.1) for the replica to replay them, else go to
    the primary; a replica more than ``replica_max_lag`` bytes of WAL behind (16
    MiB), down, or promoted is skipped until it is well again.
    Tenants: ``tenant`` (else ``VAULTSTORE_TENANT``) is the tenant whose rows
    the store sees and writes, ``actor`` (else ``VAULTSTORE_ACTOR``) who it
    acts as; ``store.scoped(tenant=..., actor=...)`` gives a view with others.
    With ``tenancy`` on (``VAULTSTORE_TENANCY``) a call with no tenant is
    refused; off, it acts for the tenant ``default``. Every write leaves an
    audit record in its own transaction (``store.audit``); ``audit=False`` (else
    ``VAULTSTORE_AUDIT``) turns that off for this store, for bulk backfills: it
    logs a warning.
    Monitoring: ``metrics`` (else ``VAULTSTORE_METRICS``; on) counts calls,
    errors, rows and latency per statement (``store.metrics()``); a call taking
    ``slow_ms`` milliseconds or more (else ``VAULTSTORE_SLOW_MS``; never) logs a
    WARNING line naming its statement and query file. With OpenTelemetry's API
    installed (``vaultstore[otel]``), each call is a span of ``tracer_provider``
    (else the global one; none without an SDK set up).
    Cache: ``cache`` (else ``VAULTSTORE_CACHE_URL``), a Redis URL, caches
    ``find_by_id`` of agents and vaults and ``market_data.latest_price`` for
    ``cache_ttl`` seconds (else ``VAULTSTORE_CACHE_TTL``; 60); a write
    invalidates what it changed once it commits; Redis failing or slower than
    ``cache_timeout`` seconds (else ``VAULTSTORE_CACHE_TIMEOUT``; 0.1) turns the
    cache off for a second while the database serves (see the README's "Cache";
    needs ``vaultstore[redis]``).
    ``registry`` replaces vaultstore's entities (see "Adding an entity").
    Raises UnavailableError when the database cannot be reached.
    """
    settings = resolve_settings(
        url,
        env,
        max_size=pool_size,
        min_size=min_pool_size,
        connect_timeout=connect_timeout,
        idle_timeout=idle_timeout,
        operation_timeout=operation_timeout,
        prepare_threshold=prepare_threshold,
        transaction_pooling=transaction_pooling,
        replicas=replicas,
        replica_wait=replica_wait,
        replica_max_lag=replica_max_lag,
        tenant=tenant,
        actor=actor,
        tenancy=tenancy,
        audit=audit,
        metrics=metrics,
        slow_ms=slow_ms,
        cache=cache,
        cache_ttl=cache_ttl,
        cache_timeout=cache_timeout,
    )
    if settings.cache.enabled:
        check_redis_installed()
    executor: AsyncExecutor
    if settings.backend == "mongodb":
        executor = await AsyncMongoExecutor.open(settings, registry)
    else:
        executor = await AsyncPostgresExecutor.open(settings, registry)
    if not settings.scope.audit:
        audit_off(settings.scope)
    if settings.cache.enabled:
        from .cache import AsyncCache, AsyncCachingExecutor  # noqa: PLC0415 - needs redis

        try:
            redis_cache = AsyncCache(settings, executor.converter)
        except BaseException:
            await executor.close()
            raise
        executor = AsyncCachingExecutor(executor, redis_cache)
    return AsyncVaultStore(executor, tracer_provider=tracer_provider)


__all__ = ["connect"]
