# Generated from vaultstore/_async/mongo.py by tools/generate_sync.py: do not edit.
"""The MongoDB backend (async source of the sync twin): a hand-written adapter on
pymongo's client, implementing the same repository Protocols as PostgreSQL.

What PostgreSQL's constraints do, the collections' validators do (created by
``vaultstore migrate`` from ``migrations/mongodb``); what its foreign keys do,
the repositories do inside a multi-document transaction: a vault for an unknown
agent is a NotFoundError, an agent with vaults cannot be deleted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar, Unpack

from bson import Decimal128
from pymongo import MongoClient, ReturnDocument
from pymongo.synchronous.client_session import ClientSession
from pymongo.synchronous.collection import Collection
from pymongo.synchronous.database import Database
from pymongo.errors import PyMongoError

from .. import _values
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
from .._mongo import (
    CODEC_OPTIONS,
    MongoConverter,
    containment_filter,
    not_found,
    referenced_missing,
    translate,
)
from .._paging import after_id, check_id, check_limit, id_key, make_page
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
from .._settings import Settings
from ..errors import ConflictError, DatabaseError, UnavailableError
from .mongo_documents import MongoDocumentRepository

logger = logging.getLogger("vaultstore")
T = TypeVar("T")

_OPEN = {"$in": [AlertStatus.OPEN.value, AlertStatus.ACKNOWLEDGED.value]}


def _d(value: Decimal) -> Decimal128:
    return Decimal128(value)


def _aborted() -> DatabaseError:
    return DatabaseError(
        "an operation failed inside this transaction and the error was caught; the "
        "transaction is aborted and nothing will be committed",
        code="25P02",  # PostgreSQL's in_failed_sql_transaction, the same situation
    )


class _AsyncErrors:
    """``async with db.errors(entity)``: pymongo errors raised in the block become
    vaultstore's. Inside a transaction, a failed operation aborts it (the server
    does so too), as a failed statement does on PostgreSQL."""

    __slots__ = ("_db", "_entity")

    def __init__(self, db: MongoDatabase, entity: type | None) -> None:
        self._db = db
        self._entity = entity

    def __enter__(self) -> None:
        if self._db.session is not None and self._db.failed:
            raise _aborted()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        if isinstance(exc, PyMongoError):
            if self._db.session is not None:
                self._db.failed = True
            raise translate(exc, settings=self._db.settings, entity=self._entity) from exc


class MongoDatabase:
    """The client and database, or one session's transaction on them, with the
    converter: what every repository runs on."""

    def __init__(
        self,
        client: MongoClient[Any],
        settings: Settings,
        converter: MongoConverter,
        session: ClientSession | None = None,
    ) -> None:
        self.client = client
        self.settings = settings
        self.converter = converter
        self.session = session
        self.database: Database[Any] = client.get_database(
            settings.database, codec_options=CODEC_OPTIONS
        )
        self.failed = False  # a nested block raised: the transaction must not commit

    def errors(self, entity: type | None = None) -> _AsyncErrors:
        return _AsyncErrors(self, entity)

    @contextmanager
    def transaction(self) -> Iterator[MongoDatabase]:
        """This database bound to a session in a multi-document transaction,
        committed at the end of the block, aborted if it raises. MongoDB has no
        savepoints: nested, it joins the outer transaction, and if the nested
        block raises, the outer one is aborted (DatabaseError, code 25P02, when
        the caller carries on), where PostgreSQL would roll back to a savepoint."""
        if self.session is not None:
            try:
                yield self
            except BaseException:
                self.failed = True
                raise
            return
        try:
            with (
                self.client.start_session() as session,
                session.start_transaction(),
            ):
                db = MongoDatabase(self.client, self.settings, self.converter, session)
                yield db
                if db.failed:
                    raise _aborted()
        except PyMongoError as exc:
            raise translate(exc, settings=self.settings) from exc


class _AsyncMongoRepository(Generic[T]):
    """What every repository does the same way on a collection."""

    entity: type[T]
    collection_name: str
    changeable: frozenset[str]
    settable: frozenset[str]
    references: tuple[tuple[str, str], ...] = ()
    """(field, collection): a referenced document that must exist (a foreign key)."""
    restrict: tuple[tuple[str, str], ...] = ()
    """(collection, field): documents that forbid deleting this one."""
    cascade: tuple[tuple[str, str], ...] = ()
    """(collection, field): documents deleted with this one."""

    def __init__(self, db: MongoDatabase) -> None:
        self._db = db
        self._collection: Collection[Any] = db.database[self.collection_name]
        self._converter = db.converter
        self._load = db.converter.document_loader(self.entity)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} on {self._db.settings}>"

    def _one(
        self, filter: Mapping[str, Any], sort: list[tuple[str, int]] | None = None
    ) -> T | None:
        with self._db.errors(self.entity):
            doc = self._collection.find_one(filter, sort=sort, session=self._db.session)
        return None if doc is None else self._load(doc)

    def _many(
        self,
        filter: Mapping[str, Any],
        sort: list[tuple[str, int]],
        limit: int | None = None,
        hint: str | None = None,
    ) -> list[T]:
        with self._db.errors(self.entity):
            cursor = self._collection.find(
                filter, sort=sort, limit=limit or 0, hint=hint, session=self._db.session
            )
            docs = cursor.to_list()
        load = self._load
        return [load(doc) for doc in docs]

    def _page(
        self,
        filter: Mapping[str, Any],
        sort: list[tuple[str, int]],
        limit: int,
        key: Any = id_key,
        hint: str | None = None,
    ) -> Page[T]:
        limit = check_limit(limit)
        return make_page(self._many(filter, sort, limit + 1, hint), limit, key)

    def _id_page(
        self, filter: dict[str, Any], limit: int, after: str | None, hint: str | None = None
    ) -> Page[T]:
        """One page in id order. ``hint`` names the index to read (from
        migrations/mongodb) where a server's planner would otherwise scan the
        collection: SecantusDB does for a filter on a field outside every index
        (status, conditions) and for an ``_id`` range; tests/test_plans.py checks."""
        filter["_id"] = {"$gt": after_id(after)}
        return self._page(filter, [("_id", 1)], limit, hint=hint)

    def _update_one(self, filter: Mapping[str, Any], changes: Mapping[str, Any]) -> T | None:
        with self._db.errors(self.entity):
            doc = self._collection.find_one_and_update(
                filter,
                changes,
                return_document=ReturnDocument.AFTER,
                session=self._db.session,
            )
        return None if doc is None else self._load(doc)

    def _check_references(self, db: MongoDatabase, entity: Any) -> None:
        for field, collection in self.references:
            value = getattr(entity, field)
            with db.errors(self.entity):
                found = db.database[collection].find_one(
                    {"_id": value}, {"_id": 1}, session=db.session
                )
            if found is None:
                raise referenced_missing(self.entity, field, value)

    def _create(self, fields: Mapping[str, Any]) -> T:
        entity = self._converter.new(self.entity, fields, self.settable)
        document = self._converter.document(entity)
        if not self.references:
            with self._db.errors(self.entity):
                self._collection.insert_one(document, session=self._db.session)
            return entity
        with self._db.transaction() as db:
            self._check_references(db, entity)
            with db.errors(self.entity):
                db.database[self.collection_name].insert_one(document, session=db.session)
        return entity

    def find_by_id(self, id: str) -> T | None:
        """The entity with this id, or None."""
        return self._one({"_id": check_id(id)})

    def list(self, *, limit: int = 100, after: str | None = None) -> Page[T]:
        """Every entity in creation order."""
        return self._id_page({}, limit, after)

    def _update(self, id: str, changes: Mapping[str, Any]) -> T:
        converter = self._converter
        checked = converter.check_changes(self.entity, changes, self.changeable)
        check_id(id)
        with self._db.transaction() as db:
            collection = db.database[self.collection_name]
            with db.errors(self.entity):
                doc = collection.find_one({"_id": id}, session=db.session)
            if doc is None:
                raise not_found(self.entity, id)
            updated = converter.apply_changes(self._load(doc), checked)
            updated = converter.apply_changes(updated, {"updated_at": _values.utc_now()})
            with db.errors(self.entity):
                collection.replace_one(
                    {"_id": id}, converter.document(updated), session=db.session
                )
            return updated

    def delete(self, id: str) -> None:
        """Delete the entity; NotFoundError if there is none, ConflictError while
        other documents still refer to it."""
        check_id(id)
        if not self.restrict and not self.cascade:
            with self._db.errors(self.entity):
                result = self._collection.delete_one({"_id": id}, session=self._db.session)
            if result.deleted_count == 0:
                raise not_found(self.entity, id)
            return
        with self._db.transaction() as db, db.errors(self.entity):
            for collection, field in self.restrict:
                if db.database[collection].find_one(
                    {field: id}, {"_id": 1}, session=db.session
                ):
                    raise ConflictError(
                        f"{self.entity.__name__} {id!r} is still referenced by {collection}"
                    )
            result = db.database[self.collection_name].delete_one(
                {"_id": id}, session=db.session
            )
            if result.deleted_count == 0:
                raise not_found(self.entity, id)
            for collection, field in self.cascade:
                db.database[collection].delete_many({field: id}, session=db.session)


def _time_filter(
    field: str, since: datetime | None, until: datetime | None, after: str | None
) -> dict[str, Any]:
    """A half-open [since, until) range on ``field``, after a page's last (time, id)."""
    at, last_id, end = time_position(since, until, after)
    if after is None:
        # A plain range, which every server answers from the (field, _id) index.
        return {field: {"$gte": at, "$lt": end}}
    return {
        field: {"$lt": end},
        "$or": [{field: {"$gt": at}}, {field: at, "_id": {"$gt": last_id}}],
    }


class MongoAgentRepository(_AsyncMongoRepository[Agent]):
    """Agents, in the ``agents`` collection."""

    entity = Agent
    collection_name = "agents"
    settable = field_names(NewAgent)
    changeable = field_names(AgentChanges)
    restrict = (("credit_vaults", "agent_id"),)

    def create(self, **fields: Unpack[NewAgent]) -> Agent:
        """Store a new agent; ConflictError if the name is taken."""
        return self._create(fields)

    def find_by_name(self, name: str) -> Agent | None:
        """The agent with this name, or None."""
        return self._one({"name": check_id(name, "name")})

    def find_by_tier(
        self, tier: CredibilityTier | str, *, limit: int = 100, after: str | None = None
    ) -> Page[Agent]:
        """Agents of one credibility tier, in creation order."""
        value = enum_value(CredibilityTier, tier, "tier")
        return self._id_page({"credibility_tier": value}, limit, after)

    def update(self, id: str, **changes: Unpack[AgentChanges]) -> Agent:
        """Change an agent's name or score (its tier follows)."""
        return self._update(id, changes)


class MongoVaultRepository(_AsyncMongoRepository[CreditVault]):
    """Credit vaults, in the ``credit_vaults`` collection."""

    entity = CreditVault
    collection_name = "credit_vaults"
    settable = field_names(NewVault)
    changeable = field_names(VaultChanges)
    references = (("agent_id", "agents"),)
    restrict = (("liquidation_events", "vault_id"),)
    cascade = (("risk_alerts", "vault_id"), ("protection_rules", "vault_id"))

    def create(self, **fields: Unpack[NewVault]) -> CreditVault:
        """Store a new vault; NotFoundError if the agent does not exist."""
        return self._create(fields)

    def find_by_agent_id(
        self, agent_id: str, *, limit: int = 100, after: str | None = None
    ) -> Page[CreditVault]:
        """An agent's vaults in creation order."""
        return self._id_page({"agent_id": check_id(agent_id, "agent_id")}, limit, after)

    def find_by_chain_id(
        self, chain_id: ChainId | int, *, limit: int = 100, after: str | None = None
    ) -> Page[CreditVault]:
        """The vaults on one chain in creation order."""
        value = enum_value(ChainId, chain_id, "chain_id")
        return self._id_page({"chain_id": value}, limit, after)

    def find_high_risk_vaults(
        self, threshold: Number, *, limit: int = 100, after: str | None = None
    ) -> Page[CreditVault]:
        """Vaults with an LTV at or above ``threshold``, riskiest first."""
        value = _values.decimal_value(threshold, "threshold")
        filter: dict[str, Any] = {"ltv": {"$gte": _d(value)}}
        if after is not None:
            after_ltv, last_id = ltv_position(after)
            filter["$or"] = [
                {"ltv": {"$lt": _d(after_ltv)}},
                {"ltv": _d(after_ltv), "_id": {"$lt": last_id}},
            ]
        return self._page(filter, [("ltv", -1), ("_id", -1)], limit, ltv_key)

    def update(self, id: str, **changes: Unpack[VaultChanges]) -> CreditVault:
        """Change a vault."""
        return self._update(id, changes)

    def update_vault_metrics(
        self, id: str, ltv: Number, health_factor: Number
    ) -> CreditVault:
        """Record a vault's current LTV and health factor in one write."""
        checked = self._converter.check_changes(
            CreditVault, {"ltv": ltv, "health_factor": health_factor}, self.changeable
        )
        vault = self._update_one(
            {"_id": check_id(id)},
            {
                "$set": {
                    "ltv": _d(checked["ltv"]),
                    "health_factor": _d(checked["health_factor"]),
                    "updated_at": _values.utc_now(),
                }
            },
        )
        if vault is None:
            raise not_found(CreditVault, id)
        return vault

    def risk_summary_by_chain(self, threshold: Number) -> list[ChainRiskSummary]:
        """Per chain: vault count, USD totals, average LTV and the number of vaults at
        or above ``threshold``: an aggregation pipeline."""
        value = _d(_values.decimal_value(threshold, "threshold"))
        pipeline: list[dict[str, Any]] = [
            {
                "$group": {
                    "_id": "$chain_id",
                    "vault_count": {"$sum": 1},
                    "total_collateral_usd": {"$sum": "$collateral.value_usd"},
                    "total_debt_usd": {"$sum": "$debt.value_usd"},
                    "ltv_total": {"$sum": "$ltv"},
                    "at_risk_count": {"$sum": {"$cond": [{"$gte": ["$ltv", value]}, 1, 0]}},
                }
            },
            {"$sort": {"_id": 1}},
        ]
        with self._db.errors(CreditVault):
            cursor = self._collection.aggregate(pipeline, session=self._db.session)
            groups = cursor.to_list()
        return [
            ChainRiskSummary.from_totals(
                chain_id=group["_id"],
                vault_count=group["vault_count"],
                total_collateral_usd=group["total_collateral_usd"].to_decimal(),
                total_debt_usd=group["total_debt_usd"].to_decimal(),
                ltv_total=group["ltv_total"].to_decimal(),
                at_risk_count=group["at_risk_count"],
            )
            for group in groups
        ]


class MongoAlertRepository(_AsyncMongoRepository[RiskAlert]):
    """Risk alerts, in the ``risk_alerts`` collection."""

    entity = RiskAlert
    collection_name = "risk_alerts"
    settable = field_names(NewAlert)
    changeable = field_names(AlertChanges)
    references = (("vault_id", "credit_vaults"),)

    def create(self, **fields: Unpack[NewAlert]) -> RiskAlert:
        """Raise a new, open alert; NotFoundError for an unknown vault."""
        return self._create(fields)

    def find_by_vault(
        self, vault_id: str, *, limit: int = 100, after: str | None = None
    ) -> Page[RiskAlert]:
        """Every alert of a vault, in creation order."""
        return self._id_page({"vault_id": check_id(vault_id, "vault_id")}, limit, after)

    def find_open_by_vault(
        self, vault_id: str, *, limit: int = 100, after: str | None = None
    ) -> Page[RiskAlert]:
        """A vault's unresolved alerts."""
        filter = {"vault_id": check_id(vault_id, "vault_id"), "status": _OPEN}
        return self._id_page(filter, limit, after, "risk_alerts_open_vault_id_id_idx")

    def find_open_by_severity(
        self, severity: AlertSeverity | str, *, limit: int = 100, after: str | None = None
    ) -> Page[RiskAlert]:
        """Unresolved alerts of one severity."""
        value = enum_value(AlertSeverity, severity, "severity")
        filter = {"severity": value, "status": _OPEN}
        return self._id_page(filter, limit, after, "risk_alerts_open_severity_id_idx")

    def acknowledge(self, id: str) -> RiskAlert:
        """Mark an open alert as seen; it stays open. Acknowledging again changes
        nothing; ConflictError if it is resolved."""
        now = _values.utc_now()
        alert = self._update_one(
            {"_id": check_id(id), "status": AlertStatus.OPEN.value},
            {"$set": {"status": "acknowledged", "acknowledged_at": now, "updated_at": now}},
        )
        if alert is not None:
            return alert
        current = self.find_by_id(id)
        if current is None:
            raise not_found(RiskAlert, id)
        if current.status is AlertStatus.ACKNOWLEDGED:
            return current
        raise ConflictError(f"alert {id!r} is resolved and cannot be acknowledged")

    def resolve(self, id: str) -> RiskAlert:
        """Close an alert; resolving it again changes nothing."""
        now = _values.utc_now()
        alert = self._update_one(
            {"_id": check_id(id), "status": _OPEN},
            {"$set": {"status": "resolved", "resolved_at": now, "updated_at": now}},
        )
        if alert is not None:
            return alert
        current = self.find_by_id(id)
        if current is None:
            raise not_found(RiskAlert, id)
        return current

    def update(self, id: str, **changes: Unpack[AlertChanges]) -> RiskAlert:
        """Change an alert's severity or message."""
        return self._update(id, changes)


class MongoLiquidationRepository(_AsyncMongoRepository[LiquidationEvent]):
    """Liquidation events, in the ``liquidation_events`` collection."""

    entity = LiquidationEvent
    collection_name = "liquidation_events"
    settable = field_names(NewLiquidation)
    changeable = field_names(LiquidationChanges)
    references = (("vault_id", "credit_vaults"),)

    def create(self, **fields: Unpack[NewLiquidation]) -> LiquidationEvent:
        """Record a liquidation; ConflictError if this transaction was already
        recorded for the vault."""
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
        """A vault's liquidations in [since, until), oldest first."""
        filter = _time_filter("occurred_at", since, until, after)
        filter["vault_id"] = check_id(vault_id, "vault_id")
        return self._page(filter, [("occurred_at", 1), ("_id", 1)], limit, occurred_key)

    def find_between(
        self, since: datetime, until: datetime, *, limit: int = 100, after: str | None = None
    ) -> Page[LiquidationEvent]:
        """Every liquidation in [since, until), oldest first."""
        filter = _time_filter("occurred_at", since, until, after)
        return self._page(filter, [("occurred_at", 1), ("_id", 1)], limit, occurred_key)

    def update(self, id: str, **changes: Unpack[LiquidationChanges]) -> LiquidationEvent:
        """Correct a recorded liquidation."""
        return self._update(id, changes)


class MongoProtectionRuleRepository(_AsyncMongoRepository[ProtectionRule]):
    """Protection rules, in the ``protection_rules`` collection."""

    entity = ProtectionRule
    collection_name = "protection_rules"
    settable = field_names(NewProtectionRule)
    changeable = field_names(ProtectionRuleChanges)
    references = (("vault_id", "credit_vaults"),)

    def create(self, **fields: Unpack[NewProtectionRule]) -> ProtectionRule:
        """Store a new rule; ConflictError if the vault has one of that name."""
        return self._create(fields)

    def find_enabled_for_vault(self, vault_id: str) -> list[ProtectionRule]:
        """A vault's enabled rules, highest priority first."""
        filter = {"vault_id": check_id(vault_id, "vault_id"), "enabled": True}
        return self._many(filter, [("priority", -1), ("_id", 1)])

    def find_by_conditions(
        self, conditions: dict[str, Any], *, limit: int = 100, after: str | None = None
    ) -> Page[ProtectionRule]:
        """Rules whose conditions contain ``conditions`` (as PostgreSQL's ``@>``)."""
        document = _values.json_object(conditions, "conditions")
        filter = containment_filter("conditions", document)
        return self._id_page(filter, limit, after, "_id_")

    def mark_triggered(self, id: str) -> ProtectionRule | None:
        """Record that the rule fired, unless it is disabled or still cooling down,
        in which case None. NotFoundError for an unknown id."""
        now = _values.utc_now()
        cooled_down = {
            "$lte": ["$last_triggered_at", {"$subtract": [now, {"$multiply": ["$cooldown", 1000]}]}]
        }
        rule = self._update_one(
            {
                "_id": check_id(id),
                "enabled": True,
                "$or": [{"last_triggered_at": None}, {"$expr": cooled_down}],
            },
            {"$set": {"last_triggered_at": now, "updated_at": now}, "$inc": {"trigger_count": 1}},
        )
        if rule is None and self.find_by_id(id) is None:
            raise not_found(ProtectionRule, id)
        return rule

    def update(self, id: str, **changes: Unpack[ProtectionRuleChanges]) -> ProtectionRule:
        """Change a rule."""
        return self._update(id, changes)


class MongoMarketDataRepository(_AsyncMongoRepository[MarketData]):
    """Market prices, in the ``market_data`` collection."""

    entity = MarketData
    collection_name = "market_data"
    settable = field_names(NewMarketData)
    changeable = field_names(MarketDataChanges)

    def create(self, **fields: Unpack[NewMarketData]) -> MarketData:
        """Store one price; ``recorded_at`` defaults to now."""
        return self._create(with_recorded_at(fields))

    def bulk_insert(self, records: Sequence[NewMarketData]) -> int:
        """Store many prices at once, all or none, in one transaction; every record
        is validated before any is sent."""
        entities = new_market_data(self._converter, records, self.settable)
        if not entities:
            return 0
        documents = [self._converter.document(entity) for entity in entities]
        with self._db.transaction() as db, db.errors(MarketData):
            db.database[self.collection_name].insert_many(
                documents, ordered=True, session=db.session
            )
        return len(documents)

    def latest_price(self, token: str, chain_id: ChainId | int) -> MarketData | None:
        """The most recent price of a token on a chain, or None."""
        filter = {
            "token": check_id(token, "token"),
            "chain_id": enum_value(ChainId, chain_id, "chain_id"),
        }
        return self._one(filter, sort=[("recorded_at", -1), ("_id", -1)])

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
        """A token's prices on a chain in [since, until), oldest first."""
        filter = _time_filter("recorded_at", since, until, after)
        filter["token"] = check_id(token, "token")
        filter["chain_id"] = enum_value(ChainId, chain_id, "chain_id")
        return self._page(filter, [("recorded_at", 1), ("_id", 1)], limit, recorded_key)

    def update(self, id: str, **changes: Unpack[MarketDataChanges]) -> MarketData:
        """Correct a recorded price."""
        return self._update(id, changes)


class MongoStore:
    """The MongoDB store: a pymongo client and the repositories on it.

    Open it with :func:`vaultstore.aio.connect`; close it with ``async with`` or
    :meth:`close`.
    """

    backend = "mongodb"

    def __init__(self, db: MongoDatabase) -> None:
        self._db = db
        self.agents = MongoAgentRepository(db)
        self.vaults = MongoVaultRepository(db)
        self.alerts = MongoAlertRepository(db)
        self.liquidations = MongoLiquidationRepository(db)
        self.protection_rules = MongoProtectionRuleRepository(db)
        self.market_data = MongoMarketDataRepository(db)
        self.documents = MongoDocumentRepository(db.database, db.session)

    @classmethod
    def open(cls, settings: Settings) -> MongoStore:
        """Connect and check the server answers."""
        pool = settings.pool
        client: MongoClient[Any] = MongoClient(
            settings.url(hide_password=False),
            maxPoolSize=pool.max_size,
            minPoolSize=pool.min_size,
            connectTimeoutMS=int(pool.connect_timeout * 1000),
            serverSelectionTimeoutMS=int(pool.connect_timeout * 1000),
            waitQueueTimeoutMS=int(pool.connect_timeout * 1000),
            maxIdleTimeMS=int(pool.idle_timeout * 1000),
            appname="vaultstore",
            tz_aware=True,
            tzinfo=UTC,
        )
        try:
            client.admin.command("ping")
        except PyMongoError as exc:
            client.close()
            error = translate(exc, settings=settings)
            if isinstance(error, UnavailableError):
                raise error from None  # the driver's message may quote the URI
            raise error from exc
        logger.info("vaultstore connected to %s", settings)
        return cls(MongoDatabase(client, settings, MongoConverter()))

    @property
    def settings(self) -> Settings:
        """Where this store is connected (its repr hides the password)."""
        return self._db.settings

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._db.settings}>"

    def transaction(self) -> AbstractContextManager[MongoStore]:
        """Repositories sharing one multi-document transaction: committed when the
        block ends, aborted if it raises. Nested, it joins the outer transaction."""
        return self._transaction()

    @contextmanager
    def _transaction(self) -> Iterator[MongoStore]:
        with self._db.transaction() as db:
            yield self if db is self._db else MongoStore(db)

    def ping(self) -> float:
        """Seconds for one round trip to the server."""
        with self._db.errors():
            start = time.perf_counter()
            self._db.client.admin.command("ping")
            return time.perf_counter() - start

    def pool_stats(self) -> dict[str, int]:
        """The pool's configured bounds (pymongo keeps its gauges to itself)."""
        return {
            "pool_min": self._db.settings.pool.min_size,
            "pool_max": self._db.settings.pool.max_size,
        }

    def close(self) -> None:
        """Close the client; a store inside a transaction leaves it to its owner."""
        if self._db.session is None:
            self._db.client.close()

    def __enter__(self) -> MongoStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
