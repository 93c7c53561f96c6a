"""The PostgreSQL executor (async source of the sync twin): runs a named operation
as the aiosql statement of that name in ``queries/<entity>.sql``, on a connection
from psycopg's pool or on the one connection of a transaction.

Only I/O is here: parameters, rows into entities and errors are
:mod:`vaultstore._postgres`'s, the repositories are :mod:`.repositories`'.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

import attrs
import psycopg
from psycopg import AsyncClientCursor, AsyncConnection, AsyncCursor
from psycopg.conninfo import make_conninfo
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, PoolClosed, PoolTimeout

from .. import _retry
from .._health import ServerFacts, postgres_drift
from .._outage import PROBE_TIMEOUT, Outage
from .._pipeline import Operation, Shape, runs
from .._postgres import (
    DRIVER_ERRORS,
    NOT_MIGRATED,
    Plan,
    PostgresConverter,
    Result,
    call_first,
    connection_kwargs,
    connection_lost,
    copy_columns,
    not_migrated,
    operation_timeout_params,
    server_answered,
    session_defaults,
    translate,
)
from .._queries import load_queries
from .._registry import EntityType, Registry
from .._replicas import Replica, Replicas, ReplicaStats
from .._resources import migration_ids, migrations_dir
from .._retry import commit_unknown
from .._scope import Scope
from .._settings import Settings
from ..errors import DatabaseError, UnavailableError, ValidationError, VaultStoreError
from .adapter import AsyncQueryAdapter
from .changes import AsyncPostgresFeed
from .postgres_documents import AsyncPostgresDocuments

if TYPE_CHECKING:
    from .cache import AsyncCache

logger = logging.getLogger("vaultstore")
T = TypeVar("T")

RECONNECT_TIMEOUT = 0.2
"""Seconds psycopg_pool keeps trying to replace a connection it could not make."""
FIRST_WAIT = 0.25
"""Seconds a call waits for a pooled connection before it looks whether the pool
fails to connect (then the server is tried), and waits on for the rest of the
connect timeout."""
REPLICA_WAIT = 0.25
"""Seconds a read waits for a connection to a read replica before it goes to the
primary instead (the replica counts as down if its pool fails to connect)."""
FIRST_POLL = 0.0002
"""Seconds between the first two checks of a replica that has not yet replayed a
store's latest write; each later wait is twice the one before, up to LAST_POLL."""
LAST_POLL = 0.01
POOLED_SCOPES = 64
"""Behind a transaction pooler: the scopes whose query text each statement keeps."""
REPLICA_PROBE_WAIT = 0.05
"""Seconds a read waits for a try of a skipped replica before it goes on without it."""


class AsyncPgConnection(AsyncConnection[Any]):
    """A psycopg connection that keeps one cursor for vaultstore's statements, so
    that a call does not pay for a new cursor."""

    _vault_cursor: AsyncCursor[Any] | None = None
    _client_cursor: AsyncClientCursor[Any] | None = None
    vault_scope: tuple[str, str, str] | None = None
    """The (tenant, actor, audit) its session holds (``health.set_session_scope``), if any."""

    def vault_cursor(self) -> AsyncCursor[Any]:
        """The connection's long-lived cursor, with tuple rows (built in C)."""
        cursor = self._vault_cursor
        if cursor is None or cursor.closed:
            cursor = self._vault_cursor = self.cursor()
        return cursor

    def client_cursor(self) -> AsyncClientCursor[Any]:
        """A long-lived cursor binding parameters on the client, which can send
        several statements in one query (behind a transaction pooler)."""
        cursor = self._client_cursor
        if cursor is None or cursor.closed:
            cursor = self._client_cursor = AsyncClientCursor(self)
        return cursor


class AsyncPostgresExecutor:
    """Runs operations on a connection pool, or on one connection inside a
    transaction (``connection`` set): what every repository runs on."""

    backend = "postgresql"
    cache: AsyncCache | None = None  # vaultstore._async.cache wraps it when on

    def __init__(
        self,
        pool: AsyncConnectionPool[AsyncPgConnection],
        settings: Settings,
        registry: Registry,
        queries: Any,
        converter: PostgresConverter,
        *,
        connection: AsyncPgConnection | None = None,
        replicas: Replicas | None = None,
    ) -> None:
        self.pool = pool
        self.settings = settings
        self.registry = registry
        self.queries = queries
        self.converter = converter
        self.connection = connection
        # Shared with the executors of this store's transactions.
        self.plans: dict[str, Plan] = {}
        self.loaders: dict[str, Callable[[Any], Any]] = {}
        self.outage = Outage()
        self.replicas = replicas or Replicas(
            [], wait=settings.replica_options.wait, max_lag=settings.replica_options.max_lag
        )
        self._tables = registry.tables
        self._connection_errors = 0  # psycopg_pool's count, when last seen
        self._scope(settings.scope)

    def _scope(self, scope: Scope) -> None:
        """Act for ``scope``: its tenant and actor go with every call, as session
        settings of each pooled connection, set when the connection served another
        scope last (``health.set_session_scope``); behind a transaction pooler,
        local to each transaction, with the operation timeout (``_call_first``).
        A scope without a tenant, with tenancy on, makes every call refuse."""
        try:
            tenant = scope.effective_tenant()
        except ValidationError as exc:
            self._scope_key: tuple[str, str, str] | None = None
            self._scope_error: ValidationError | None = exc
            self._call_first: str | None = None
            return
        audit = "on" if scope.audit else "off"
        self._scope_key, self._scope_error = (tenant, scope.actor or "", audit), None
        # Behind a transaction pooler: what each statement outside a transaction
        # is sent after (no session setting holds there).
        self._call_first = (
            call_first(self.queries.health.set_call_scope.sql, self.settings, *self._scope_key)
            if self.settings.pool.transaction_pooling
            else None
        )

    def scoped(self, scope: Scope) -> AsyncPostgresExecutor:
        """This executor (its pools, plans, outage and replicas shared) acting for ``scope``."""
        if self.connection is not None:
            raise VaultStoreError(
                "a transaction acts for one scope: call scoped() on the store, "
                "then open the transaction"
            )
        other = copy.copy(self)
        other.settings = attrs.evolve(self.settings, scope=scope)
        other._scope(scope)
        return other

    @classmethod
    @runs("health.configure_session", "health.set_session_time_zone")
    async def open(cls, settings: Settings, registry: Registry) -> AsyncPostgresExecutor:
        """Connect, check the server answers, and fill the pool's minimum. Each new
        connection gets vaultstore's session defaults (``health.configure_session``);
        behind a transaction pooler only the time zone, which the pooler keeps per
        client (``health.set_session_time_zone``)."""
        conninfo, kwargs = connection_kwargs(settings)
        try:
            probe = await AsyncPgConnection.connect(conninfo, **kwargs)
            await probe.close()
        except psycopg.Error as exc:
            error = translate(exc, settings=settings)
            if isinstance(error, UnavailableError):
                raise error from None  # the driver's message may quote the conninfo
            raise error from exc
        queries = load_queries(AsyncQueryAdapter, registry.queries)
        defaults = session_defaults(settings)

        async def configure(conn: AsyncPgConnection) -> None:
            if settings.pool.transaction_pooling:
                await queries.health.set_session_time_zone(
                    conn.cursor(), timezone=defaults["timezone"]
                )
            else:
                await queries.health.configure_session(conn.cursor(), **defaults)

        pool = _pool(conninfo, kwargs, configure, settings, "vaultstore")
        try:
            await pool.open(wait=True, timeout=settings.pool.connect_timeout)
        except PoolTimeout as exc:
            await pool.close()
            raise translate(exc, settings=settings) from None
        replicas = []
        for i, replica in enumerate(settings.replicas):
            # A replica down now is skipped, not refused: reads go to the primary.
            replica_info, replica_kwargs = connection_kwargs(replica)
            name = f"vaultstore-replica-{i}"
            replica_pool = _pool(replica_info, replica_kwargs, configure, settings, name)
            await replica_pool.open(wait=False)
            replicas.append(Replica(str(replica), replica_pool))
        _quiet_pool_logger()
        logger.info("vaultstore connected to %s", settings)
        options = settings.replica_options
        return cls(
            pool,
            settings,
            registry,
            queries,
            PostgresConverter(),
            replicas=Replicas(replicas, wait=options.wait, max_lag=options.max_lag),
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.settings}>"

    @property
    def in_transaction(self) -> bool:
        return self.connection is not None

    def statement(self, op: Operation) -> Any:
        """The aiosql statement that runs ``op``."""
        return getattr(getattr(self.queries, op.entity.name), op.name)

    def writes(self, op: Operation) -> bool:
        return not (self.plans.get(op.key) or self._plan(op)).read

    def _plan(self, op: Operation) -> Plan:
        """How ``op`` runs; once per operation and store."""
        plan = self.plans[op.key] = Plan(self.statement(op))
        return plan

    @runs(
        "health.primary_position",  # reads, with replicas
        "health.replica_position",
        "health.set_session_scope",  # a pooled connection that served another scope
        "health.set_call_scope",  # behind a transaction pooler
        "audit.begin_batch",  # a batch, audited as one record
        "audit.record_batch",
    )
    async def execute(self, op: Operation, params: dict[str, Any]) -> Any:
        """Run ``op``'s statement with ``params`` and give back what its shape says.

        Outside a transaction, a read goes to a read replica if the store has
        any (:meth:`_on_replica`), else to the primary, where a read whose pooled
        connection turns out dead (the server restarted, a failover, a killed
        backend) runs once more on a fresh one, after the pool has dropped its
        dead connections; a write is never run twice, and its error says the
        outcome is unknown."""
        plan = self.plans.get(op.key) or self._plan(op)
        if plan.batch:
            return await self._batch(op, plan.statement, params)
        bound = self.converter.bind(op.entity.cls, plan, params)
        if op.batch and self.settings.scope.audit:
            return await self._audited_batch(op, plan, bound)
        if self.connection is not None:
            return await self._in_transaction(self.connection, op, plan, bound)
        read = plan.read
        if read and self.replicas.replicas and not op.primary:
            served, result = await self._on_replica(op, plan, bound)
            if served:
                return result
        return await self._on_primary(op, plan, bound)

    async def _on_primary(self, op: Operation, plan: Plan, bound: dict[str, Any]) -> Any:
        read = plan.read
        retried = False
        error: VaultStoreError | None = None  # one that says the schema is behind
        while True:
            conn = await self.getconn()  # nothing was sent yet if this raises: safe to retry
            lost = False
            try:
                return await self._run(conn, op, plan, bound, self._call_first)
            except DRIVER_ERRORS as exc:
                lost = connection_lost(exc)
                if not (read and not retried and lost):
                    translated = self._error(exc, op)
                    if translated.code not in NOT_MIGRATED:
                        if lost:
                            await _retry.awithin(self._try_server, PROBE_TIMEOUT)
                        # Autocommit: a write may have committed before the connection died.
                        raise (translated if read else commit_unknown(translated)) from exc
                    error = translated
            except VaultStoreError as exc:  # a row lacking a column the entity has
                if exc.code not in NOT_MIGRATED:
                    raise
                error = exc
            finally:
                await self.pool.putconn(conn)
                if not read:
                    self.replicas.wrote()  # committed, or may have been
            if error is not None:
                raise not_migrated(error, await self.pending_migrations()) from error
            retried = True
            if self.outage.error is None or self.outage.must_probe():
                await self._reachable()  # raises UnavailableError if the server is down
            logger.info("vaultstore: a pooled connection was lost; %s runs again", op.key)
            await self.pool.check()

    async def getconn(self, *, retry: bool = True) -> AsyncPgConnection:
        """A connection from the pool, waiting up to the connect timeout for one to
        come free; but an UnavailableError at once while the server is known to be
        down (except for the call whose turn it is to try it), or once a first
        short wait shows the pool failing to connect and a try finds it down."""
        if self._scope_error is not None:
            raise self._scope_error
        outage = self.outage
        if outage.error is not None and outage.must_probe():
            await self._reachable(slow_is_down=True)
        timeout = self.settings.pool.connect_timeout
        try:
            try:
                conn = await self.pool.getconn(timeout=min(FIRST_WAIT, timeout))
            except PoolTimeout:
                if timeout <= FIRST_WAIT:
                    raise
                # Waiting longer than a healthy pool usually makes anyone wait.
                if outage.error is None and self._connections_failing():
                    await self._reachable()  # raises, beginning the outage, if it is down
                if outage.error is not None and outage.must_probe():
                    await self._reachable(slow_is_down=True)
                conn = await self.pool.getconn(timeout=timeout - FIRST_WAIT)
        except DRIVER_ERRORS as exc:
            raise translate(exc, settings=self.settings) from None
        if conn.vault_scope != self._scope_key and self._call_first is None:
            try:
                await self._set_session_scope(self.pool, conn)
            except UnavailableError:
                if not retry:
                    raise
                # A dead pooled connection (a restart, a killed backend): nothing
                # of the call was sent, so it goes on on a fresh one, once.
                await self.pool.check()
                return await self.getconn(retry=False)
        return conn

    async def _set_session_scope(
        self, pool: AsyncConnectionPool[AsyncPgConnection], conn: AsyncPgConnection
    ) -> None:
        """Make ``conn``'s session act for this executor's scope (back to ``pool``
        if that fails: it is then in no known scope)."""
        key = self._scope_key
        assert key is not None
        try:
            await self.queries.health.set_session_scope(
                conn.vault_cursor(), tenant=key[0], actor=key[1], audit=key[2]
            )
        except BaseException as exc:
            conn.vault_scope = None
            await pool.putconn(conn)
            if isinstance(exc, DRIVER_ERRORS):
                raise translate(exc, settings=self.settings) from exc
            raise
        conn.vault_scope = key

    def _connections_failing(self) -> bool:
        """Whether the pool failed to make a connection since this was last asked
        (a pool merely busy makes no such attempt fail)."""
        errors = self.pool.get_stats().get("connections_errors", 0)
        failing, self._connection_errors = errors > self._connection_errors, errors
        return failing

    async def _reachable(self, *, slow_is_down: bool = False) -> None:
        """Try the server with a connection outside the pool, waiting at most
        PROBE_TIMEOUT for the answer: raise UnavailableError, and begin an outage,
        if it refuses; end one, the pool's dead connections dropped, if it answers.
        A try still going on then goes on in the background to report; the server
        counts as down meanwhile only if ``slow_is_down`` (a slow answer from a
        server under load is not an outage)."""
        if not await _retry.awithin(self._try_server, PROBE_TIMEOUT) and slow_is_down:
            self.outage.begin(
                UnavailableError(
                    f"database {self.settings} did not answer within {PROBE_TIMEOUT:g} s"
                )
            )
        error = self.outage.error
        if error is not None:
            raise UnavailableError(error.message, code=error.code)

    async def _try_server(self) -> None:
        """Connect once outside the pool, and record in the outage what came of it."""
        conninfo, kwargs = self._connect_args
        try:
            conn = await AsyncPgConnection.connect(conninfo, **kwargs)
        except psycopg.Error as exc:
            if server_answered(exc):  # too many connections, a password ...: not down
                self.outage.probed(None)
                return
            error = translate(exc, settings=self.settings)
            self.outage.probed(UnavailableError(error.message, code=error.code))
            return
        await conn.close()
        if self.outage.probed(None):
            with contextlib.suppress(PoolClosed):  # the store closed meanwhile
                await self.pool.check()

    @property
    def _connect_args(self) -> tuple[str, dict[str, Any]]:
        return cast("str", self.pool.conninfo), cast("dict[str, Any]", self.pool.kwargs)

    async def _in_transaction(
        self, conn: AsyncPgConnection, op: Operation, plan: Plan, bound: dict[str, Any]
    ) -> Any:
        try:
            return await self._run(conn, op, plan, bound)
        except DRIVER_ERRORS as exc:
            if connection_lost(exc):
                await _retry.awithin(self._try_server, PROBE_TIMEOUT)
            translated = self._error(exc, op)
            if translated.code in NOT_MIGRATED:
                raise not_migrated(translated, await self.pending_migrations()) from exc
            raise translated from exc

    async def _run(  # noqa: PLR0911 - one return per kind of result reads best
        self,
        conn: AsyncPgConnection,
        op: Operation,
        plan: Plan,
        bound: dict[str, Any],
        first: str | None = None,
    ) -> Any:
        """Run ``plan``'s SQL on the connection's cursor and fetch what aiosql's
        adapter would give back for it (without aiosql's call wrapper, which checks
        and copies the parameters again), shaped as ``op`` says. ``first``: a
        statement sent before it in the same query, implicit transaction and round
        trip (the operation timeout, behind a transaction pooler)."""
        result = plan.result
        params = None if result is Result.STATUS else bound
        cur: AsyncCursor[Any]
        if first is None:
            cur = conn.vault_cursor()
            await cur.execute(plan.sql, params)
        else:
            cur = conn.client_cursor()
            await cur.execute(plan.pooled_sql.get(first) or self._pooled_sql(plan, first), params)
            cur.nextset()  # the statement's result, after the timeout's
        if result is Result.STATUS:
            return cur.statusmessage or ""
        shape = op.shape
        if result is Result.ROW:
            row = await cur.fetchone()
            if shape is not Shape.ONE or row is None:
                return row
            return (self.loaders.get(op.key) or self._loader(op, plan.statement, cur))(row)
        if result is Result.ROWCOUNT:
            return cur.rowcount
        if result is Result.VALUE:
            row = await cur.fetchone()
            return None if row is None else row[0]
        rows = await cur.fetchall()
        if shape is Shape.ROWS:
            names = [column.name for column in cur.description or ()]
            return [dict(zip(names, row, strict=True)) for row in rows]
        if shape is not Shape.MANY or not rows:
            return rows
        load = self.loaders.get(op.key) or self._loader(op, plan.statement, cur)
        return [load(row) for row in rows]

    @staticmethod
    def _pooled_sql(plan: Plan, first: str) -> str:
        # Keyed by the scope: the plans are shared by a store and its views (a
        # few scopes in use at a time; kept bounded when actors come and go).
        if len(plan.pooled_sql) >= POOLED_SCOPES:
            plan.pooled_sql.clear()
        sql = plan.pooled_sql[first] = first + plan.sql
        return sql

    async def _batch(self, op: Operation, statement: Any, params: dict[str, Any]) -> int:
        """A batch (new entities' ``NewRows``, read once, or whole entities), all
        or none: in a transaction of its own if need be. A ``COPY ... FROM
        STDIN`` statement gets the rows in its columns' order; a ``*!`` one runs
        once per row, pipelined."""
        batch = params["entities"]
        columns = copy_columns(statement.sql)
        audit = self.settings.scope.audit
        async with self.transaction() as tx:
            conn = tx.connection
            assert conn is not None
            try:
                if audit:
                    await self.queries.audit.begin_batch(conn.vault_cursor())
                if columns is None:
                    count: int = await statement(
                        conn.vault_cursor(), self.converter.row_params(batch)
                    )
                else:
                    # Each row is written as it is made: the server stores the first
                    # rows while the next are validated. A record refused on the way
                    # aborts the COPY, and the batch with it.
                    count = 0
                    async with conn.cursor().copy(statement.sql) as copy:
                        write_row = copy.write_row
                        for row in self.converter.copy_rows(batch, columns):
                            await write_row(row)
                            count += 1
                if audit:
                    await self._record_batch(conn, op, "insert", count)
            except DRIVER_ERRORS as exc:
                raise self._error(exc, op) from exc
            return count

    async def _audited_batch(self, op: Operation, plan: Plan, bound: dict[str, Any]) -> Any:
        """A write of many rows in one statement (``update_metrics_many``), audited
        as one record with its count: the row triggers stand aside meanwhile
        (``audit.begin_batch``), and ``audit.record_batch`` appends the record, in
        the statement's transaction."""
        async with self.transaction() as tx:
            conn = tx.connection
            assert conn is not None
            try:
                await self.queries.audit.begin_batch(conn.vault_cursor())
            except DRIVER_ERRORS as exc:
                raise self._error(exc, op) from exc
            result = await tx._in_transaction(conn, op, plan, bound)
            try:
                await self._record_batch(conn, op, "update", len(result))
            except DRIVER_ERRORS as exc:
                raise self._error(exc, op) from exc
            return result

    async def _record_batch(
        self, conn: AsyncPgConnection, op: Operation, action: str, count: int
    ) -> None:
        """The audit record of a batch that wrote ``count`` rows (none if it wrote
        none), and the row triggers back on."""
        await self.queries.audit.record_batch(
            conn.vault_cursor(),
            operation=op.key,
            action=action,
            entity_type=op.entity.name,
            row_count=count,
        )

    async def _applied_checksums(
        self, conn: AsyncConnection[Any], cur: AsyncCursor[Any], rows: AsyncCursor[Any]
    ) -> list[dict[str, Any]]:
        """The applied migrations with their recorded checksums; without them (no
        checksum table yet, or a role not allowed to read it) as unrecorded; none
        when yoyo never ran here."""
        health = self.queries.health
        try:
            async with conn.transaction():
                return [row async for row in health.migration_checksums(rows)]
        except (psycopg.errors.UndefinedTable, psycopg.errors.InsufficientPrivilege):
            pass
        try:
            async with conn.transaction():
                ids = [row[0] async for row in health.applied_migrations(cur)]
        except psycopg.errors.UndefinedTable:
            return []
        return [{"migration_id": id, "recorded": False} for id in ids]

    async def pending_migrations(self) -> list[str]:
        """The migrations of ``migrations/`` this database has not applied."""
        try:
            async with self.pool.connection() as conn:
                rows = self.queries.health.applied_migrations(conn.cursor())
                applied = {row[0] async for row in rows}
        except psycopg.errors.UndefinedTable:
            applied = set()  # yoyo never ran here
        except DRIVER_ERRORS as exc:
            raise translate(exc, settings=self.settings) from exc
        return [id for id in migration_ids() if id not in applied]

    def _error(self, exc: BaseException, op: Operation) -> VaultStoreError:
        return translate(
            exc,
            settings=self.settings,
            entity=op.entity.cls,
            table=op.entity.table,
            tables=self._tables,
            deleting=op.name == "delete",
        )

    def _loader(self, op: Operation, statement: Any, cur: AsyncCursor[Any]) -> Any:
        loader = self.loaders.get(op.key)
        if loader is None:
            loader = self.loaders[op.key] = self.loader(op.entity.cls, statement, cur)
        return loader

    def loader(self, cls: type[T], statement: Any, cur: AsyncCursor[Any]) -> Callable[[Any], T]:
        """The loader of ``cls`` from the rows of ``statement``, just run on ``cur``."""
        return self.converter.statement_loader(
            cls, statement, lambda: [c.name for c in cur.description or ()]
        )

    @asynccontextmanager
    async def transaction(
        self, *, timeout: float | None = None
    ) -> AsyncIterator[AsyncPostgresExecutor]:
        """This executor bound to one connection in a transaction (a savepoint when
        nested): committed at the end of the block, rolled back if it raises.
        ``timeout``: each statement's, for this transaction (``statement_timeout``)."""
        committing = False
        try:
            if self.connection is not None:
                async with self.connection.transaction():
                    await self._set_timeout(self.connection, timeout)
                    yield self
                    _refuse_aborted(self.connection)
            else:
                conn = await self.getconn()
                try:
                    async with conn.transaction():
                        await self._set_timeout(conn, timeout, outermost=True)
                        tx = AsyncPostgresExecutor(
                            self.pool,
                            self.settings,
                            self.registry,
                            self.queries,
                            self.converter,
                            connection=conn,
                        )
                        tx.plans, tx.loaders, tx.outage = self.plans, self.loaders, self.outage
                        tx.replicas = self.replicas
                        yield tx
                        _refuse_aborted(conn)
                        committing = True  # leaving the block commits
                finally:
                    await self.pool.putconn(conn)
                    if committing:
                        self.replicas.wrote()
        except DRIVER_ERRORS as exc:
            error = translate(exc, settings=self.settings)
            raise (commit_unknown(error) if committing else error) from exc

    async def _set_timeout(
        self, conn: AsyncPgConnection, timeout: float | None, *, outermost: bool = False
    ) -> None:
        """``timeout`` for the transaction begun on ``conn``; behind a transaction
        pooler, also the scope, and the store's operation timeout when none is
        given (the server connection's session holds none of ours)."""
        if outermost and self._call_first is not None:
            key = self._scope_key
            assert key is not None
            await self.queries.health.set_call_scope(
                conn.cursor(),
                **operation_timeout_params(self.settings, timeout),
                tenant=key[0],
                actor=key[1],
                audit=key[2],
            )
        elif timeout is not None:
            await self.queries.health.set_operation_timeout(
                conn.cursor(), **operation_timeout_params(self.settings, timeout)
            )

    def documents(self) -> AsyncPostgresDocuments:
        return AsyncPostgresDocuments(self)

    def watch(self, watched: Sequence[EntityType], after: int | None) -> AsyncPostgresFeed:
        """A feed of the outbox on a connection of its own; refused inside a
        transaction, behind a transaction pooler (no LISTEN there) and, with
        tenancy on, without a tenant."""
        if self._scope_error is not None:
            raise self._scope_error
        if self.connection is not None:
            raise VaultStoreError("watch() on the store, not inside store.transaction()")
        if self.settings.pool.transaction_pooling:
            raise VaultStoreError(
                "watch() listens for notifications, which a pooler in transaction mode "
                "does not pass on: open its store on the server directly"
            )
        return AsyncPostgresFeed(self, watched, after)

    async def prune_changes(self, cutoff: datetime) -> int:
        """Delete the outbox's changes written before ``cutoff`` (``changes.prune``)."""
        async with self.cursor() as cur:
            return int(await self.queries.changes.prune(cur, cutoff=cutoff))

    @asynccontextmanager
    async def cursor(
        self, entity: type | None = None, *, deleting: bool = False
    ) -> AsyncIterator[AsyncCursor[Any]]:
        """The cursor of a connection (from the pool, or this transaction's); driver
        errors raised in the block are translated for ``entity``."""
        conn = self.connection
        pooled = conn is None
        try:
            if conn is None:
                conn = await self.getconn()
            if pooled and self._call_first is not None:
                # Behind a transaction pooler the block's statements may each go
                # to another server connection: one transaction, with the timeout
                # and the scope.
                async with conn.transaction():
                    await conn.vault_cursor().execute(self._call_first)
                    yield conn.vault_cursor()
            else:
                yield conn.vault_cursor()
        except DRIVER_ERRORS as exc:
            raise translate(
                exc, settings=self.settings, entity=entity, tables=self._tables, deleting=deleting
            ) from exc
        finally:
            if pooled and conn is not None:
                await self.pool.putconn(conn)
                if deleting:
                    self.replicas.wrote()

    async def ping(self) -> float:
        """Seconds for one round trip to the server (``health.ping``); a store that
        must name a tenant and has none pings too (as the default tenant: it
        reads nothing)."""
        executor = self
        if self._scope_error is not None:
            executor = self.scoped(attrs.evolve(self.settings.scope, tenancy=False))
        async with executor.cursor() as cur:
            start = time.perf_counter()
            await self.queries.health.ping(cur)
            return time.perf_counter() - start

    async def health_facts(self, timeout: float) -> ServerFacts:
        """What ``store.health()`` reports of the server, read on a connection of
        its own (so a pool with no free connection does not hide a server that
        answers), connecting within ``timeout`` seconds (libpq counts at least 2)
        and each statement cancelled after it. UnavailableError if none answers."""
        conninfo, kwargs = self._connect_args
        conninfo = make_conninfo(conninfo, connect_timeout=str(max(2, math.ceil(timeout))))
        kwargs = {**kwargs, "autocommit": True, "prepare_threshold": None}
        health = self.queries.health
        try:
            async with await AsyncConnection.connect(conninfo, **kwargs) as conn:
                cur, rows = conn.cursor(), conn.cursor(row_factory=dict_row)
                async with conn.transaction():
                    await health.set_operation_timeout(
                        cur, milliseconds=max(1, round(timeout * 1000))
                    )
                    start = time.perf_counter()
                    await health.ping(cur)
                    round_trip = time.perf_counter() - start
                    state = await health.server_state(rows)
                applied = await self._applied_checksums(conn, cur, rows)
        except DRIVER_ERRORS as exc:
            error = translate(exc, settings=self.settings)
            if isinstance(error, UnavailableError):
                raise error from None  # the driver's message may quote the conninfo
            raise error from exc
        done = {row["migration_id"] for row in applied}
        return ServerFacts(
            round_trip_seconds=round_trip,
            server_version=state["postgres_version"],
            standby=state["in_recovery"],
            replica_lag_seconds=(
                None if state["replay_lag_seconds"] is None else float(state["replay_lag_seconds"])
            ),
            applied=tuple(applied),
            drift=tuple(postgres_drift(applied, migrations_dir(), unrecorded=False)),
            pending=tuple(id for id in migration_ids() if id not in done),
        )

    def pool_stats(self) -> dict[str, int]:
        """psycopg_pool's gauges and counters (pool_size, pool_available, requests_waiting ...),
        with the read replicas' counters when there are any."""
        stats = self.pool.get_stats()
        if self.replicas.replicas:
            stats.update(self.replicas.stats())
        return stats

    def replica_stats(self) -> list[ReplicaStats]:
        """What is known of each read replica: serving or skipped (and why), reads served, lag."""
        return [replica.stats() for replica in self.replicas.replicas]

    async def close(self) -> None:
        """Close the pools; an executor inside a transaction leaves them to its owner."""
        if self.connection is None:
            await self.pool.close()
            for replica in self.replicas.replicas:
                await replica.pool.close()

    async def _on_replica(
        self, op: Operation, plan: Plan, bound: dict[str, Any]
    ) -> tuple[bool, Any]:
        """Run a read on a read replica, in round-robin order among those serving,
        once the replica has replayed this store's latest write: (True, result);
        or (False, None) when none could (down, lagging, or not caught up within
        the wait), and the primary answers instead. A replica that fails is taken
        out of service and the next one tried; an error of the statement itself
        (a timeout, a bad value) is raised as it would be on the primary."""
        replicas = self.replicas
        target = await self._read_target()
        for replica in replicas.order():
            conn = await self._replica_connection(replica)
            if conn is None:
                continue
            try:
                if not await self._caught_up(replica, conn, target):
                    continue
                result = await self._run(conn, op, plan, bound, self._call_first)
            except DRIVER_ERRORS as exc:
                if not (
                    connection_lost(exc) or isinstance(exc, psycopg.errors.ReadOnlySqlTransaction)
                ):
                    raise self._error(exc, op) from exc
                replica.skip(
                    f"{type(exc).__name__}: {self.settings.scrub(str(exc)).strip()}",
                    time.monotonic(),
                )
                continue
            except VaultStoreError as exc:
                if exc.code not in NOT_MIGRATED:
                    raise
                # The replica has not replayed a migration yet: the primary answers.
                replica.skip(f"not migrated: {exc.message}", time.monotonic())
                continue
            finally:
                await replica.pool.putconn(conn)
            replica.served += 1
            return True, result
        replicas.primary_reads += 1
        return False, None

    async def _read_target(self) -> int:
        """The WAL position a read on a replica must see: the primary's, asked
        after this store's latest write (once per write, by the first read after
        it); and the primary's position, once a second, to measure lag."""
        replicas = self.replicas
        locate = replicas.must_locate()
        if locate or replicas.primary_due():
            async with self.cursor() as cur:
                position = await self.queries.health.primary_position(cur)
            if locate:
                replicas.located(int(position))
            else:
                replicas.primary_at(int(position))
        return replicas.target

    async def _replica_connection(self, replica: Replica) -> AsyncPgConnection | None:
        """A connection to ``replica`` within REPLICA_WAIT, or None (and the
        replica is skipped if its pool fails to connect)."""
        pool = replica.pool
        if replica.reason is not None and not replica.reachable:
            # Its turn to be tried again: a connection outside the pool, waited
            # for REPLICA_PROBE_WAIT at most (a refused one fails at once; one
            # that hangs goes on in the background), so that a replica down
            # costs no read the pool's wait.
            if replica.start_probe():
                await _retry.awithin(lambda: self._probe_replica(replica), REPLICA_PROBE_WAIT)
            if not replica.reachable:
                return None
        errors = pool.get_stats().get("connections_errors", 0)
        try:
            conn = cast("AsyncPgConnection", await pool.getconn(timeout=REPLICA_WAIT))
        except PoolTimeout:
            if pool.get_stats().get("connections_errors", 0) > errors or replica.reason:
                replica.skip("unreachable: no connection could be made", time.monotonic())
            return None
        if conn.vault_scope != self._scope_key and self._call_first is None:
            try:
                await self._set_session_scope(pool, conn)
            except UnavailableError:
                replica.skip("unreachable: its connection failed", time.monotonic())
                return None
        return conn

    async def _probe_replica(self, replica: Replica) -> None:
        """Connect to ``replica`` once outside its pool: if it answers, its pool
        drops the connections it broke and it may be tried (:meth:`_caught_up`
        then says whether it serves); if not, it stays skipped a while longer."""
        conninfo, kwargs = cast("str", replica.pool.conninfo), replica.pool.kwargs or {}
        try:
            conn = await AsyncPgConnection.connect(conninfo, **kwargs)
        except psycopg.Error as exc:
            message = self.settings.scrub(str(exc)).strip().splitlines()[0]
            replica.probed(False, f"unreachable: {message}", time.monotonic())
            return
        await conn.close()
        with contextlib.suppress(*DRIVER_ERRORS):
            await replica.pool.check()
        replica.probed(True, None, time.monotonic())

    async def _caught_up(self, replica: Replica, conn: AsyncPgConnection, target: int) -> bool:
        """Whether ``replica`` may serve a read that must see ``target``: checked
        (once a second, or when it has not been seen at ``target``), a standby,
        no further behind than the lag bound; waiting up to the store's replica
        wait for it to replay ``target``."""
        now = time.monotonic()
        if not replica.due(now) and replica.replayed >= target:
            return True
        replicas = self.replicas
        deadline = now + replicas.wait
        pause = FIRST_POLL
        while True:
            row = await self.queries.health.replica_position(conn.cursor())
            replayed, in_recovery = row
            now = time.monotonic()
            if not in_recovery or replayed is None:
                replica.skip("not a standby (promoted, or a primary)", now)
                return False
            lag = replicas.too_far_behind(replayed)
            if lag is not None:
                replica.lag = lag
                replica.skip(
                    f"{lag} bytes of WAL behind the primary (bound {replicas.max_lag})", now
                )
                return False
            replica.checked(replayed, replicas.primary_position, now)
            if replayed >= target:
                return True
            if now + pause > deadline:
                return False  # not caught up in time: the primary answers this one
            await _retry.asleep(pause)
            pause = min(pause * 2, LAST_POLL)


def _refuse_aborted(conn: AsyncPgConnection) -> None:
    """Raise if a statement failed inside the block and the caller swallowed the
    error: PostgreSQL has aborted the transaction and would commit nothing."""
    if conn.info.transaction_status == TransactionStatus.INERROR:
        raise DatabaseError(
            "a statement failed inside this transaction and the error was caught; "
            "the transaction is aborted and nothing was committed (catch errors "
            "inside a nested store.transaction() to keep going)",
            code="25P02",
        )


def _pool(
    conninfo: str,
    kwargs: dict[str, Any],
    configure: Callable[[AsyncPgConnection], Any],
    settings: Settings,
    name: str,
) -> AsyncConnectionPool[AsyncPgConnection]:
    """A pool of connections configured as vaultstore's (opened by the caller)."""
    return AsyncConnectionPool(
        conninfo,
        connection_class=AsyncPgConnection,
        kwargs=kwargs,
        configure=configure,
        min_size=settings.pool.min_size,
        max_size=settings.pool.max_size,
        timeout=settings.pool.connect_timeout,
        max_idle=settings.pool.idle_timeout,
        # A connection that cannot be made is not tried again on a backoff of
        # seconds (it would hold back the recovery): the next call asks anew.
        reconnect_timeout=RECONNECT_TIMEOUT,
        open=False,
        name=name,
    )


def _quiet_pool_logger() -> None:
    """psycopg_pool logs a warning for every connection it finds dead; in an
    application that configured no logging, Python would print each to stderr
    (its last-resort handler). A NullHandler stops only that: configured logging
    still receives them."""
    pool_logger = logging.getLogger("psycopg.pool")
    if not pool_logger.handlers:
        pool_logger.addHandler(logging.NullHandler())
