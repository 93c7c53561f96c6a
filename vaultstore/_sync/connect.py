# Generated from vaultstore/_async/connect.py by tools/generate_sync.py: do not edit.
"""Opening a store (async source of the sync twin)."""

from __future__ import annotations

from collections.abc import Mapping

from .._registry import REGISTRY, Registry
from .._settings import UNSET, Settings, resolve_settings
from .contracts import Store
from .mongo import MongoExecutor
from .postgres import PostgresExecutor
from .repositories import Executor
from .store import VaultStore


def connect(
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
    registry: Registry = REGISTRY,
) -> Store:
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
    )
    executor: Executor
    if settings.backend == "mongodb":
        executor = MongoExecutor.open(settings, registry)
    else:
        executor = PostgresExecutor.open(settings, registry)
    return VaultStore(executor)


__all__ = ["connect"]
