"""The change feed's I/O-free parts: what an event is, its resume token, the
entity types a feed asks for, rows and change-stream documents made into events,
and how a PostgreSQL reader decides which outbox rows it may deliver.

A feed is ``store.watch(*entity_types, resume_after=None)``: on PostgreSQL it
reads the outbox ``change_feed`` (migration 0017) by position, woken by
``LISTEN``; on MongoDB it follows a change stream. Both give the same events, in
the same order per entity; see "Change feed" in the README for the guarantees.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

import attrs

from ._convert import to_json
from ._entities import WriteKind
from ._registry import EntityType, Registry
from .errors import ValidationError

__all__ = ["ChangeEvent"]

SHARED_TENANT = "*"
"""The tenant_id of an outbox row of shared data (market data): every tenant's."""
CHANNEL = "vaultstore_changes"
"""What the outbox trigger notifies (queries/changes.sql listens to it)."""
_POSTGRES = "pg."
_MONGODB = "mongo."
_HEX = re.compile(r"[0-9A-Fa-f]{2,4096}")
_LOCK_FIELDS = frozenset({"_locked_at", "updated_at"})
"""What MongoDB's lock() writes: no change to the entity (PostgreSQL's lock is a
SELECT ... FOR UPDATE, which writes nothing)."""


@attrs.frozen
class ChangeEvent:
    """One committed write to one entity, as ``store.watch()`` delivers it.

    Delivered at least once: after a reconnect the feed resumes from the last
    token it delivered, so an event may come again; ``(entity_type, id,
    version)`` tells a repeat."""

    entity_type: str
    """The entity's registry name: ``"vaults"``."""
    operation: WriteKind
    id: str
    version: int | None
    """The entity's version after the write; for a delete, the version it had
    (None on MongoDB when the document's pre-image was not kept)."""
    tenant: str | None
    """The tenant the entity belongs to; None for shared data (market data)."""
    entity: Any
    """The entity as the write left it; None for a delete."""
    resume_token: str = attrs.field(repr=False)
    """Opaque: ``store.watch(..., resume_after=token)`` goes on after this event."""


def postgres_token(position: int) -> str:
    return f"{_POSTGRES}{position}"


def mongodb_token(token: Mapping[str, Any]) -> str:
    return f"{_MONGODB}{token['_data']}"


def parse_token(token: object, backend: str) -> Any:
    """A resume token as the backend takes it (a position; a change stream's
    ``{"_data": ...}``), or None for none; ValidationError before any I/O for
    anything else, a token of the other backend included."""
    if token is None:
        return None
    if isinstance(token, str):
        if backend == "postgresql" and token.startswith(_POSTGRES):
            digits = token[len(_POSTGRES) :]
            if digits.isdigit() and len(digits) <= 19:
                return int(digits)
        if backend == "mongodb" and token.startswith(_MONGODB):
            data = token[len(_MONGODB) :]
            if _HEX.fullmatch(data):
                return {"_data": data}
    raise ValidationError(
        f"expected a resume token of a {backend} feed (an event's resume_token)",
        field="resume_after",
    )


def entity_types(registry: Registry, wanted: Iterable[object]) -> tuple[EntityType, ...]:
    """The registry entries ``wanted`` names (registry names or classes); every
    entity when none. ValidationError for anything else."""
    entries = list(registry)
    chosen: list[EntityType] = []
    for item in wanted:
        found = next((e for e in entries if item in (e.name, e.cls)), None)
        if found is None:
            names = ", ".join(e.name for e in entries)
            raise ValidationError(
                f"expected an entity's name ({names}) or its class, got {item!r:.80}",
                field="entity_types",
            )
        if found not in chosen:
            chosen.append(found)
    return tuple(chosen) or tuple(entries)


def postgres_event(
    row: Sequence[Any], by_name: Mapping[str, EntityType], converter: Any, tenant: str
) -> ChangeEvent | None:
    """An outbox row (``changes.read_after``'s columns) made into a
    :class:`ChangeEvent`; None for an entity this feed does not watch, or another
    tenant's (which row-level security hides, but not from a superuser)."""
    position, owner, entity_type, kind, entity_id, version, after = row
    entry = by_name.get(entity_type)
    if entry is None or owner not in (tenant, SHARED_TENANT):
        return None
    entity = None
    if after is not None:
        document = json.loads(after, parse_float=Decimal)
        entity = converter.json_columns(entry.cls).load_object(document)
    return ChangeEvent(
        entity_type=entity_type,
        operation=WriteKind(kind),
        id=entity_id,
        version=version,
        tenant=None if owner == SHARED_TENANT else owner,
        entity=entity,
        resume_token=postgres_token(position),
    )


# -- PostgreSQL: which rows may be delivered -----------------------------------------


@attrs.define
class Positions:
    """Where a PostgreSQL reader stands: the outbox positions are taken in order
    but committed in any order, so a row read past a missing position may not be
    delivered yet (the missing one may commit later; delivering past it would
    skip it for good). Rows are delivered contiguously; at a gap the reader asks
    which transactions are in progress (every missing position up to ``horizon``,
    the last one read, was taken by one of them or is never coming: rolled back,
    another tenant's, unused), waits until none of them is, reads once more, and
    only then steps over what is still missing."""

    last: int
    """The last position delivered (or stepped over)."""
    horizon: int | None = None
    """A gap is being waited out: the last position read when it was seen."""
    xids: tuple[str, ...] = ()
    """The transactions in progress after the gap was seen."""
    settled: bool = False
    """None of ``xids`` is in progress any more: the next read decides."""

    def accept(self, rows: Sequence[Sequence[Any]], complete: bool) -> tuple[list[Any], bool]:
        """The rows (in position order, each starting with its position) that may be
        delivered now, and whether a gap holds back the rest. ``complete``: the
        read returned every row after ``last`` (it was not cut by its limit)."""
        out: list[Any] = []
        i = 0
        if self.settled and self.horizon is not None:
            # Read after every transaction that could fill the gap had finished:
            # what is still missing up to the horizon never comes.
            while i < len(rows) and rows[i][0] <= self.horizon:
                out.append(rows[i])
                self.last = rows[i][0]
                i += 1
            if complete or i < len(rows):
                self.last = max(self.last, self.horizon)
                self.end_gap()
        while i < len(rows) and rows[i][0] == self.last + 1:
            out.append(rows[i])
            self.last += 1
            i += 1
        if self.horizon is not None and self.horizon <= self.last:
            self.end_gap()
        return out, i < len(rows)

    def gap(self, rows: Sequence[Sequence[Any]], xids: Sequence[str]) -> None:
        """A gap was seen in ``rows``; ``xids`` are the transactions in progress
        since (read after ``rows``)."""
        self.horizon = rows[-1][0]
        self.xids = tuple(xids)
        self.settled = not self.xids

    def end_gap(self) -> None:
        self.horizon, self.xids, self.settled = None, (), False


# -- MongoDB: change stream documents -------------------------------------------------


def _post_image(before: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any] | None:
    """The document after an update, from the one before (its pre-image) and the
    event's update description; None when it cannot be worked out (arrays cut)."""
    if update.get("truncatedArrays"):
        return None
    after = dict(before)
    for path, value in update.get("updatedFields", {}).items():
        _set(after, path.split("."), value)
    for path in update.get("removedFields", ()):
        _unset(after, path.split("."))
    return after


def _set(document: dict[str, Any], path: list[str], value: Any) -> None:
    if len(path) == 1:
        document[path[0]] = value
        return
    child = document.get(path[0])
    child = dict(child) if isinstance(child, Mapping) else {}
    document[path[0]] = child
    _set(child, path[1:], value)


def _unset(document: dict[str, Any], path: list[str]) -> None:
    if len(path) == 1:
        document.pop(path[0], None)
        return
    child = document.get(path[0])
    if isinstance(child, Mapping):
        child = document[path[0]] = dict(child)
        _unset(child, path[1:])


def _version(document: Mapping[str, Any] | None) -> int | None:
    if document is None or document.get("version") is None:
        return None
    return int(document["version"])


_OPERATIONS = {
    "insert": WriteKind.INSERT,
    "update": WriteKind.UPDATE,
    "replace": WriteKind.UPDATE,
    "delete": WriteKind.DELETE,
}


def mongodb_event(
    change: Mapping[str, Any], by_table: Mapping[str, EntityType], load: Any
) -> ChangeEvent | None:
    """A change stream document made into a :class:`ChangeEvent`, or None for one
    that is no change of an entity (another collection, or lock()'s write).

    The version comes from the change itself (the inserted document, the update's
    fields, the pre-image of a delete). The entity after an update is the
    pre-image with the update applied, exact; without a pre-image it is
    ``updateLookup``'s document, read later and possibly newer (or None if deleted
    since)."""
    entry = by_table.get(change.get("ns", {}).get("coll", ""))
    kind = change.get("operationType")
    if entry is None or kind not in ("insert", "update", "replace", "delete"):
        return None
    before = change.get("fullDocumentBeforeChange")
    document: Mapping[str, Any] | None
    if kind == "delete":
        document, version = None, _version(before)
    elif kind == "update":
        update = change.get("updateDescription", {})
        touched = set(update.get("updatedFields", {})) | set(update.get("removedFields", ()))
        if touched <= _LOCK_FIELDS:
            return None
        document = _post_image(before, update) if before is not None else None
        if document is None:
            document = change.get("fullDocument")
        fields = update.get("updatedFields", {})
        version = int(fields["version"]) if "version" in fields else _version(document)
    else:
        document = change.get("fullDocument")
        version = _version(document)
    owner = document if document is not None else before
    tenant = None if entry.shared or owner is None else owner.get("tenant_id")
    return ChangeEvent(
        entity_type=entry.name,
        operation=_OPERATIONS[kind],
        id=str(change["documentKey"]["_id"]),
        version=version,
        tenant=tenant,
        entity=None if document is None else load(entry.cls)(document),
        resume_token=mongodb_token(change["_id"]),
    )


def mongodb_pipeline(watched: Sequence[EntityType], tenant: str | None) -> list[dict[str, Any]]:
    """The change stream's ``$match``: the watched collections' writes, and with a
    tenant, only its documents' (by the document after, or before: a delete's
    pre-image) and shared data's."""
    match: dict[str, Any] = {
        "ns.coll": {"$in": [e.table for e in watched]},
        "operationType": {"$in": ["insert", "update", "replace", "delete"]},
    }
    if tenant is not None:
        shared = [e.table for e in watched if e.shared]
        match["$or"] = [
            {"fullDocument.tenant_id": tenant},
            {"fullDocumentBeforeChange.tenant_id": tenant},
            {"ns.coll": {"$in": shared}},
        ]
    return [{"$match": match}]


def event_json(event: ChangeEvent) -> dict[str, Any]:
    """An event as ``vaultstore watch`` prints it: JSON values, Decimals as
    strings (every digit), times in ISO 8601, enums as their values."""
    return {
        "entity_type": event.entity_type,
        "operation": event.operation.value,
        "id": event.id,
        "version": event.version,
        "tenant": event.tenant,
        "entity": None if event.entity is None else to_json(attrs.asdict(event.entity)),
        "resume_token": event.resume_token,
    }


RETENTION_ENV = "VAULTSTORE_CHANGES_RETENTION"
"""How long ``vaultstore prune-changes`` keeps changes when not told: a duration."""
DEFAULT_RETENTION = timedelta(days=3)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str, field: str = "older_than") -> timedelta:
    """``"7d"``, ``"12h"``, ``"30m"`` (minutes), ``"90s"``, ``"2w"``: a positive
    duration; ValidationError naming ``field`` otherwise."""
    match = _DURATION.match(text) if isinstance(text, str) else None
    seconds = float(match.group(1)) * _UNITS[match.group(2)] if match else 0.0
    if seconds <= 0:
        raise ValidationError(
            f"expected a duration such as 7d, 12h, 30m or 90s, got {text!r:.40}", field=field
        )
    return timedelta(seconds=seconds)
