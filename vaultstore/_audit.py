"""The audit trail's I/O-free parts: the changes of a write as both backends
record them, and a stored record (a row of ``audit_log`` or a document of the
``audit_log`` collection) made into an :class:`AuditRecord`.

Both backends keep the same record: PostgreSQL's trigger ``vaultstore_audit``
(migration 0016) computes the changes from the row before and after, MongoDB's
executor from the document before and after (:func:`changes_between`), each by
column name (a value object's fields flattened, ``collateral_amount``), leaving
out :data:`LEFT_OUT` and the fields null on both sides.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypedDict

import attrs
from bson.decimal128 import Decimal128

from . import _values
from ._convert import flat_columns, from_json, leaf_fields
from ._entities import AuditRecord, FieldChange, StoredDocument, WriteKind
from ._ids import new_id
from ._mongo import decimal_from_bson
from ._registry import EntityType, Registry

LEFT_OUT = frozenset({"id", "tenant_id", "version", "created_at", "updated_at"})
"""Fields no change lists: the record says id and versions itself, and every
write changes updated_at."""
DOCUMENTS = "documents"
"""The ``entity_type`` of a stored document's records."""
AUDIT_LOG = "audit_log"
"""The MongoDB collection of the records (PostgreSQL's table has the same name)."""


class _NoFields(TypedDict):
    pass


AUDIT = EntityType(
    name="audit", cls=AuditRecord, table="audit_log", new=_NoFields, changes=_NoFields
)
"""What the store's audit reads run on (``queries/audit.sql``,
``queries/audit.mongodb.json``): not a registered entity, which the store would
give a repository of create, update and delete."""


def entity_class(registry: Registry, entity_type: str) -> type | None:
    """The class whose fields a record of ``entity_type`` lists."""
    if entity_type == DOCUMENTS:
        return StoredDocument
    for entity in registry:
        if entity.name == entity_type:
            return entity.cls
    return None


@functools.cache
def column_types(cls: type) -> dict[str, Any]:
    """Each column of ``cls``'s table with its field's type."""
    return {"_".join(path): field.type for path, field in leaf_fields(cls)}


@functools.cache
def _document_paths(cls: type) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Each column of ``cls``'s table with its path in a MongoDB document."""
    return tuple(
        (column, ("_id", *path[1:]) if path[0] == "id" else path)
        for column, path in flat_columns(cls)
    )


def _at(document: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = document
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def plain(value: Any) -> Any:
    """A BSON value with Decimal128 as Decimal, at any depth."""
    if isinstance(value, Decimal128):
        return decimal_from_bson(value)
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def flat_document(document: Mapping[str, Any], cls: type) -> dict[str, Any]:
    """A MongoDB document of ``cls`` as the columns of its PostgreSQL row (``_id`` as
    ``id``, a value object's sub-document flattened, Decimal128 as Decimal); absent
    fields as None."""
    return {column: plain(_at(document, path)) for column, path in _document_paths(cls)}


def _document_changes(
    before: Mapping[str, Any], after: Mapping[str, Any], cls: type
) -> dict[str, dict[str, Any]]:
    """:func:`changes_between` the flat rows of two documents, without flattening
    the fields an update left as they were (equal BSON values are equal rows'
    values)."""
    changes: dict[str, dict[str, Any]] = {}
    for column, path in _document_paths(cls):
        if column in LEFT_OUT:
            continue
        was, now = _at(before, path), _at(after, path)
        if was is not now and was != now and (was := plain(was)) != (now := plain(now)):
            changes[column] = {"old": was, "new": now}
    return changes


def changes_between(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> dict[str, dict[str, Any]]:
    """What the trigger ``vaultstore_audit`` computes, from two flat rows (either
    None: an insert, a delete): ``{column: {"old": ..., "new": ...}}`` for every
    column whose value differs, but those of :data:`LEFT_OUT`."""
    old = before or {}
    new = after or {}
    changes: dict[str, dict[str, Any]] = {}
    for column in new or old:
        if column in LEFT_OUT:
            continue
        was, now = old.get(column), new.get(column)
        if was != now:
            changes[column] = {"old": was, "new": now}
    return changes


def _version(document: Mapping[str, Any], cls: type) -> int | None:
    """A stored document's version (1 when it has none yet, as the updates count
    it); None for a class without versions (a stored document)."""
    if "version" not in attrs.fields_dict(cls):
        return None
    return int(document.get("version", 1))


def write_change(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None, cls: type
) -> dict[str, Any] | None:
    """What the record of one MongoDB document's write says of it, from the document
    before and after (None: inserted, deleted), as ``vaultstore_audit`` says it of a
    row: ``write_kind``, ``entity_id``, the versions and ``changes`` (values plain:
    Decimal, not Decimal128). None for a write that changed no field and no version
    (``lock()``'s, which sets ``_locked_at`` only)."""
    if before is None and after is None:
        return None
    if before is not None and after is not None:
        changes = _document_changes(before, after, cls)
    else:
        changes = changes_between(
            None if before is None else flat_document(before, cls),
            None if after is None else flat_document(after, cls),
        )
    version_before = None if before is None else _version(before, cls)
    version_after = None if after is None else _version(after, cls)
    kind = WriteKind.INSERT if before is None else WriteKind.DELETE if after is None else None
    if kind is None:
        if not changes and version_before == version_after:
            return None
        kind = WriteKind.UPDATE
    stored = after if after is not None else before
    assert stored is not None
    return {
        "write_kind": kind.value,
        "entity_id": stored["_id"],
        "version_before": version_before,
        "version_after": version_after,
        "changes": changes,
    }


def record_document(
    *,
    tenant: str,
    actor: str | None,
    operation: str,
    entity_type: str,
    change: Mapping[str, Any],
    written_at: datetime | None = None,
    row_count: int = 1,
) -> dict[str, Any]:
    """A document of the ``audit_log`` collection, its fields named as PostgreSQL's
    columns: ``change`` is :func:`write_change`'s (its ``changes`` as BSON), or a
    batch's :func:`batch_change`."""
    return {
        "_id": new_id(),
        "tenant_id": tenant,
        "written_at": written_at or _values.utc_now(),
        "actor": actor,
        "operation_name": operation,
        "write_kind": change["write_kind"],
        "entity_type": entity_type,
        "entity_id": change["entity_id"],
        "version_before": change["version_before"],
        "version_after": change["version_after"],
        "changes": change["changes"],
        "row_count": row_count,
    }


def batch_change(kind: WriteKind) -> dict[str, Any]:
    """What a batch's one record says of its rows: only how many (``row_count``)."""
    return {
        "write_kind": kind.value,
        "entity_id": None,
        "version_before": None,
        "version_after": None,
        "changes": {},
    }


def stored_document_fields(document: StoredDocument) -> dict[str, Any]:
    """A stored document as :func:`flat_document` reads an entity's document (its
    owner type as the value PostgreSQL's row holds), for :func:`write_change`."""
    fields = attrs.asdict(document, recurse=False)
    fields["_id"] = fields.pop("id")
    fields["owner_type"] = document.owner_type.value
    return fields


def parse_changes(text: str) -> Any:
    """``changes`` as PostgreSQL gives it (jsonb as text): numbers exact."""
    return json.loads(text, parse_float=Decimal)


def audit_record(row: Mapping[str, Any], tenant: str, registry: Registry) -> AuditRecord:
    """A stored record, as either backend gives it back (its ``changes`` parsed),
    made into an :class:`AuditRecord`."""
    entity_type = row["entity_type"]
    cls = entity_class(registry, entity_type)
    types = column_types(cls) if cls is not None else {}
    changes = {
        column: FieldChange(
            from_json(change.get("old"), types.get(column, Any)),
            from_json(change.get("new"), types.get(column, Any)),
        )
        for column, change in sorted(row["changes"].items())
    }
    written_at = row["written_at"]
    if written_at.tzinfo is None:
        written_at = written_at.replace(tzinfo=UTC)
    return AuditRecord(
        id=str(row["id"] if "id" in row else row["_id"]),
        at=_values.to_utc(written_at),
        tenant=tenant,
        actor=row["actor"],
        operation=row["operation_name"],
        action=WriteKind(row["write_kind"]),
        entity_type=entity_type,
        entity_id=row["entity_id"],
        version_before=row["version_before"],
        version_after=row["version_after"],
        changes=changes,
        count=row["row_count"],
    )


def audit_key(record: AuditRecord) -> tuple[object, ...]:
    """The keyset position of a record: (at, id)."""
    return (record.at, record.id)
