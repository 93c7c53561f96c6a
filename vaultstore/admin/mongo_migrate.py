"""``vaultstore migrate`` for MongoDB: the steps of ``migrations/mongodb`` applied in
order and recorded in the ``vaultstore_migrations`` collection (id, checksum,
time), so that an operator can see which version a database is at. Applying a
step creates its collections with their validators (or updates the validators)
and creates its indexes; doing it twice changes nothing.

A step is a JSON object (MongoDB extended JSON)::

    {"description": "...",
     "collections": {"agents": {"validator": {...}, "indexes": [INDEX, ...]}},
     "indexes": {"documents.files": [INDEX, ...]}}

where an ``INDEX`` is ``{"name": ..., "keys": {"field": 1, ...}}`` plus any
``create_index`` options (``unique``, ``partialFilterExpression`` ...).
``"collections"`` are the collections the step creates: rolling it back drops
them, documents and all. ``"indexes"`` are indexes on collections the step does
not create, such as GridFS's ``documents.files`` and ``documents.chunks`` (the
driver makes them on the first write): applying creates the indexes (and an
empty collection if there is none yet), rolling back drops only those indexes.
``"drop_indexes"`` are indexes a step replaces, written in full: applying drops
them after creating the step's own (so that a unique rule is never left
unchecked), rolling back makes them again before dropping the step's.
``"fields"`` are fields a step adds to collections that exist::

    "fields": {"agents": {"tenant_id": {"existing": "default", "schema": {...}}}}

applying gives the documents that lack the field the value ``existing`` (without
``existing``, the field is only required: the documents have it), then sets
the validator the steps so far make (:func:`vaultstore._resources.validators_after`:
the latest full validator and a ``$jsonSchema`` clause requiring each added field);
rolling back sets the validator the earlier steps made (none for a collection they
gave none, such as GridFS's), then removes the fields it gave values from every
document. Any key
may be left out."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pymongo import MongoClient
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import OperationFailure, PyMongoError

from .._mongo import CODEC_OPTIONS, client_options, translate
from .._resources import MIGRATIONS_RECORD, SchemaStep, schema_steps, validators_after
from .._settings import Settings
from .._values import utc_now
from ..errors import UnavailableError

logger = logging.getLogger("vaultstore.migrations")
RECORD = MIGRATIONS_RECORD
_NAMESPACE_NOT_FOUND = 26
_INDEX_NOT_FOUND = 27


@contextmanager
def _database(settings: Settings) -> Iterator[Database[Any]]:
    uri, options = client_options(settings)
    options.pop("timeoutMS", None)  # an index build may take longer than an operation
    client: MongoClient[Any] = MongoClient(uri, **options)
    try:
        yield client.get_database(settings.database, codec_options=CODEC_OPTIONS)
    except PyMongoError as exc:
        error = translate(exc, settings=settings)
        if isinstance(error, UnavailableError):
            raise error from None
        raise error from exc
    finally:
        client.close()


def _folder(folder: Path | None) -> Path | None:
    return None if folder is None else folder / "mongodb"


def _create_indexes(collection: Collection[Any], indexes: Iterable[Mapping[str, Any]]) -> None:
    for index in indexes:
        options = {k: v for k, v in index.items() if k not in {"keys", "name"}}
        collection.create_index(list(index["keys"].items()), name=index["name"], **options)


def _set_validator(db: Database[Any], name: str, validator: Mapping[str, Any] | None) -> None:
    if name not in set(db.list_collection_names()):
        db.create_collection(name)  # a GridFS bucket's, before its first write
    db.command("collMod", name, validator=validator or {})


def _apply_step(db: Database[Any], step: SchemaStep, steps: list[SchemaStep]) -> None:
    existing = set(db.list_collection_names())
    for name, spec in step.collections.items():
        validator = spec.get("validator")
        if name not in existing:
            db.create_collection(name, validator=validator)
        elif validator is not None:
            db.command("collMod", name, validator=validator)
        _create_indexes(db[name], spec.get("indexes", ()))
    for name, indexes in step.indexes.items():
        _create_indexes(db[name], indexes)
    for name, indexes in step.drop_indexes.items():
        _drop_indexes(db[name], indexes)
    if step.fields:
        validators = validators_after(steps[: steps.index(step) + 1])
        for name, added in step.fields.items():
            for field_name, spec in added.items():
                if "existing" not in spec:
                    continue  # required only: every document has it already
                db[name].update_many(
                    {field_name: {"$exists": False}}, {"$set": {field_name: spec["existing"]}}
                )
            _set_validator(db, name, validators[name])
    for name in step.pre_images:
        _pre_images(db, name, enabled=True)


def _pre_images(db: Database[Any], name: str, *, enabled: bool) -> None:
    """Keep (or stop keeping) the pre-image of each change to ``name``'s documents
    for change streams (``fullDocumentBeforeChange``)."""
    if name not in set(db.list_collection_names()):
        db.create_collection(name)
    db.command("collMod", name, changeStreamPreAndPostImages={"enabled": enabled})


def _drop_indexes(collection: Collection[Any], indexes: Iterable[Mapping[str, Any]]) -> None:
    for index in indexes:
        try:
            collection.drop_index(index["name"])
        except OperationFailure as exc:
            # Already gone (dropped by hand, or with its collection): the aim is met.
            if exc.code not in {_NAMESPACE_NOT_FOUND, _INDEX_NOT_FOUND}:
                raise


def _rollback_step(db: Database[Any], step: SchemaStep, steps: list[SchemaStep]) -> None:
    for name in step.pre_images:
        _pre_images(db, name, enabled=False)
    if step.fields:
        validators = validators_after(steps[: steps.index(step)])
        for name, added in step.fields.items():
            _set_validator(db, name, validators.get(name))
            added_here = [f for f, spec in added.items() if "existing" in spec]
            if added_here:
                db[name].update_many({}, {"$unset": dict.fromkeys(added_here, "")})
    for name, indexes in step.drop_indexes.items():
        _create_indexes(db[name], indexes)
    for name, indexes in step.indexes.items():
        _drop_indexes(db[name], indexes)
    for name in step.collections:
        db.drop_collection(name)


def apply(settings: Settings, folder: Path | None = None) -> list[str]:
    with _database(settings) as db:
        done = {record["_id"] for record in db[RECORD].find({}, {"_id": 1})}
        applied = []
        steps = schema_steps(_folder(folder))
        for step in steps:
            if step.id in done:
                continue
            _apply_step(db, step, steps)
            db[RECORD].insert_one(
                {
                    "_id": step.id,
                    "description": step.description,
                    "checksum": step.checksum,
                    "applied_at": utc_now(),
                }
            )
            applied.append(step.id)
        return applied


def rollback(settings: Settings, folder: Path | None = None, count: int | None = None) -> list[str]:
    """Undo the most recent steps (all by default), newest first: drop the
    collections each created and the indexes it made on other collections."""
    with _database(settings) as db:
        done = {record["_id"] for record in db[RECORD].find({}, {"_id": 1})}
        every = schema_steps(_folder(folder))
        steps = [step for step in reversed(every) if step.id in done]
        if count is not None:
            steps = steps[:count]
        for step in steps:
            _rollback_step(db, step, every)
            db[RECORD].delete_one({"_id": step.id})
        return [step.id for step in steps]


def applied(settings: Settings, folder: Path | None = None) -> list[str]:
    with _database(settings) as db:
        done = {record["_id"] for record in db[RECORD].find({}, {"_id": 1})}
    return [step.id for step in schema_steps(_folder(folder)) if step.id in done]


def pending(settings: Settings, folder: Path | None = None) -> list[str]:
    with _database(settings) as db:
        done = {record["_id"] for record in db[RECORD].find({}, {"_id": 1})}
    return [step.id for step in schema_steps(_folder(folder)) if step.id not in done]
