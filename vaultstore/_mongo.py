"""What the MongoDB backend does without I/O, shared by the async shell and its
generated sync twin: the converter family member for BSON, pymongo errors into
vaultstore's, and the filter that means PostgreSQL's jsonb ``@>``.

Documents mirror the entities: the id is ``_id``, value objects are sub-documents,
money is Decimal128 (exact; the entities already refuse what does not fit),
timestamps are BSON dates (milliseconds, as the entities keep them).
"""

from __future__ import annotations

import linecache
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar, cast

import attrs
import cattrs.preconf.bson
from bson import CodecOptions, Decimal128
from cattrs.gen import make_dict_unstructure_fn, override
from pymongo import errors as mongo_errors
from pymongo import monitoring

from . import _values
from ._convert import EntityConverter, column_field
from ._new_rows import NewRows
from ._settings import Settings
from .errors import (
    CommitUnknownError,
    ConcurrentUpdateError,
    ConflictError,
    DatabaseError,
    NotFoundError,
    OperationTimeoutError,
    StoreClosedError,
    UnavailableError,
    ValidationError,
    VaultStoreError,
)

T = TypeVar("T")

CODEC_OPTIONS: CodecOptions[Any] = CodecOptions(tz_aware=True, tzinfo=UTC)
"""Aware UTC datetimes back from the server, like PostgreSQL's timestamptz."""


_LOW_COEFFICIENT_BITS = (1 << 49) - 1  # the coefficient's top 49 of 113 bits
_EXPONENT_BIAS = 6176
_LARGEST_COEFFICIENT = 10**34 - 1


def decimal_from_bson(value: Decimal128) -> Decimal:
    """``value.to_decimal()``, about five times faster: bson decodes the 128 bits
    in Python digit by digit; here they are read as two ints (IEEE 754 BID: sign,
    14-bit exponent, 113-bit coefficient). NaN, infinities and non-canonical
    encodings, which vaultstore never writes, go to bson."""
    high, low = value.__getstate__()
    coefficient = ((high & _LOW_COEFFICIENT_BITS) << 64) | low
    if (high >> 61) & 0b11 == 0b11 or coefficient > _LARGEST_COEFFICIENT:
        return value.to_decimal()
    exponent = ((high >> 49) & 0x3FFF) - _EXPONENT_BIAS
    return Decimal(f"{'-' if high >> 63 else ''}{coefficient}E{exponent}")


def client_options(settings: Settings) -> tuple[str, dict[str, Any]]:
    """The URI, as written, and the keyword arguments of the store's MongoClient:
    vaultstore's defaults only for the options the URI does not set (pymongo lets a
    keyword override the URI)."""
    pool = settings.pool
    connect_ms = int(pool.connect_timeout * 1000)
    defaults = {
        "maxPoolSize": pool.max_size,
        "minPoolSize": pool.min_size,
        "connectTimeoutMS": connect_ms,
        "serverSelectionTimeoutMS": connect_ms,
        "waitQueueTimeoutMS": connect_ms,
        "maxIdleTimeMS": int(pool.idle_timeout * 1000),
        "appname": "vaultstore",
        # A read whose connection dies is run again by vaultstore, which knows
        # whether the server is down (pymongo's retry would wait out the timeout).
        "retryReads": False,
        # Every operation, a transaction's commit included, ends within this.
        "timeoutMS": max(1, round(pool.operation_timeout * 1000)),
    }
    given = {name.lower() for name in settings.options}
    if given & {"sockettimeoutms", "waitqueuetimeoutms"}:
        # With timeoutMS, pymongo would ignore the URI's older timeouts.
        given.add("timeoutms")
    options = {name: value for name, value in defaults.items() if name.lower() not in given}
    return settings.dsn, {**options, "tz_aware": True, "tzinfo": UTC}


class CausalClock:
    """The latest cluster and operation times a store's calls saw, so that each
    later call runs causally after them (MongoDB's read-your-writes) when the URI
    lets reads go to a secondary (``readPreference``) or read a majority-committed
    view (``readConcernLevel``). A pymongo session must not serve two threads or
    tasks at once, so each call has a causally consistent session of its own,
    advanced to the store's clock: together, a causal session per store."""

    __slots__ = ("_lock", "cluster_time", "operation_time")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.cluster_time: Mapping[str, Any] | None = None
        self.operation_time: Any = None

    @staticmethod
    def needed(client: Any) -> bool:
        """Whether ``client``'s reads could miss a write it just made."""
        level = client.read_concern.level
        return bool(client.read_preference.mode) or level not in (None, "local")

    def start(self, session: Any) -> None:
        """Advance a new session to what this store has seen."""
        with self._lock:
            cluster_time, operation_time = self.cluster_time, self.operation_time
        if cluster_time is not None:
            session.advance_cluster_time(cluster_time)
        if operation_time is not None:
            session.advance_operation_time(operation_time)

    def saw(self, session: Any) -> None:
        """Record what a session saw (the later of its times and the clock's)."""
        cluster_time, operation_time = session.cluster_time, session.operation_time
        with self._lock:
            if cluster_time is not None and (
                self.cluster_time is None
                or cluster_time["clusterTime"] > self.cluster_time["clusterTime"]
            ):
                self.cluster_time = cluster_time
            if operation_time is not None and (
                self.operation_time is None or operation_time > self.operation_time
            ):
                self.operation_time = operation_time


class PoolGauges(monitoring.ConnectionPoolListener):
    """The connection pool's gauges, counted from pymongo's pool events (summed
    over every server's pool), with the names psycopg_pool's ``get_stats()`` uses."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(
            ("open", "in_use", "waiting", "requests", "errors", "opened", "lost", "refused"), 0
        )
        self._wait = 0.0

    def _add(self, **changes: int) -> None:
        with self._lock:
            for name, change in changes.items():
                self._counts[name] += change

    def stats(self, *, pool_min: int, pool_max: int) -> dict[str, int]:
        with self._lock:
            counts = dict(self._counts)
            wait = self._wait
        return {
            "pool_min": pool_min,
            "pool_max": pool_max,
            "pool_size": counts["open"],
            "pool_available": max(0, counts["open"] - counts["in_use"]),
            "requests_waiting": counts["waiting"],
            "requests_num": counts["requests"],
            "requests_errors": counts["errors"],
            "requests_wait_ms": round(wait * 1000),
            "connections_num": counts["opened"],
            "connections_errors": counts["refused"],
            "connections_lost": counts["lost"],
        }

    def pool_created(self, event: monitoring.PoolCreatedEvent) -> None:
        pass

    def pool_ready(self, event: monitoring.PoolReadyEvent) -> None:
        pass

    def pool_cleared(self, event: monitoring.PoolClearedEvent) -> None:
        pass

    def pool_closed(self, event: monitoring.PoolClosedEvent) -> None:
        pass

    def connection_created(self, event: monitoring.ConnectionCreatedEvent) -> None:
        self._add(open=1, opened=1)

    def connection_ready(self, event: monitoring.ConnectionReadyEvent) -> None:
        pass

    def connection_closed(self, event: monitoring.ConnectionClosedEvent) -> None:
        lost = event.reason in (monitoring.ConnectionClosedReason.ERROR,)
        self._add(open=-1, lost=int(lost))

    def connection_check_out_started(
        self, event: monitoring.ConnectionCheckOutStartedEvent
    ) -> None:
        self._add(waiting=1, requests=1)

    def connection_check_out_failed(self, event: monitoring.ConnectionCheckOutFailedEvent) -> None:
        refused = event.reason == monitoring.ConnectionCheckOutFailedReason.CONN_ERROR
        with self._lock:
            self._wait += event.duration or 0.0
        self._add(waiting=-1, errors=1, refused=int(refused))

    def connection_checked_out(self, event: monitoring.ConnectionCheckedOutEvent) -> None:
        with self._lock:
            self._wait += event.duration or 0.0
        self._add(waiting=-1, in_use=1)

    def connection_checked_in(self, event: monitoring.ConnectionCheckedInEvent) -> None:
        self._add(in_use=-1)


def connection_lost(exc: BaseException | None) -> bool:
    """Whether ``exc`` says the connection broke (not that an operation or a server
    selection ran out of time)."""
    return isinstance(exc, mongo_errors.AutoReconnect) and not isinstance(
        exc, mongo_errors.NetworkTimeout | mongo_errors.ServerSelectionTimeoutError
    )


def _enum_of(field_type: Any) -> type[Enum] | None:
    for candidate in getattr(field_type, "__args__", (field_type,)):
        if isinstance(candidate, type) and issubclass(candidate, Enum):
            return candidate
    return None


def _is_decimal(field_type: Any) -> bool:
    return Decimal in getattr(field_type, "__args__", (field_type,))


def _optional(field_type: Any) -> bool:
    return type(None) in getattr(field_type, "__args__", ())


class MongoConverter(EntityConverter):
    """The converter family member for BSON, on cattrs' bson preconfiguration:
    Decimal <-> Decimal128, enums as their values, ``id`` as ``_id``."""

    def __init__(self) -> None:
        super().__init__()
        cattrs.preconf.bson.configure_converter(self)
        self.register_unstructure_hook(Decimal, Decimal128)
        self.register_unstructure_hook_func(
            lambda t: isinstance(t, type) and issubclass(t, Enum), lambda e: e.value
        )
        self._loaders: dict[type, Callable[[Mapping[str, Any]], Any]] = {}  # type: ignore[assignment]
        self._documents: dict[type, Callable[[Any], dict[str, Any]]] = {}
        self._row_documents: dict[type, Callable[[Sequence[Any]], dict[str, Any]]] = {}

    def document(self, entity: Any) -> dict[str, Any]:
        """The BSON document of an entity."""
        cls = type(entity)
        fn = self._documents.get(cls)
        if fn is None:
            fn = self._documents[cls] = make_dict_unstructure_fn(
                cls, self, _cattrs_include_init_false=True, id=override(rename="_id")
            )
        return fn(entity)

    def row_documents(self, new: NewRows) -> list[dict[str, Any]]:
        """The BSON documents of new entities given as rows (what ``document``
        gives for each entity), by a function generated once per entity."""
        fn = self._row_documents.get(new.cls)
        if fn is None:
            fn = self._row_documents[new.cls] = self._make_row_document(new.cls, new.columns)
        return list(map(fn, new))

    def _make_row_document(
        self, cls: type, columns: tuple[str, ...]
    ) -> Callable[[Sequence[Any]], dict[str, Any]]:
        position = {name: i for i, name in enumerate(columns)}
        bound: dict[str, Any] = {"_decimal128": Decimal128}

        def document(cl: type, prefix: str) -> str:
            items = []
            for field in attrs.fields(attrs.resolve_types(cl)):
                key = "_id" if (field.name == "id" and not prefix) else field.name
                if isinstance(field.type, type) and attrs.has(field.type):
                    expr = document(field.type, f"{prefix}{field.name}_")
                else:
                    expr = f"row[{position[prefix + field.name]}]"
                    if _is_decimal(field.type):
                        value = f"_decimal128({expr})"
                        expr = (
                            f"(None if {expr} is None else {value})"
                            if _optional(field.type)
                            else value
                        )
                items.append(f"{key!r}: {expr}")
            return "{" + ", ".join(items) + "}"

        name = f"document_of_{cls.__name__}_row"
        defaults = ", ".join(f"{key}={key}" for key in bound)
        source = f"def {name}(row, {defaults}):\n    return {document(cls, '')}\n"
        filename = f"<vaultstore generated {name}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        namespace = dict(bound)
        exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - generated from attrs fields
        return cast("Callable[[Sequence[Any]], dict[str, Any]]", namespace[name])

    def value(self, value: Any) -> Any:
        """A single value as it is stored (a Decimal as Decimal128, an enum as its
        value); new entities' rows as their documents."""
        if isinstance(value, Decimal):
            return Decimal128(value)
        if isinstance(value, Enum):
            return value.value
        if isinstance(value, NewRows):
            return self.row_documents(value)
        return value

    def document_loader(self, cls: type[T]) -> Callable[[Mapping[str, Any]], T]:
        """A function building ``cls`` from its document, generated once. Like the
        row loaders, it trusts what the database's validator let in."""
        loader = self._loaders.get(cls)
        if loader is None:
            loader = self._loaders[cls] = self._make_document_loader(cls)
        return cast("Callable[[Mapping[str, Any]], T]", loader)

    def _make_document_loader(self, cls: type) -> Callable[[Mapping[str, Any]], Any]:
        bound: dict[str, Any] = {"_new": object.__new__}
        body: list[str] = []

        def build(cl: type, source: str, var: str) -> None:
            bound[f"_cls_{var}"] = cl
            body.append(f"    {var} = _new(_cls_{var})")
            for field in attrs.fields(attrs.resolve_types(cl)):
                setter = f"_set_{var}_{field.name}"
                bound[setter] = cl.__dict__[field.name].__set__
                key = "_id" if (field.name == "id" and source == "doc") else field.name
                raw = f"{source}[{key!r}]"
                if field.default is not attrs.NOTHING and not isinstance(
                    field.default,
                    attrs.Factory,  # type: ignore[arg-type]
                ):
                    # A document stored before the field existed (version, added by
                    # migration 0010) reads as the field's default, in its BSON form.
                    default = f"_default_{var}_{field.name}"
                    bound[default] = self.value(field.default)
                    raw = f"{source}.get({key!r}, {default})"
                if isinstance(field.type, type) and attrs.has(field.type):
                    child = f"{var}_{field.name}"
                    body.append(f"    {child}_doc = {raw}")
                    build(field.type, f"{child}_doc", child)
                    expr = child
                elif _is_decimal(field.type):
                    bound["_decimal"] = decimal_from_bson
                    expr = f"_decimal({raw})"
                    if _optional(field.type):
                        expr = f"(None if {raw} is None else {expr})"
                elif (enum := _enum_of(field.type)) is not None:
                    members = f"_members_{enum.__name__}"
                    bound[members] = enum._value2member_map_
                    expr = f"{members}[{raw}]"
                    if _optional(field.type):
                        expr = f"(None if {raw} is None else {expr})"
                else:
                    expr = raw
                body.append(f"    {setter}({var}, {expr})")

        build(cls, "doc", "e")
        name = f"load_{cls.__name__}_document"
        defaults = ", ".join(f"{key}={key}" for key in bound)
        source = f"def {name}(doc, {defaults}):\n" + "\n".join(body) + "\n    return e\n"
        filename = f"<vaultstore generated {name}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        namespace = dict(bound)
        exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - generated from attrs fields
        return cast("Callable[[Mapping[str, Any]], Any]", namespace[name])


# -- errors ----------------------------------------------------------------------------

_DUPLICATE_KEY = 11000
_VALIDATION_FAILED = 121
_WRITE_CONFLICT = 112
_MAX_TIME_EXPIRED = 50


def _schema_fields(rules: Any, prefix: str = "") -> Iterator[str]:
    """Field paths in the ``schemaRulesNotSatisfied`` part of a $jsonSchema failure."""
    for rule in rules if isinstance(rules, list) else [rules]:
        if not isinstance(rule, Mapping):
            continue
        for failed in rule.get("propertiesNotSatisfied", ()):
            path = f"{prefix}{failed['propertyName']}"
            nested = list(_schema_fields(failed.get("details", ()), f"{path}."))
            yield from nested or [path]
        for name in rule.get("missingProperties", ()):
            yield f"{prefix}{name}"
        for name in rule.get("additionalProperties", ()):
            yield f"{prefix}{name}"
        for key in ("schemaRulesNotSatisfied", "details"):
            if key in rule:
                yield from _schema_fields(rule[key], prefix)


def validator_clauses(validator: object) -> tuple[Mapping[str, Any], ...]:
    """The top-level ``$and`` clauses of a collection's validator."""
    if not isinstance(validator, Mapping):
        return ()
    return tuple(validator.get("$and", (validator,)))


def _clause_field(clause: Mapping[str, Any]) -> str | None:
    """The field a validator clause guards: its ``$comment``, else its first field."""
    if "$comment" in clause:
        return str(clause["$comment"])
    for key, value in clause.items():
        if not key.startswith("$"):
            return key
        if key == "$expr" and isinstance(value, Mapping):
            for operands in value.values():
                for operand in operands if isinstance(operands, list) else [operands]:
                    if isinstance(operand, str) and operand.startswith("$"):
                        return operand[1:]
    return None


def failing_field(clauses: Sequence[Mapping[str, Any]], info: Mapping[str, Any]) -> str | None:
    """The entity field named by a validation failure's errInfo, given the
    clauses of the collection's validator (:func:`validator_clauses`)."""
    details = info.get("details", info)
    failed = details.get("clausesNotSatisfied", []) if details.get("operatorName") == "$and" else []
    if not failed:
        failed = [{"index": None, "details": details}]
    for clause in failed:
        inner = clause.get("details", {})
        if inner.get("operatorName") == "$jsonSchema":
            found = next(_schema_fields(inner.get("schemaRulesNotSatisfied", ())), None)
            if found:
                return found
            continue
        index = clause.get("index")
        if isinstance(index, int) and index < len(clauses):
            found = _clause_field(clauses[index])
            if found:
                return found
        specified = inner.get("specifiedAs")
        if isinstance(specified, Mapping):
            found = _clause_field(specified)
            if found:
                return found
    return None


def translate(  # noqa: PLR0911 - one return per kind of error reads best
    exc: BaseException,
    *,
    settings: Settings,
    entity: type | None = None,
    clauses: Sequence[Mapping[str, Any]] = (),
    closed: bool = False,
) -> VaultStoreError:
    """The vaultstore error for a pymongo exception (raise it ``from exc``); a
    validator's refusal names the field, read off ``clauses`` (those of the
    collection's validator) where the server's report does not say. ``closed``:
    the store was closed, and pymongo's refusal to run says so."""
    if isinstance(exc, VaultStoreError):
        return exc
    name = entity.__name__ if entity is not None else "document"
    details: Mapping[str, Any] = {}
    code = getattr(exc, "code", None)
    if isinstance(exc, mongo_errors.BulkWriteError):
        # insert_many (unordered): the failed write of the lowest index says why.
        write_errors = (exc.details or {}).get("writeErrors") or [{}]
        details = min(write_errors, key=lambda error: error.get("index", 0))
        code = details.get("code")
    elif isinstance(exc, mongo_errors.WriteError | mongo_errors.OperationFailure):
        details = exc.details or {}  # find_one_and_update reports an OperationFailure
    if code == _DUPLICATE_KEY:
        index = details.get("keyPattern")
        return ConflictError(
            f"{name} conflicts with a stored one (unique index on {index})", code=_DUPLICATE_KEY
        )
    if code == _VALIDATION_FAILED:
        field = failing_field(clauses, details.get("errInfo", {}))
        return ValidationError(
            "refused by the collection's validator", field=field, code=_VALIDATION_FAILED
        )
    if isinstance(exc, mongo_errors.PyMongoError) and exc.has_error_label(
        "UnknownTransactionCommitResult"
    ):
        return CommitUnknownError(
            f"the commit's outcome is unknown (read the state before trying again): "
            f"{settings.scrub(str(exc))}",
            code=code,
        )
    if isinstance(exc, mongo_errors.ExecutionTimeout) or code == _MAX_TIME_EXPIRED:
        # The server cancelled it: nothing was kept. (A timeout on the client's
        # side is a lost connection: an UnavailableError below.)
        return OperationTimeoutError(
            f"not done within the operation timeout ({settings.pool.operation_timeout:g} s): "
            f"{settings.scrub(str(exc))}",
            code=code,
        )
    if isinstance(exc, mongo_errors.ConnectionFailure | mongo_errors.ServerSelectionTimeoutError):
        return UnavailableError(
            f"database {settings} unavailable: {settings.scrub(str(exc))}",
        )
    if isinstance(exc, mongo_errors.OperationFailure) and (
        exc.code == _WRITE_CONFLICT or exc.has_error_label("TransientTransactionError")
    ):
        return ConcurrentUpdateError(
            f"concurrent update, try again: {settings.scrub(str(exc))}", code=exc.code
        )
    if closed and isinstance(exc, mongo_errors.InvalidOperation):
        return StoreClosedError(f"the store on {settings} is closed")
    if isinstance(exc, mongo_errors.PyMongoError):
        code = getattr(exc, "code", None)
        return DatabaseError(f"{type(exc).__name__}: {settings.scrub(str(exc))}", code=code)
    return DatabaseError(settings.scrub(f"{type(exc).__name__}: {exc}"))


_NOT_ARRAY = {"$not": {"$type": "array"}}


def containment_filter(path: str, value: Any) -> dict[str, Any]:
    """A filter that holds where the JSON at ``path`` contains ``value`` as
    PostgreSQL's jsonb ``@>`` defines it: an object holds the given keys with
    contained values, an array holds each given element, a scalar is equal.
    MongoDB's own matching would also let a scalar match inside an array and null
    match a missing key, so types are pinned at every level."""

    def at(key: str) -> str:
        return f"{path}.{key}" if path else key

    if isinstance(value, Mapping):
        filter: dict[str, Any] = {path: {"$type": "object", **_NOT_ARRAY}} if path else {}
        for key, item in value.items():
            filter.update(containment_filter(at(key), item))
        return filter
    if isinstance(value, list):
        elements = []
        for item in value:
            if isinstance(item, Mapping):
                match = containment_filter("", item) or {"$type": "object"}
            elif isinstance(item, list):
                match = {"$type": "array"}
            elif item is None:
                match = {"$type": "null"}
            else:
                match = {"$eq": item, **_NOT_ARRAY}
            elements.append({"$elemMatch": match})
        return {path: {"$type": "array", **({"$all": elements} if elements else {})}}
    if value is None:
        return {path: {"$type": "null"}}
    return {path: {"$eq": value, **_NOT_ARRAY}}


def referenced_missing(entity: type, field: str, id: str) -> NotFoundError:
    """What PostgreSQL's foreign keys report, for a reference MongoDB checks itself."""
    flat = column_field(entity, field) or field
    return NotFoundError(
        f"{flat} names no stored row: {_values.shown(id)} is not there",
        entity=entity.__name__,
        code=None,
    )
