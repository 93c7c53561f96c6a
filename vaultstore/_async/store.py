"""The store (async source of the sync twin): the repositories of every
registered entity, on one backend's executor."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from time import perf_counter
from typing import Any, TypeVar

import attrs

from .. import _values
from .._arguments import check_timeout
from .._changes import entity_types as changed_types
from .._changes import parse_token
from .._health import Health, status_of, unreachable
from .._monitoring import Metrics, Monitor, StatementStats, pool_metrics
from .._pipeline import runs
from .._replicas import ReplicaStats
from .._retry import AsyncWork, aretry
from .._scope import Scope, audit_off, check_actor, check_tenant
from .._settings import Settings
from ..errors import ValidationError, VaultStoreError
from .changes import AsyncChangeFeed
from .contracts import AsyncDocumentRepository
from .documents import AsyncDocuments
from .repositories import (
    REPOSITORIES,
    AsyncAgents,
    AsyncAlerts,
    AsyncAuditLog,
    AsyncExecutor,
    AsyncLiquidations,
    AsyncPrices,
    AsyncProtectionRules,
    AsyncRepository,
    AsyncVaults,
)

T = TypeVar("T")


class AsyncVaultStore:
    """An open store: a connection pool (or client) and the repositories on it.

    Open it with :func:`vaultstore.aio.connect`; close it with ``async with`` or
    :meth:`close`. Every registered entity's repository is an attribute named as
    its registry entry (``store.vaults``); ``store.documents`` holds large documents.
    """

    agents: AsyncAgents
    vaults: AsyncVaults
    alerts: AsyncAlerts
    liquidations: AsyncLiquidations
    protection_rules: AsyncProtectionRules
    market_data: AsyncPrices
    documents: AsyncDocumentRepository
    audit: AsyncAuditLog

    _view = False  # made by scoped(): the pool is its store's

    def __init__(
        self, executor: AsyncExecutor, monitor: Monitor | None = None, tracer_provider: Any = None
    ) -> None:
        self._executor = executor
        if monitor is None:
            options = executor.settings.monitoring
            monitor = Monitor(
                backend=executor.backend,
                metrics=options.metrics,
                slow_seconds=options.slow_seconds,
                queries=executor.registry.queries,
                namespace=executor.settings.database,
                tracer_provider=tracer_provider,
            )
        self._monitor = monitor
        for entity in executor.registry:
            repository = REPOSITORIES.get(entity.cls, AsyncRepository)
            setattr(self, entity.name, repository(entity, executor, monitor))
        self.documents = AsyncDocuments(executor.documents(), monitor)
        self.audit = AsyncAuditLog(executor, monitor)

    @property
    def backend(self) -> str:
        """``"postgresql"`` or ``"mongodb"``."""
        return self._executor.backend

    @property
    def settings(self) -> Settings:
        """Where this store is connected (its repr hides the password)."""
        return self._executor.settings

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._executor.settings}>"

    @property
    def scope(self) -> Scope:
        """The tenant and actor this store's calls act for."""
        return self._executor.settings.scope

    def scoped(
        self,
        *,
        tenant: str | None = None,
        actor: str | None = None,
        audit: bool | None = None,
    ) -> AsyncVaultStore:
        """A view of this store acting for ``tenant`` (the rows it sees and writes)
        and ``actor`` (who the audit trail says wrote), each kept as it is when not
        given: the same repositories, ``transaction()`` and statistics, on the same
        pool. ``audit=False``: the view's writes leave no audit record (for bulk
        backfills; logged). Closing the view closes nothing; close the store."""
        scope = self.scope
        if audit is not None and not isinstance(audit, bool):
            raise ValidationError(f"expected True or False, got {audit!r}", field="audit")
        changed = attrs.evolve(
            scope,
            tenant=scope.tenant if tenant is None else check_tenant(tenant),
            actor=scope.actor if actor is None else check_actor(actor),
            audit=scope.audit if audit is None else audit,
        )
        if scope.audit and not changed.audit:
            audit_off(changed)
        view = AsyncVaultStore(self._executor.scoped(changed), self._monitor)
        view._view = True
        return view

    @runs(
        "health.configure_session",
        "health.set_session_scope",
        "changes.listen",
        "changes.last_position",
        "changes.pruned_through",
        "changes.read_after",
        "changes.in_progress",
        "changes.finished",
    )
    def watch(self, *entity_types: str | type, resume_after: str | None = None) -> AsyncChangeFeed:
        """The committed writes to ``entity_types`` (registry names or classes;
        every entity when none) as they happen, as an iterator of
        :class:`~vaultstore.ChangeEvent`: from after ``resume_after`` (an event's
        ``resume_token``), else from now. Close it (``async with``, or ``aclose()``);
        it reconnects by itself when its connection is lost, going on after the last
        event it delivered, so an event may come twice (its version tells).
        A scoped store sees its tenant's changes and shared data's. PostgreSQL:
        from the outbox, on a connection of its own; MongoDB: a change stream.
        ChangesLostError for a token older than what the feed still holds."""
        watched = changed_types(self._executor.registry, entity_types)
        return self._executor.watch(watched, parse_token(resume_after, self.backend))

    @runs("changes.prune")
    async def prune_changes(self, older_than: timedelta) -> int:
        """Delete the PostgreSQL change feed's changes older than ``older_than``
        (``changes.prune``; the migrator's to run: ``vaultstore prune-changes``);
        how many. A feed resuming from before them raises ChangesLostError.
        Nothing on MongoDB, whose oplog bounds its change streams."""
        if not isinstance(older_than, timedelta) or older_than <= timedelta(0):
            raise ValidationError(
                f"expected a positive timedelta, got {_values.shown(older_than)}",
                field="older_than",
            )
        return await self._executor.prune_changes(_values.utc_now() - older_than)

    def repository(self, name: str) -> Any:
        """The repository of the registered entity ``name`` (``store.repository("vaults")``
        is ``store.vaults``), for entities the typed attributes do not list."""
        if name not in {entity.name for entity in self._executor.registry}:
            raise KeyError(name)
        return getattr(self, name)

    @runs("health.set_operation_timeout")
    def transaction(
        self, *, timeout: float | None = None
    ) -> AbstractAsyncContextManager[AsyncVaultStore]:
        """Repositories sharing one transaction: committed when the block ends,
        rolled back if it raises. Nested: a savepoint on PostgreSQL; on MongoDB,
        which has none, it joins the outer transaction (see the README).
        ``timeout``: seconds each operation inside may take (a lock wait included),
        instead of the store's operation timeout."""
        return self._transaction(check_timeout(timeout))

    @asynccontextmanager
    async def _transaction(self, timeout: float | None) -> AsyncIterator[AsyncVaultStore]:
        async with self._executor.transaction(timeout=timeout) as executor:
            yield self if executor is self._executor else AsyncVaultStore(executor, self._monitor)

    async def run_transaction(
        self, fn: AsyncWork[T], *, attempts: int = 5, timeout: float | None = None
    ) -> T:
        """Run ``fn(tx)`` in a transaction and return what it returns; when it fails
        with a retryable error (``error.retryable``: a serialization failure, a
        deadlock, a write conflict, a connection lost before the commit), roll
        back and run it again, after a jittered wait, up to ``attempts`` times in
        all. A commit whose outcome is unknown (CommitUnknownError) is never run
        again. ``fn`` must do nothing but through ``tx`` that it would not repeat.
        ``timeout``: as for :meth:`transaction`, for each attempt."""
        if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
            raise ValidationError(
                f"expected an int >= 1, got {_values.shown(attempts)}", field="attempts"
            )
        timeout = check_timeout(timeout)
        if self._executor.in_transaction:
            # Rerunning a part of a transaction cannot undo what failed in it.
            raise VaultStoreError(
                "run_transaction runs a transaction of its own: call it on the store, "
                "not inside store.transaction()"
            )

        async def once() -> T:
            async with self.transaction(timeout=timeout) as tx:
                return await fn(tx)

        return await aretry(
            once,
            lambda exc: isinstance(exc, VaultStoreError) and exc.retryable,
            attempts=attempts,
            what="transaction",
        )

    @runs("health.ping")
    async def ping(self) -> float:
        """Seconds for one round trip to the server; UnavailableError if there is none."""
        return await self._executor.ping()

    @runs("health.applied_migrations")
    async def pending_migrations(self) -> list[str]:
        """The migrations this database has not applied, oldest first (``vaultstore
        migrate`` applies them): empty when the schema is the one vaultstore needs."""
        return await self._executor.pending_migrations()

    @runs(
        "health.set_operation_timeout",
        "health.ping",
        "health.server_state",
        "health.migration_checksums",
        "health.applied_migrations",
    )
    async def health(self, *, timeout: float = 5.0) -> Health:
        """The store's health, the same on both backends, within about ``timeout``
        seconds: reachable, round-trip time, server version, primary or standby
        (and a standby's replay lag), the pool, the migrations applied, pending and
        changed since applied. Degraded when any is pending or changed, or the
        server is a standby; unreachable when none answers. Never raises for the
        server's sake, and changes nothing."""
        seconds = check_timeout(timeout) or 5.0
        start = perf_counter()
        problems: list[str] = []
        try:
            facts = await self._executor.health_facts(seconds)
        except VaultStoreError as exc:
            pool = pool_metrics(self._executor.pool_stats())
            return unreachable(self.backend, exc.message, pool, perf_counter() - start)
        if facts.pending:
            problems.append(f"migrations pending: {', '.join(facts.pending)}")
        problems.extend(facts.drift)
        if facts.standby:
            problems.append("the server is a standby: writes will fail")
        return Health(
            status=status_of(True, problems),
            backend=self.backend,
            reachable=True,
            round_trip_seconds=facts.round_trip_seconds,
            server_version=facts.server_version,
            role="standby" if facts.standby else "primary",
            replica_lag_seconds=facts.replica_lag_seconds,
            pool=pool_metrics(self._executor.pool_stats()),
            migrations_applied=len(facts.applied),
            migrations_pending=facts.pending,
            migrations_drifted=facts.drift,
            problems=tuple(problems),
            elapsed_seconds=perf_counter() - start,
        )

    def pool_stats(self) -> dict[str, int]:
        """The connection pool's gauges and counters; with read replicas, also
        ``replica_reads``, ``replica_fallback_reads`` (reads the primary answered
        for want of a replica serving and caught up), ``replicas_serving`` and
        ``replicas_skipped``."""
        return self._executor.pool_stats()

    def replica_stats(self) -> list[ReplicaStats]:
        """Each PostgreSQL read replica: serving or skipped, and why; reads it
        served; its lag when last checked; its pool. Empty without replicas."""
        return self._executor.replica_stats()

    def statement_stats(self) -> dict[str, StatementStats]:
        """Per operation (``vaults.find_by_id``: the statement's file and name) since
        the store opened, transactions included: calls, errors and total seconds
        (empty with metrics off)."""
        return self._monitor.stats()

    def metrics(self) -> Metrics:
        """What a monitoring system scrapes, as plain data: per operation, calls,
        errors by class, rows and a latency histogram (empty with metrics off),
        the pool's gauges and counters, and the cache's (None without one).
        Reads no database."""
        cache = self._executor.cache
        return Metrics(
            backend=self.backend,
            statements=self._monitor.snapshot(),
            pool=pool_metrics(self._executor.pool_stats()),
            cache=None if cache is None else cache.stats(),
        )

    async def close(self) -> None:
        """Close the pool (client); a store inside a transaction, or a view made by
        :meth:`scoped`, leaves it to its owner."""
        if not self._view:
            await self._executor.close()

    async def __aenter__(self) -> AsyncVaultStore:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
