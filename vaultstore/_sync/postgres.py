# Generated from vaultstore/_async/postgres.py by tools/generate_sync.py: do not edit.
"""The PostgreSQL backend (async source of the sync twin): psycopg's pool, the named
statements of ``queries/*.sql`` loaded by aiosql, rows built into entities.

Every repository method runs one named statement, named in its docstring; the
methods that must read before they write (``update``) run two in a transaction.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator, Callable, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any, Generic, TypeVar, Unpack

import psycopg
from psycopg import Connection, Cursor
from psycopg.conninfo import make_conninfo
from psycopg.pq import TransactionStatus
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

from .. import _values
from .._convert import EntityConverter, MissingColumnsError
from .._entities import (
    Agent,
    AgentChanges,
    AlertChanges,
    AlertSeverity,
    AlertStatus,
    ChainId,
    ChainRiskSummary,
    CredibilityTier,
    CreditVault,
    LiquidationChanges,
    LiquidationEvent,
    MarketData,
    MarketDataChanges,
    NewAgent,
    NewAlert,
    NewLiquidation,
    NewMarketData,
    NewProtectionRule,
    NewVault,
    Number,
    Page,
    ProtectionRule,
    ProtectionRuleChanges,
    RiskAlert,
    VaultChanges,
)
from .._paging import after_id, check_id, check_limit, id_key, make_page
from .._postgres_errors import translate
from .._repository import (
    enum_value,
    field_names,
    ltv_key,
    ltv_position,
    new_market_data,
    occurred_key,
    recorded_key,
    time_position,
    with_recorded_at,
)
from .._resources import load_queries
from .._settings import Settings
from ..errors import ConflictError, DatabaseError, NotFoundError, UnavailableError
from .adapter import QueryAdapter
from .postgres_documents import PgDocumentRepository

logger = logging.getLogger("vaultstore")
T = TypeVar("T")

_DRIVER_ERRORS = (psycopg.Error, PoolTimeout, PoolClosed)


class PostgresConverter(EntityConverter):
    """The converter family member for psycopg: JSON fields are passed as ``jsonb``,
    and rows come back as tuples (built in C), turned into entities by a loader
    made once per entity and statement from the statement's column names."""

    def __init__(self) -> None:
        super().__init__()
        self._statement_loaders: dict[tuple[type, object], Callable[[Any], Any]] = {}

    def json_param(self, value: Any) -> Any:
        return Jsonb(value)

    def loader(self, cls: type[T], statement: Any, cursor: Cursor[Any]) -> Callable[[Any], T]:
        """The loader of ``cls`` from the rows of ``statement`` (an aiosql query),
        just executed on ``cursor``."""
        key = (cls, statement)
        loader = self._statement_loaders.get(key)
        if loader is None:
            names = [column.name for column in cursor.description or ()]
            try:
                loader = self.row_loader(cls, names)
            except MissingColumnsError as exc:
                raise DatabaseError(f"{statement.__name__}: {exc}") from None
            self._statement_loaders[key] = loader
        return loader


class PgConnection(Connection[Any]):
    """A psycopg connection that keeps one cursor for vaultstore's statements, so
    that a call does not pay for a new cursor."""

    _vault_cursor: Cursor[Any] | None = None

    def vault_cursor(self) -> Cursor[Any]:
        """The connection's long-lived cursor, with tuple rows (built in C)."""
        cursor = self._vault_cursor
        if cursor is None or cursor.closed:
            cursor = self._vault_cursor = self.cursor()
        return cursor


def _connection_kwargs(settings: Settings) -> tuple[str, dict[str, Any]]:
    """conninfo without the password, and the keyword arguments that carry it."""
    params: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "dbname": settings.database,
        "user": settings.user,
    }
    params.update(settings.options)  # the URL's query string wins, as in libpq
    params.pop("password", None)
    conninfo = make_conninfo("", **params)
    kwargs: dict[str, Any] = {
        "autocommit": True,
        "prepare_threshold": settings.pool.prepare_threshold,
        # Timestamps come back in UTC whatever the server's default.
        "options": "-c TimeZone=UTC",
        "connect_timeout": max(1, math.ceil(settings.pool.connect_timeout)),
        "application_name": "vaultstore",
    }
    if settings.password is not None:
        kwargs["password"] = settings.password
    return conninfo, kwargs


class PgDatabase:
    """A pool, or one of its connections inside a transaction, with the loaded
    statements and the converter: what every repository runs on."""

    def __init__(
        self,
        pool: ConnectionPool[PgConnection],
        settings: Settings,
        queries: Any,
        converter: PostgresConverter,
        connection: PgConnection | None = None,
    ) -> None:
        self.pool = pool
        self.settings = settings
        self.queries = queries
        self.converter = converter
        self.connection = connection

    def cursor(self, entity: type | None = None, *, deleting: bool = False) -> _AsyncCheckout:
        """The cursor of a connection (from the pool, or this transaction's);
        driver errors raised in the block are translated for ``entity``."""
        return _AsyncCheckout(self, entity, deleting)

    @contextmanager
    def transaction(self) -> Iterator[PgDatabase]:
        """This database bound to one connection in a transaction (a savepoint when
        nested): committed at the end of the block, rolled back if it raises."""
        try:
            if self.connection is not None:
                with self.connection.transaction():
                    yield self
                    _refuse_aborted(self.connection)
            else:
                with self.pool.connection() as conn, conn.transaction():
                    yield PgDatabase(
                        self.pool, self.settings, self.queries, self.converter, conn
                    )
                    _refuse_aborted(conn)
        except _DRIVER_ERRORS as exc:
            raise translate(exc, settings=self.settings) from exc


def _refuse_aborted(conn: PgConnection) -> None:
    """Raise if a statement failed inside the block and the caller swallowed the
    error: PostgreSQL has aborted the transaction and would commit nothing."""
    if conn.info.transaction_status == TransactionStatus.INERROR:
        raise DatabaseError(
            "a statement failed inside this transaction and the error was caught; "
            "the transaction is aborted and nothing was committed (catch errors "
            "inside a nested store.transaction() to keep going)",
            code="25P02",
        )


class _AsyncCheckout:
    """``async with db.cursor(rows) as cur``: a class rather than a generator-based
    context manager, because it runs on every call (see benchmarks/bench.py)."""

    __slots__ = ("_conn", "_db", "_deleting", "_entity")

    def __init__(self, db: PgDatabase, entity: type | None, deleting: bool) -> None:
        self._db = db
        self._entity = entity
        self._deleting = deleting
        self._conn: PgConnection | None = None

    def __enter__(self) -> Cursor[Any]:
        conn = self._db.connection
        if conn is None:
            try:
                conn = self._conn = self._db.pool.getconn()
            except _DRIVER_ERRORS as exc:
                raise translate(exc, settings=self._db.settings) from exc
        return conn.vault_cursor()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        if self._conn is not None:
            self._db.pool.putconn(self._conn)
        if isinstance(exc, _DRIVER_ERRORS):
            raise translate(
                exc, settings=self._db.settings, entity=self._entity, deleting=self._deleting
            ) from exc


class _AsyncPgRepository(Generic[T]):
    """What every repository does the same way, each step running a named statement
    of the repository's query file: ``insert``, ``find_by_id``, ``list_after``,
    ``lock_by_id`` then ``update``, and ``delete``."""

    entity: type[T]
    queries_name: str
    changeable: frozenset[str]
    settable: frozenset[str]

    def __init__(self, db: PgDatabase) -> None:
        self._db = db
        self._q = getattr(db.queries, self.queries_name)
        self._converter = db.converter

    def __repr__(self) -> str:
        return f"<{type(self).__name__} on {self._db.settings}>"

    def _one(self, query: Any, **params: Any) -> T | None:
        with self._db.cursor(self.entity) as cur:
            row = query(cur, **params)
            return None if row is None else self._converter.loader(self.entity, query, cur)(row)

    def _many(self, query: Any, **params: Any) -> list[T]:
        with self._db.cursor(self.entity) as cur:
            rows = [row for row in query(cur, **params)]
            if not rows:
                return []
            load = self._converter.loader(self.entity, query, cur)
            return [load(row) for row in rows]

    def _page(self, query: Any, limit: int, key: Any = id_key, **params: Any) -> Page[T]:
        limit = check_limit(limit)
        return make_page(self._many(query, limit=limit + 1, **params), limit, key)

    def _create(self, fields: Mapping[str, Any]) -> T:
        entity = self._db.converter.new(self.entity, fields, self.settable)
        stored = self._one(self._q.insert, **self._db.converter.params(entity))
        assert stored is not None  # INSERT ... RETURNING always returns the row
        return stored

    def _not_found(self, id: str) -> NotFoundError:
        return NotFoundError(
            f"no {self.entity.__name__} with id {id!r}", entity=self.entity.__name__, id=id
        )

    def find_by_id(self, id: str) -> T | None:
        """The entity with this id, or None (``find_by_id``)."""
        return self._one(self._q.find_by_id, id=check_id(id))

    def list(self, *, limit: int = 100, after: str | None = None) -> Page[T]:
        """Every entity in creation order (``list_after``)."""
        return self._page(self._q.list_after, limit, after=after_id(after))

    def _update(self, id: str, changes: Mapping[str, Any]) -> T:
        converter = self._db.converter
        checked = converter.check_changes(self.entity, changes, self.changeable)
        check_id(id)
        with self._db.transaction() as db, db.cursor(self.entity) as cur:
            row = self._q.lock_by_id(cur, id=id)
            if row is None:
                raise self._not_found(id)
            current = converter.loader(self.entity, self._q.lock_by_id, cur)(row)
            updated = converter.apply_changes(current, checked)
            row = self._q.update(cur, **converter.params(updated))
            return converter.loader(self.entity, self._q.update, cur)(row)

    def delete(self, id: str) -> None:
        """Delete the entity; NotFoundError if there is none (``delete``)."""
        with self._db.cursor(self.entity, deleting=True) as cur:
            count = self._q.delete(cur, id=check_id(id))
        if count == 0:
            raise self._not_found(id)


class PgAgentRepository(_AsyncPgRepository[Agent]):
    """Agents, on ``queries/agents.sql``."""

    entity = Agent
    queries_name = "agents"
    settable = field_names(NewAgent)
    changeable = field_names(AgentChanges)

    def create(self, **fields: Unpack[NewAgent]) -> Agent:
        """Store a new agent (``insert``); ConflictError if the name is taken."""
        return self._create(fields)

    def find_by_name(self, name: str) -> Agent | None:
        """The agent with this name, or None (``find_by_name``)."""
        return self._one(self._q.find_by_name, name=check_id(name, "name"))

    def find_by_tier(
        self, tier: CredibilityTier | str, *, limit: int = 100, after: str | None = None
    ) -> Page[Agent]:
        """Agents of one credibility tier (``find_by_tier``)."""
        tier_value = enum_value(CredibilityTier, tier, "tier")
        return self._page(self._q.find_by_tier, limit, tier=tier_value, after=after_id(after))

    def update(self, id: str, **changes: Unpack[AgentChanges]) -> Agent:
        """Change an agent's name or score (``lock_by_id``, ``update``)."""
        return self._update(id, changes)


class PgVaultRepository(_AsyncPgRepository[CreditVault]):
    """Credit vaults, on ``queries/vaults.sql``."""

    entity = CreditVault
    queries_name = "vaults"
    settable = field_names(NewVault)
    changeable = field_names(VaultChanges)

    def create(self, **fields: Unpack[NewVault]) -> CreditVault:
        """Store a new vault (``insert``); NotFoundError if the agent does not exist."""
        return self._create(fields)

    def find_by_agent_id(
        self, agent_id: str, *, limit: int = 100, after: str | None = None
    ) -> Page[CreditVault]:
        """An agent's vaults in creation order (``find_by_agent_id``)."""
        return self._page(
            self._q.find_by_agent_id,
            limit,
            agent_id=check_id(agent_id, "agent_id"),
            after=after_id(after),
        )

    def find_by_chain_id(
        self, chain_id: ChainId | int, *, limit: int = 100, after: str | None = None
    ) -> Page[CreditVault]:
        """The vaults on one chain in creation order (``find_by_chain_id``)."""
        return self._page(
            self._q.find_by_chain_id,
            limit,
            chain_id=enum_value(ChainId, chain_id, "chain_id"),
            after=after_id(after),
        )

    def find_high_risk_vaults(
        self, threshold: Number, *, limit: int = 100, after: str | None = None
    ) -> Page[CreditVault]:
        """Vaults with an LTV at or above ``threshold``, riskiest first (``find_high_risk``)."""
        value = _values.decimal_value(threshold, "threshold")
        after_ltv, last_id = ltv_position(after)
        return self._page(
            self._q.find_high_risk,
            limit,
            ltv_key,
            threshold=value,
            after_ltv=after_ltv,
            after_id=last_id,
        )

    def update(self, id: str, **changes: Unpack[VaultChanges]) -> CreditVault:
        """Change a vault (``lock_by_id``, ``update``)."""
        return self._update(id, changes)

    def update_vault_metrics(
        self, id: str, ltv: Number, health_factor: Number
    ) -> CreditVault:
        """Record a vault's current LTV and health factor (``update_metrics``)."""
        checked = self._db.converter.check_changes(
            CreditVault, {"ltv": ltv, "health_factor": health_factor}, self.changeable
        )
        vault = self._one(self._q.update_metrics, id=check_id(id), **checked)
        if vault is None:
            raise self._not_found(id)
        return vault

    def risk_summary_by_chain(self, threshold: Number) -> list[ChainRiskSummary]:
        """Per chain: vault count, USD totals, average LTV and the number of vaults at
        or above ``threshold`` (``risk_summary_by_chain``)."""
        value = _values.decimal_value(threshold, "threshold")
        with self._db.cursor() as cur:
            rows = [row for row in self._q.risk_summary_by_chain(cur, threshold=value)]
            names = [column.name for column in cur.description or ()]
        return [ChainRiskSummary.from_totals(**dict(zip(names, row, strict=True))) for row in rows]


class PgAlertRepository(_AsyncPgRepository[RiskAlert]):
    """Risk alerts, on ``queries/alerts.sql``."""

    entity = RiskAlert
    queries_name = "alerts"
    settable = field_names(NewAlert)
    changeable = field_names(AlertChanges)

    def create(self, **fields: Unpack[NewAlert]) -> RiskAlert:
        """Raise a new, open alert (``insert``); NotFoundError for an unknown vault."""
        return self._create(fields)

    def find_by_vault(
        self, vault_id: str, *, limit: int = 100, after: str | None = None
    ) -> Page[RiskAlert]:
        """Every alert of a vault, in creation order (``find_by_vault``)."""
        return self._page(
            self._q.find_by_vault,
            limit,
            vault_id=check_id(vault_id, "vault_id"),
            after=after_id(after),
        )

    def find_open_by_vault(
        self, vault_id: str, *, limit: int = 100, after: str | None = None
    ) -> Page[RiskAlert]:
        """A vault's unresolved alerts (``find_open_by_vault``)."""
        return self._page(
            self._q.find_open_by_vault,
            limit,
            vault_id=check_id(vault_id, "vault_id"),
            after=after_id(after),
        )

    def find_open_by_severity(
        self, severity: AlertSeverity | str, *, limit: int = 100, after: str | None = None
    ) -> Page[RiskAlert]:
        """Unresolved alerts of one severity (``find_open_by_severity``)."""
        return self._page(
            self._q.find_open_by_severity,
            limit,
            severity=enum_value(AlertSeverity, severity, "severity"),
            after=after_id(after),
        )

    def acknowledge(self, id: str) -> RiskAlert:
        """Mark an open alert as seen (``acknowledge``); it stays open. Acknowledging
        again changes nothing; ConflictError if it is resolved."""
        alert = self._one(self._q.acknowledge, id=check_id(id))
        if alert is not None:
            return alert
        current = self.find_by_id(id)
        if current is None:
            raise self._not_found(id)
        if current.status is AlertStatus.ACKNOWLEDGED:
            return current
        raise ConflictError(f"alert {id!r} is resolved and cannot be acknowledged")

    def resolve(self, id: str) -> RiskAlert:
        """Close an alert (``resolve``); resolving it again changes nothing."""
        alert = self._one(self._q.resolve, id=check_id(id))
        if alert is not None:
            return alert
        current = self.find_by_id(id)
        if current is None:
            raise self._not_found(id)
        assert current.status is AlertStatus.RESOLVED
        return current

    def update(self, id: str, **changes: Unpack[AlertChanges]) -> RiskAlert:
        """Change an alert's severity or message (``lock_by_id``, ``update``)."""
        return self._update(id, changes)


class PgLiquidationRepository(_AsyncPgRepository[LiquidationEvent]):
    """Liquidation events, on ``queries/liquidations.sql``."""

    entity = LiquidationEvent
    queries_name = "liquidations"
    settable = field_names(NewLiquidation)
    changeable = field_names(LiquidationChanges)

    def create(self, **fields: Unpack[NewLiquidation]) -> LiquidationEvent:
        """Record a liquidation (``insert``); ConflictError if this transaction was
        already recorded for the vault."""
        return self._create(fields)

    def find_by_vault(
        self,
        vault_id: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        after: str | None = None,
    ) -> Page[LiquidationEvent]:
        """A vault's liquidations in [since, until), oldest first (``find_by_vault``)."""
        after_at, last_id, end = time_position(since, until, after)
        return self._page(
            self._q.find_by_vault,
            limit,
            occurred_key,
            vault_id=check_id(vault_id, "vault_id"),
            after_at=after_at,
            after_id=last_id,
            until=end,
        )

    def find_between(
        self, since: datetime, until: datetime, *, limit: int = 100, after: str | None = None
    ) -> Page[LiquidationEvent]:
        """Every liquidation in [since, until), oldest first (``find_between``)."""
        after_at, last_id, end = time_position(since, until, after)
        return self._page(
            self._q.find_between,
            limit,
            occurred_key,
            after_at=after_at,
            after_id=last_id,
            until=end,
        )

    def update(self, id: str, **changes: Unpack[LiquidationChanges]) -> LiquidationEvent:
        """Correct a recorded liquidation (``lock_by_id``, ``update``)."""
        return self._update(id, changes)


class PgProtectionRuleRepository(_AsyncPgRepository[ProtectionRule]):
    """Protection rules, on ``queries/protection_rules.sql``."""

    entity = ProtectionRule
    queries_name = "protection_rules"
    settable = field_names(NewProtectionRule)
    changeable = field_names(ProtectionRuleChanges)

    def create(self, **fields: Unpack[NewProtectionRule]) -> ProtectionRule:
        """Store a new rule (``insert``); ConflictError if the vault has one of that name."""
        return self._create(fields)

    def find_enabled_for_vault(self, vault_id: str) -> list[ProtectionRule]:
        """A vault's enabled rules, highest priority first (``find_enabled_for_vault``)."""
        return self._many(
            self._q.find_enabled_for_vault, vault_id=check_id(vault_id, "vault_id")
        )

    def find_by_conditions(
        self, conditions: dict[str, Any], *, limit: int = 100, after: str | None = None
    ) -> Page[ProtectionRule]:
        """Rules whose conditions contain ``conditions`` (``find_by_conditions``)."""
        document = _values.json_object(conditions, "conditions")
        return self._page(
            self._q.find_by_conditions, limit, conditions=Jsonb(document), after=after_id(after)
        )

    def mark_triggered(self, id: str) -> ProtectionRule | None:
        """Record that the rule fired, unless it is disabled or still cooling down, in
        which case None (``mark_triggered``). NotFoundError for an unknown id."""
        rule = self._one(self._q.mark_triggered, id=check_id(id))
        if rule is None and self.find_by_id(id) is None:
            raise self._not_found(id)
        return rule

    def update(self, id: str, **changes: Unpack[ProtectionRuleChanges]) -> ProtectionRule:
        """Change a rule (``lock_by_id``, ``update``)."""
        return self._update(id, changes)


class PgMarketDataRepository(_AsyncPgRepository[MarketData]):
    """Market prices, on ``queries/market_data.sql``."""

    entity = MarketData
    queries_name = "market_data"
    settable = field_names(NewMarketData)
    changeable = field_names(MarketDataChanges)

    def create(self, **fields: Unpack[NewMarketData]) -> MarketData:
        """Store one price (``insert``); ``recorded_at`` defaults to now."""
        return self._create(with_recorded_at(fields))

    def bulk_insert(self, records: Sequence[NewMarketData]) -> int:
        """Store many prices at once, all or none (``insert_many``, pipelined in one
        transaction); every record is validated before any is sent."""
        entities = new_market_data(self._db.converter, records, self.settable)
        if not entities:
            return 0
        params = [self._db.converter.params(entity) for entity in entities]
        with self._db.transaction() as db, db.cursor(MarketData) as cur:
            self._q.insert_many(cur, params)
        return len(params)

    def latest_price(self, token: str, chain_id: ChainId | int) -> MarketData | None:
        """The most recent price of a token on a chain, or None (``latest_price``)."""
        return self._one(
            self._q.latest_price,
            token=check_id(token, "token"),
            chain_id=enum_value(ChainId, chain_id, "chain_id"),
        )

    def history(
        self,
        token: str,
        chain_id: ChainId | int,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        after: str | None = None,
    ) -> Page[MarketData]:
        """A token's prices on a chain in [since, until), oldest first (``history``)."""
        after_at, last_id, end = time_position(since, until, after)
        return self._page(
            self._q.history,
            limit,
            recorded_key,
            token=check_id(token, "token"),
            chain_id=enum_value(ChainId, chain_id, "chain_id"),
            after_at=after_at,
            after_id=last_id,
            until=end,
        )

    def update(self, id: str, **changes: Unpack[MarketDataChanges]) -> MarketData:
        """Correct a recorded price (``lock_by_id``, ``update``)."""
        return self._update(id, changes)


class PostgresStore:
    """The PostgreSQL store: a connection pool and the repositories on it.

    Open it with :func:`vaultstore.aio.connect`; close it with ``async with`` or
    :meth:`close`.
    """

    backend = "postgresql"

    def __init__(self, db: PgDatabase) -> None:
        self._db = db
        self.agents = PgAgentRepository(db)
        self.vaults = PgVaultRepository(db)
        self.alerts = PgAlertRepository(db)
        self.liquidations = PgLiquidationRepository(db)
        self.protection_rules = PgProtectionRuleRepository(db)
        self.market_data = PgMarketDataRepository(db)
        self.documents = PgDocumentRepository(db)

    @classmethod
    def open(cls, settings: Settings) -> PostgresStore:
        """Connect, check the server answers, and fill the pool's minimum."""
        conninfo, kwargs = _connection_kwargs(settings)
        try:
            probe = PgConnection.connect(conninfo, **kwargs)
            probe.close()
        except psycopg.Error as exc:
            error = translate(exc, settings=settings)
            if isinstance(error, UnavailableError):
                raise error from None  # the driver's message may quote the conninfo
            raise error from exc
        pool = ConnectionPool(
            conninfo,
            connection_class=PgConnection,
            kwargs=kwargs,
            min_size=settings.pool.min_size,
            max_size=settings.pool.max_size,
            timeout=settings.pool.connect_timeout,
            max_idle=settings.pool.idle_timeout,
            open=False,
            name="vaultstore",
        )
        try:
            pool.open(wait=True, timeout=settings.pool.connect_timeout)
        except PoolTimeout as exc:
            pool.close()
            raise translate(exc, settings=settings) from None
        queries = load_queries(QueryAdapter)
        logger.info("vaultstore connected to %s", settings)
        return cls(PgDatabase(pool, settings, queries, PostgresConverter()))

    @property
    def settings(self) -> Settings:
        """Where this store is connected (its repr hides the password)."""
        return self._db.settings

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._db.settings}>"

    def transaction(self) -> AbstractContextManager[PostgresStore]:
        """Repositories sharing one transaction: committed when the block ends,
        rolled back if it raises. Inside a transaction, a savepoint."""
        return self._transaction()

    @contextmanager
    def _transaction(self) -> Iterator[PostgresStore]:
        with self._db.transaction() as db:
            yield self if db is self._db else PostgresStore(db)

    def ping(self) -> float:
        """Seconds for one round trip to the server (``health.ping``)."""
        with self._db.cursor() as cur:
            start = time.perf_counter()
            self._db.queries.health.ping(cur)
            return time.perf_counter() - start

    def pool_stats(self) -> dict[str, int]:
        """psycopg_pool's gauges and counters (pool_size, pool_available, requests_waiting ...)."""
        return self._db.pool.get_stats()

    def close(self) -> None:
        """Close the pool; a store inside a transaction leaves it to its owner."""
        if self._db.connection is None:
            self._db.pool.close()

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
