"""The MongoDB executor (async source of the sync twin): runs a named operation as
the declared operation of that name in ``queries/<entity>.mongodb.json``, on
pymongo's client or in one session's multi-document transaction.

What PostgreSQL's constraints do, the collections' validators do (created by
``vaultstore migrate`` from ``migrations/mongodb``); what its foreign keys do, this
executor does inside a transaction, from the registry's references: a document
naming a missing one is a NotFoundError, deleting one that others name with
``restrict`` is a ConflictError, and those naming it with ``cascade`` go with it.

What PostgreSQL's row-level security does, this executor does too, in ``_write``,
which every declared operation passes through: the scope's tenant goes into every
filter (lookups, updates, deletes and the references checked), every inserted
document and, as a first ``$match``, every pipeline of a tenant-owned collection
(not market data, which every tenant shares). A document of another tenant is not
there for this one: ``None``, an empty page, ``NotFoundError``.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs
import bson
import pymongo
from bson import Decimal128
from pymongo import AsyncMongoClient, ReadPreference, ReturnDocument, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import ConfigurationError, PyMongoError, ServerSelectionTimeoutError

from .. import _values
from .._audit import AUDIT_LOG, batch_change, record_document, write_change
from .._entities import WriteKind
from .._health import ServerFacts, mongo_drift
from .._mongo import (
    CODEC_OPTIONS,
    CausalClock,
    MongoConverter,
    PoolGauges,
    client_options,
    connection_lost,
    decimal_from_bson,
    referenced_missing,
    translate,
)
from .._mongo_operations import MongoOperation, for_tenant, updated
from .._outage import PROBE_TIMEOUT, Outage
from .._pipeline import Operation, Shape
from .._queries import load_mongodb_operations
from .._registry import EntityType, Registry
from .._replicas import ReplicaStats
from .._resources import (
    MIGRATIONS_RECORD,
    collection_validators,
    migrations_dir,
    schema_steps,
)
from .._retry import aretry, commit_unknown
from .._scope import DEFAULT_TENANT, Scope
from .._settings import Settings
from ..errors import (
    ConcurrentUpdateError,
    ConflictError,
    DatabaseError,
    StoreClosedError,
    UnavailableError,
    ValidationError,
    VaultStoreError,
)
from .changes import AsyncMongoFeed
from .mongo_documents import AsyncMongoDocuments

if TYPE_CHECKING:
    from .cache import AsyncCache

logger = logging.getLogger("vaultstore")


_READS = frozenset({"find_one", "find", "aggregate"})
_WRITES = frozenset(
    {"insert_one", "insert_many", "find_one_and_update", "delete_one", "bulk_update"}
)
_ATTEMPTS = 4
"""Tries of a transaction the executor opened for one audited write, when a
concurrent writer gets in the way (a write conflict, a transient error)."""
_LOOKUP = 500  # ids per $in when a batch looks for the documents it names


def _aborted() -> DatabaseError:
    return DatabaseError(
        "an operation failed inside this transaction and the error was caught; the "
        "transaction is aborted and nothing will be committed",
        code="25P02",  # PostgreSQL's in_failed_sql_transaction, the same situation
    )


class _AsyncErrors:
    """``async with executor.errors(entity)``: pymongo errors raised in the block
    become vaultstore's. Inside a transaction, a failed operation aborts it (the
    server does so too), as a failed statement does on PostgreSQL."""

    __slots__ = ("_deadline", "_entity", "_executor", "_write")

    def __init__(
        self, executor: AsyncMongoExecutor, entity: EntityType | None, write: bool
    ) -> None:
        self._executor = executor
        self._entity = entity
        self._write = write
        self._deadline: Any = None

    async def __aenter__(self) -> None:
        executor = self._executor
        if executor.session is not None and executor.failed:
            raise _aborted()
        if executor.outage.error is not None:
            if executor.state["closed"]:
                raise StoreClosedError(f"the store on {executor.settings} is closed")
            if executor.outage.must_probe():
                await executor.probe()
        if executor.timeout is not None:  # store.transaction(timeout=...)
            self._deadline = pymongo.timeout(executor.timeout)
            self._deadline.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        if self._deadline is not None:
            self._deadline.__exit__(exc_type, exc, tb)
            self._deadline = None
        if isinstance(exc, PyMongoError):
            executor = self._executor
            if executor.session is not None:
                executor.failed = True
            entity = self._entity
            error = translate(
                exc,
                settings=executor.settings,
                entity=None if entity is None else entity.cls,
                clauses=() if entity is None else executor.validators.get(entity.table, ()),
                closed=executor.state["closed"],
            )
            if type(error) is UnavailableError and not executor.state["closed"]:
                executor.lost_server(error)
            if self._write and executor.session is None:
                error = commit_unknown(error)  # the write may have been applied
            raise error from exc


class AsyncMongoExecutor:
    """Runs operations on a client, or in one session's transaction (``session``
    set): what every repository runs on."""

    backend = "mongodb"
    cache: AsyncCache | None = None  # vaultstore._async.cache wraps it when on

    def __init__(
        self,
        client: AsyncMongoClient[Any],
        settings: Settings,
        registry: Registry,
        operations: Mapping[str, Mapping[str, MongoOperation]],
        converter: MongoConverter,
        *,
        session: AsyncClientSession | None = None,
    ) -> None:
        self.client = client
        self.settings = settings
        self.registry = registry
        self.operations = operations
        self.converter = converter
        self.session = session
        self.database: AsyncDatabase[Any] = client.get_database(
            settings.database, codec_options=CODEC_OPTIONS
        )
        self.validators = collection_validators()
        self.collections: dict[str, AsyncCollection[Any]] = {}
        self.state = {"closed": False}  # shared with the executors of its transactions
        self.gauges = PoolGauges()  # the client's: open() registers it
        self.outage = Outage()  # shared with the executors of its transactions
        self.failed = False  # a nested block raised: the transaction must not commit
        self.timeout: float | None = None  # each operation's, in this transaction
        # Shared with the executors of its transactions; None when reads see the
        # store's writes without it (readPreference primary, readConcern local).
        self.causal = CausalClock() if CausalClock.needed(client) else None
        self.tenant: str | None = None  # None: tenancy is on and the scope names none
        self._scope(settings.scope)

    def _scope(self, scope: Scope) -> None:
        try:
            self.tenant = scope.effective_tenant()
        except ValidationError:
            self.tenant = None  # each call refuses, before any I/O (_tenant())

    def _tenant(self) -> str:
        """The tenant this executor acts for; ValidationError on ``tenant`` when
        tenancy is on and the scope names none."""
        return self.tenant or self.settings.scope.effective_tenant()

    @classmethod
    async def open(cls, settings: Settings, registry: Registry) -> AsyncMongoExecutor:
        """Connect and check the server answers."""
        uri, options = client_options(settings)
        gauges = PoolGauges()
        try:
            client: AsyncMongoClient[Any] = AsyncMongoClient(
                uri, **options, event_listeners=[gauges]
            )
        except ConfigurationError as exc:  # a seed list without DNS records, a bad TLS file
            message = settings.scrub(str(exc))
            raise UnavailableError(f"cannot connect to {settings}: {message}") from None
        try:
            with pymongo.timeout(settings.pool.connect_timeout):
                await client.admin.command("ping")
        except PyMongoError as exc:
            await client.close()
            error = translate(exc, settings=settings)
            if isinstance(error, UnavailableError):
                raise error from None  # the driver's message may quote the URI
            raise error from exc
        operations = load_mongodb_operations(registry.queries)
        logger.info("vaultstore connected to %s", settings)
        executor = cls(client, settings, registry, operations, MongoConverter())
        executor.gauges = gauges
        return executor

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.settings}>"

    @property
    def in_transaction(self) -> bool:
        return self.session is not None

    def errors(self, entity: EntityType | None = None, *, write: bool = False) -> _AsyncErrors:
        """pymongo errors raised in the block become vaultstore's; ``write``: the
        block writes, so a lost connection leaves its outcome unknown."""
        return _AsyncErrors(self, entity, write)

    def declared(self, op: Operation) -> MongoOperation:
        """The declared operation that runs ``op``."""
        try:
            return self.operations[op.entity.name][op.name]
        except KeyError:
            raise DatabaseError(
                f"no operation {op.name} in queries/{op.entity.name}.mongodb.json"
            ) from None

    def _bson(self, value: Any) -> Any:
        """A parameter as BSON: Decimal128, enums as values, entities (and new
        entities' rows) as documents."""
        if type(value) is str:
            return value  # ids and keys: most parameters
        if isinstance(value, dict):
            return {key: self._bson(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._bson(item) for item in value]
        if attrs.has(type(value)):
            if hasattr(value, "id"):
                return self.converter.document(value)
            return self.converter.unstructure(value)
        return self.converter.value(value)

    def writes(self, op: Operation) -> bool:
        return self.declared(op).call not in _READS

    async def execute(self, op: Operation, params: dict[str, Any]) -> Any:
        """Run ``op``'s declared operation with ``params`` and give back what its
        shape says."""
        if not op.entity.shared:
            self._tenant()  # refused before any I/O when tenancy is on and no tenant given
        declared = self.declared(op)
        bound = {name: self._bson(value) for name, value in params.items()}
        if "changes" in bound:
            # An update pipeline would read "$name" strings as field paths.
            bound["changes"] = {k: {"$literal": v} for k, v in bound["changes"].items()}
        if "now" in declared.parameters:
            bound["now"] = _values.utc_now()
        call = declared.call
        entity = op.entity
        if call in _WRITES and self.settings.scope.audit:
            if self.session is not None:
                return await self._audited(op, declared, bound)
            return await self._audited_alone(op, declared, bound)
        if call == "bulk_update" or (
            call in ("insert_one", "insert_many") and (entity.references or call == "insert_many")
        ):
            async with self.transaction() as tx:
                return await tx._write(op, declared, bound, tx.session)
        if call == "delete_one" and self.registry.dependents(entity.table):
            async with self.transaction() as tx:
                return await tx._delete(op, declared, bound)
        if self.session is None and call in _READS:
            try:
                return await self._call(op, declared, bound)
            except UnavailableError as exc:
                if not connection_lost(exc.__cause__):
                    raise
            # The connection died under the read: once more on a fresh one, unless
            # the server is down (known already, or found by probe()).
            if self.outage.error is None or self.outage.must_probe():
                await self.probe()
            logger.info("vaultstore: a pooled connection was lost; %s runs again", op.key)
        return await self._call(op, declared, bound)

    async def _audited_alone(
        self, op: Operation, declared: MongoOperation, bound: dict[str, Any]
    ) -> Any:
        """An audited write outside a transaction: in one of its own with its record,
        run again when a concurrent writer gets in the way (its read of the document
        before can meet a write conflict where a lone write would have waited),
        which is safe because the transaction holds this write only."""

        async def once() -> Any:
            async with self._transaction() as tx:
                return await tx._audited(op, declared, bound)

        return await aretry(
            once,
            lambda exc: isinstance(exc, ConcurrentUpdateError),
            attempts=_ATTEMPTS,
            what=op.key,
        )

    async def _audited(self, op: Operation, declared: MongoOperation, bound: dict[str, Any]) -> Any:
        """A write and its audit records, in this executor's transaction."""
        if declared.call == "delete_one" and self.registry.dependents(op.entity.table):
            return await self._delete(op, declared, bound)
        return await self._write(op, declared, bound, self.session)

    def _record_tenant(self, entity: EntityType) -> str:
        """The tenant a record of a write to ``entity`` belongs to: the scope's; for
        shared data (market data) written without one, the default tenant, as
        PostgreSQL's policy on audit_log says."""
        return self._tenant() if not entity.shared else self.tenant or DEFAULT_TENANT

    async def _append(
        self,
        session: AsyncClientSession | None,
        op: Operation,
        entity: EntityType,
        changes: list[dict[str, Any]],
        row_count: int = 1,
    ) -> None:
        """The audit records of ``changes`` (:func:`write_change`'s, or a batch's),
        written in ``session``'s transaction; all at the one moment, as PostgreSQL's
        triggers record a statement's rows at its start."""
        if not changes:
            return
        now = _values.utc_now()
        records = [
            record_document(
                tenant=self._record_tenant(entity),
                actor=self.settings.scope.actor,
                operation=op.key,
                entity_type=entity.name,
                change={**change, "changes": self._bson(change["changes"])},
                written_at=now,
                row_count=row_count,
            )
            for change in changes
        ]
        audit_log = self.collections.get(AUDIT_LOG)
        if audit_log is None:
            audit_log = self.collections[AUDIT_LOG] = self.database[AUDIT_LOG]
        if len(records) == 1:
            await audit_log.insert_one(records[0], session=session)
        else:
            await audit_log.insert_many(records, session=session)

    async def _call(self, op: Operation, declared: MongoOperation, bound: dict[str, Any]) -> Any:
        """Run ``op``: in this transaction's session; else, when the store needs
        it, in a causally consistent session after the store's earlier calls."""
        clock = self.causal
        if clock is None or self.session is not None:
            return await self._write(op, declared, bound, self.session)
        async with self.client.start_session(causal_consistency=True) as session:
            clock.start(session)
            try:
                return await self._write(op, declared, bound, session)
            finally:
                clock.saw(session)

    async def _write(  # noqa: PLR0911 - one return per call reads best
        self,
        op: Operation,
        declared: MongoOperation,
        bound: dict[str, Any],
        session: AsyncClientSession | None,
    ) -> Any:
        entity = op.entity
        collection = self.collections.get(entity.table)
        if collection is None:
            collection = self.collections[entity.table] = self.database[entity.table]
        call = declared.call
        tenant = None if entity.shared else self._tenant()
        argument: Any = None if call == "bulk_update" else declared.filter(bound)
        if tenant is not None:
            argument = for_tenant(call, argument, tenant)
        async with self.errors(entity, write=call not in _READS):
            if call in ("insert_one", "insert_many"):
                return await self._insert(op, collection, argument, session)
            if call == "find_one":
                doc = await collection.find_one(
                    argument, sort=declared.sort, hint=declared.hint, session=session
                )
                return None if doc is None else self.converter.document_loader(entity.cls)(doc)
            if call == "find_one_and_update":
                assert declared.update is not None
                doc = await self._update(op, collection, argument, declared.update(bound), session)
                return None if doc is None else self.converter.document_loader(entity.cls)(doc)
            if call == "find":
                limit = 0 if declared.limit is None else declared.limit(bound)
                cursor = collection.find(
                    argument, sort=declared.sort, limit=limit, hint=declared.hint, session=session
                )
                docs = await cursor.to_list()
                if op.shape is Shape.ROWS:
                    return [_plain(doc) for doc in docs]
                load: Any = self.converter.document_loader(entity.cls)
                return [load(doc) for doc in docs]
            if call == "aggregate":
                results = await collection.aggregate(argument, session=session)
                return [_plain(doc) for doc in await results.to_list()]
            if call == "delete_one":
                return await self._delete_one(op, collection, argument, session)
            if call == "bulk_update":
                rows = await self._bulk_update(collection, declared, bound, tenant)
                if self.settings.scope.audit and rows:
                    batch = batch_change(WriteKind.UPDATE)
                    await self._append(session, op, entity, [batch], len(rows))
                return rows
        raise DatabaseError(f"{op.key}: {call} cannot run here")  # parse_operation refuses it

    # Audited, each write runs in a transaction (execute() sees to it) with its record.

    async def _insert(
        self,
        op: Operation,
        collection: AsyncCollection[Any],
        argument: Any,
        session: AsyncClientSession | None,
    ) -> int:
        """insert_one (``argument``, a document) or insert_many (a list of them)."""
        entity = op.entity
        audit = self.settings.scope.audit
        documents = argument if isinstance(argument, list) else [argument]
        await self._check_references(entity, documents)
        if documents is not argument:
            await collection.insert_one(argument, session=session)
            change = write_change(None, argument, entity.cls) if audit else None
            await self._append(session, op, entity, [change] if change else [])
            return 1
        # Unordered: the server may apply them in any order (and in parallel);
        # the transaction around every insert_many keeps it all or none.
        await collection.insert_many(argument, ordered=False, session=session)
        if audit and argument:
            batch = batch_change(WriteKind.INSERT)
            await self._append(session, op, entity, [batch], len(argument))
        return len(argument)

    async def _update(
        self,
        op: Operation,
        collection: AsyncCollection[Any],
        argument: Any,
        update: Any,
        session: AsyncClientSession | None,
    ) -> Any:
        """find_one_and_update: the document after, or None. Audited, the call
        returns the document before, and the one after is worked out from it
        (:func:`updated`, through BSON as the server stores it) or, for an update
        it cannot work out, read in the transaction: the record lists what changed."""
        if not self.settings.scope.audit:
            return await collection.find_one_and_update(
                argument, update, return_document=ReturnDocument.AFTER, session=session
            )
        before = await collection.find_one_and_update(
            argument, update, return_document=ReturnDocument.BEFORE, session=session
        )
        if before is None:
            return None
        after = updated(update, before)
        if after is None:
            doc = await collection.find_one({"_id": before["_id"]}, session=session)
        else:
            options = collection.codec_options
            doc = bson.decode(bson.encode(after, codec_options=options), codec_options=options)
        change = write_change(before, doc, op.entity.cls)
        await self._append(session, op, op.entity, [change] if change else [])
        return doc

    async def _delete_one(
        self,
        op: Operation,
        collection: AsyncCollection[Any],
        argument: Any,
        session: AsyncClientSession | None,
    ) -> int:
        """delete_one: how many it deleted (0 or 1); audited, the record lists every
        field of the document deleted."""
        if not self.settings.scope.audit:
            result = await collection.delete_one(argument, session=session)
            return result.deleted_count
        gone = await collection.find_one_and_delete(argument, session=session)
        if gone is None:
            return 0
        change = write_change(gone, None, op.entity.cls)
        await self._append(session, op, op.entity, [change] if change else [])
        return 1

    async def _bulk_update(
        self,
        collection: AsyncCollection[Any],
        declared: MongoOperation,
        bound: dict[str, Any],
        tenant: str | None,
    ) -> list[dict[str, Any]]:
        """One update per item in one unordered bulk write; the rows of the ids it
        found. Only when some matched nothing are they looked for (in this
        transaction), a few hundred at a time: ``$in`` on thousands of ids is slow
        on some servers."""
        assert declared.update is not None
        items = [{**bound, **item} for item in declared.items(bound)]
        filters = [declared.argument(item) for item in items]
        wanted = [f["_id"] for f in filters]
        owned: dict[str, Any] = {} if tenant is None else {"tenant_id": tenant}
        if owned:
            filters = [{**owned, **f} for f in filters]
        writes = [
            UpdateOne(f, declared.update(item)) for f, item in zip(filters, items, strict=True)
        ]
        result = await collection.bulk_write(writes, ordered=False, session=self.session)
        if result.matched_count == len(wanted):
            return [{"id": id} for id in wanted]
        found: set[Any] = set()
        for start in range(0, len(wanted), _LOOKUP):
            chunk = wanted[start : start + _LOOKUP]
            cursor = collection.find(
                {**owned, "_id": {"$in": chunk}}, {"_id": 1}, session=self.session
            )
            found.update(doc["_id"] for doc in await cursor.to_list())
        return [{"id": id} for id in wanted if id in found]

    async def _check_references(self, entity: EntityType, documents: list[Any]) -> None:
        """What a foreign key does: every document it names must be there (looked
        for a few hundred at a time, so that a batch naming thousands takes a few
        queries). A document of another tenant's is not there."""
        for ref in entity.references:
            owned = self._owned(ref.table)
            wanted = sorted({document[ref.field] for document in documents} - {None})
            for start in range(0, len(wanted), _LOOKUP):
                chunk = wanted[start : start + _LOOKUP]
                cursor = self.database[ref.table].find(
                    {**owned, "_id": {"$in": chunk}}, {"_id": 1}, session=self.session
                )
                found = {doc["_id"] for doc in await cursor.to_list()}
                for value in chunk:
                    if value not in found:
                        raise referenced_missing(entity.cls, ref.field, value)

    def _owned(self, table: str) -> dict[str, str]:
        """The filter on this scope's tenant for ``table`` ({} when its rows are shared)."""
        return {} if self.registry.by_table(table).shared else {"tenant_id": self._tenant()}

    async def _delete(self, op: Operation, declared: MongoOperation, bound: dict[str, Any]) -> Any:
        """Delete one document as PostgreSQL's foreign keys would: refused while a
        ``restrict`` reference names it, taking ``cascade`` ones with it."""
        entity = op.entity
        id = bound["id"]
        dependents = self.registry.dependents(entity.table)
        async with self.errors(entity):
            for other, ref in dependents:
                if ref.on_delete == "restrict" and await self.database[other.table].find_one(
                    {**self._owned(other.table), ref.field: id}, {"_id": 1}, session=self.session
                ):
                    raise ConflictError(
                        f"{entity.cls.__name__} {_values.shown(id)} is still referenced "
                        f"by {other.table}"
                    )
        count = await self._write(op, declared, bound, self.session)
        if count:
            audit = self.settings.scope.audit
            async with self.errors(entity):
                for other, ref in dependents:
                    if ref.on_delete == "cascade":
                        dependent = {**self._owned(other.table), ref.field: id}
                        collection = self.database[other.table]
                        if audit:
                            # One record per document, as PostgreSQL's row triggers
                            # record the rows its foreign keys delete; the transaction's
                            # snapshot makes the delete below meet the same ones.
                            cursor = collection.find(dependent, session=self.session)
                            gone = [
                                write_change(d, None, other.cls) for d in await cursor.to_list()
                            ]
                            if not gone:
                                continue
                            await self._append(self.session, op, other, [c for c in gone if c])
                        await collection.delete_many(dependent, session=self.session)
        return count

    @asynccontextmanager
    async def transaction(
        self, *, timeout: float | None = None
    ) -> AsyncIterator[AsyncMongoExecutor]:
        """This executor bound to a session in a multi-document transaction,
        committed at the end of the block, aborted if it raises. MongoDB has no
        savepoints: nested, it joins the outer transaction, and if the nested
        block raises, the outer one is aborted (DatabaseError, code 25P02, when
        the caller carries on), where PostgreSQL would roll back to a savepoint."""
        self._tenant()  # refused before any I/O when tenancy is on and no tenant given
        async with self._transaction(timeout=timeout) as tx:
            yield tx

    @asynccontextmanager
    async def _transaction(
        self, *, timeout: float | None = None
    ) -> AsyncIterator[AsyncMongoExecutor]:
        """:meth:`transaction`, for a scope without a tenant too (a write of shared
        market data, audited in a transaction of its own)."""
        if self.session is not None:
            outer, self.timeout = self.timeout, timeout or self.timeout
            try:
                yield self
            except BaseException:
                self.failed = True
                raise
            finally:
                self.timeout = outer
            return
        clock = self.causal
        try:
            async with self.client.start_session() as session:
                if clock is not None:
                    clock.start(session)
                # A transaction reads from the primary, whatever the client's
                # readPreference says for reads outside one.
                async with await session.start_transaction(read_preference=ReadPreference.PRIMARY):
                    tx = AsyncMongoExecutor(
                        self.client,
                        self.settings,
                        self.registry,
                        self.operations,
                        self.converter,
                        session=session,
                    )
                    tx.database, tx.collections = self.database, self.collections
                    tx.state, tx.causal = self.state, clock
                    tx.gauges, tx.outage, tx.timeout = self.gauges, self.outage, timeout
                    yield tx
                    if tx.failed:
                        raise _aborted()
                if clock is not None:
                    clock.saw(session)  # committed
        except PyMongoError as exc:
            raise translate(exc, settings=self.settings, closed=self.state["closed"]) from exc

    async def pending_migrations(self) -> list[str]:
        """The steps of ``migrations/mongodb`` this database has not applied."""
        async with self.errors():
            records = self.database[MIGRATIONS_RECORD].find({}, {"_id": 1}, session=self.session)
            applied = {record["_id"] for record in await records.to_list()}
        return [step.id for step in schema_steps() if step.id not in applied]

    async def health_facts(self, timeout: float) -> ServerFacts:
        """What ``store.health()`` reports of the server, every command within
        ``timeout`` seconds (server selection included). UnavailableError if none
        answers. A secondary is a standby; its lag is not read (None)."""
        async with self.errors():
            with pymongo.timeout(timeout):
                start = time.perf_counter()
                await self.client.admin.command("ping")
                round_trip = time.perf_counter() - start
                info = await self.client.admin.command("buildInfo")
                hello = await self.client.admin.command("hello")
                cursor = self.database[MIGRATIONS_RECORD].find({})
                records = await cursor.sort([("applied_at", 1), ("_id", 1)]).to_list()
        steps = schema_steps()
        done = {record["_id"] for record in records}
        return ServerFacts(
            round_trip_seconds=round_trip,
            server_version=str(info.get("version", "")),
            standby=bool(hello.get("secondary")) and not hello.get("isWritablePrimary"),
            replica_lag_seconds=None,
            applied=tuple(records),
            drift=tuple(
                mongo_drift(records, steps, migrations_dir() / "mongodb", unrecorded=False)
            ),
            pending=tuple(step.id for step in steps if step.id not in done),
        )

    def watch(self, watched: Sequence[EntityType], after: dict[str, Any] | None) -> AsyncMongoFeed:
        """A change stream of the watched collections, for this scope's tenant
        (refused, with tenancy on, without one; and inside a transaction)."""
        self._tenant()
        if self.session is not None:
            raise VaultStoreError("watch() on the store, not inside store.transaction()")
        return AsyncMongoFeed(self, watched, after)

    def _watch_tenant(self) -> str:
        return self._tenant()

    async def prune_changes(self, cutoff: datetime) -> int:
        """Nothing to prune: a change stream reads the oplog, which the server
        keeps within its own size."""
        return 0

    def documents(self) -> AsyncMongoDocuments:
        return AsyncMongoDocuments(self.database, self.session, self.settings, self.registry)

    async def probe(self) -> None:
        """Try the server (a ping, as the client reads, at most PROBE_TIMEOUT long):
        raise UnavailableError and go on with the outage if no server answers; end
        it if one does. A server that answers too slowly is no outage: the call
        fails, the store goes on."""
        try:
            with pymongo.timeout(PROBE_TIMEOUT):
                await self.client.admin.command("ping", read_preference=self.client.read_preference)
        except PyMongoError as exc:
            error = translate(exc, settings=self.settings, closed=self.state["closed"])
            if isinstance(error, StoreClosedError):
                raise error from None
            error = UnavailableError(error.message, code=error.code)
            if connection_lost(exc) or isinstance(exc, ServerSelectionTimeoutError):
                self.outage.probed(error)
            raise error from None
        finally:
            self.outage.release()  # a try cancelled, or one that said nothing
        self.outage.probed(None)

    def lost_server(self, error: UnavailableError) -> None:
        """A call lost its connection or found no server: if the client now knows of
        no server that answers, the outage begins."""
        if not self.client.topology_description.has_known_servers:
            self.outage.begin(error)

    async def ping(self) -> float:
        """Seconds for one round trip to the server."""
        async with self.errors():
            start = time.perf_counter()
            await self.client.admin.command("ping")
            return time.perf_counter() - start

    def scoped(self, scope: Scope) -> AsyncMongoExecutor:
        """This executor (its client, collections, state, outage and causal clock
        shared) acting for ``scope``."""
        if self.session is not None:
            raise VaultStoreError(
                "a transaction acts for one scope: call scoped() on the store, "
                "then open the transaction"
            )
        other = copy.copy(self)
        other.settings = attrs.evolve(self.settings, scope=scope)
        other._scope(scope)
        return other

    def replica_stats(self) -> list[ReplicaStats]:
        """None here: MongoDB reads from secondaries as the URI's readPreference says."""
        return []

    def pool_stats(self) -> dict[str, int]:
        """The pool's gauges and counters, as psycopg_pool names them (pool_size,
        pool_available, requests_waiting ...), from pymongo's pool events."""
        pool = self.client.options.pool_options
        return self.gauges.stats(pool_min=pool.min_pool_size, pool_max=int(pool.max_pool_size))

    async def close(self) -> None:
        """Close the client; an executor inside a transaction leaves it to its owner."""
        if self.session is None:
            self.state["closed"] = True
            await self.client.close()


def _plain(document: Mapping[str, Any]) -> dict[str, Any]:
    """A result row: Decimal128 as Decimal, like PostgreSQL's NUMERIC."""
    return {
        key: decimal_from_bson(value) if isinstance(value, Decimal128) else value
        for key, value in document.items()
        if key != "tenant_id"  # the scope's, not the entity's
    }
