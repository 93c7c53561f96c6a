"""``vaultstore migrate`` for MongoDB: the steps of ``migrations/mongodb`` applied in
order and recorded in the ``vaultstore_migrations`` collection (id, checksum,
time), so that an operator can see which version a database is at. Applying a
step creates its collections with their validators (or updates the validators)
and creates its indexes; doing it twice changes nothing."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import PyMongoError

from .._mongo import CODEC_OPTIONS, translate
from .._resources import MIGRATIONS_RECORD, SchemaStep, schema_steps
from .._settings import Settings
from .._values import utc_now
from ..errors import UnavailableError

logger = logging.getLogger("vaultstore.migrations")
RECORD = MIGRATIONS_RECORD


@contextmanager
def _database(settings: Settings) -> Iterator[Database[Any]]:
    timeout = int(settings.pool.connect_timeout * 1000)
    client: MongoClient[Any] = MongoClient(
        settings.url(hide_password=False),
        serverSelectionTimeoutMS=timeout,
        connectTimeoutMS=timeout,
        appname="vaultstore-migrate",
    )
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


def _apply_step(db: Database[Any], step: SchemaStep) -> None:
    existing = set(db.list_collection_names())
    for name, spec in step.collections.items():
        validator = spec.get("validator")
        if name not in existing:
            db.create_collection(name, validator=validator)
        elif validator is not None:
            db.command("collMod", name, validator=validator)
        for index in spec.get("indexes", ()):
            options = {k: v for k, v in index.items() if k not in {"keys", "name"}}
            db[name].create_index(list(index["keys"].items()), name=index["name"], **options)


def apply(settings: Settings, folder: Path | None = None) -> list[str]:
    with _database(settings) as db:
        done = {record["_id"] for record in db[RECORD].find({}, {"_id": 1})}
        applied = []
        for step in schema_steps(_folder(folder)):
            if step.id in done:
                continue
            _apply_step(db, step)
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
    """Drop the collections of the most recent steps (all by default), newest first."""
    with _database(settings) as db:
        done = {record["_id"] for record in db[RECORD].find({}, {"_id": 1})}
        steps = [step for step in reversed(schema_steps(_folder(folder))) if step.id in done]
        if count is not None:
            steps = steps[:count]
        for step in steps:
            for name in step.collections:
                db.drop_collection(name)
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
