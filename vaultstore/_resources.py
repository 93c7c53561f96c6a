"""Where the query files and migrations are: inside the installed package (the
wheel carries them), or at the top of a source checkout, where DBAs edit them;
and the MongoDB schema steps read from them."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bson import json_util

from ._mongo import validator_clauses

_PACKAGE = Path(__file__).resolve().parent


def _find(name: str) -> Path:
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"vaultstore's {name}/ folder is neither in the package ({_PACKAGE / name}) "
        f"nor beside it ({_PACKAGE.parent / name}); reinstall vaultstore"
    )


def queries_dir() -> Path:
    """The folder of named statements, one SQL file (and its MongoDB twin) per entity."""
    return _find("queries")


def migrations_dir() -> Path:
    """The folder of yoyo migrations."""
    return _find("migrations")


def migration_ids(folder: Path | None = None) -> list[str]:
    """The ids of the SQL migrations, in order: ``0001.agents`` ..."""
    return sorted(
        path.name.removesuffix(".sql")
        for path in (folder or migrations_dir()).glob("*.sql")
        if not path.name.endswith(".rollback.sql")
    )


MIGRATIONS_RECORD = "vaultstore_migrations"
"""The MongoDB collection recording each applied schema step."""


@dataclass(frozen=True)
class SchemaStep:
    """One versioned step of ``migrations/mongodb``: the collections it creates,
    with their validators and indexes (``"collections"``), and indexes on
    collections it does not create, such as a GridFS bucket's (``"indexes"``:
    collection name to a list of indexes as ``"collections"`` writes them), and
    indexes it replaces (``"drop_indexes"``, written the same way, in full so that
    rolling the step back can make them again), and fields it adds to collections
    that exist (``"fields"``: collection to ``{field: {"existing": value, "schema":
    {...}}}``: the documents stored before it get ``value``, if one is given, and
    the collection's validator then requires the field, as ``schema`` says), and
    collections whose change streams keep each document's pre-image
    (``"pre_images"``: a list, for the change feed). Applying it again changes
    nothing."""

    id: str
    description: str
    collections: Mapping[str, Any]
    checksum: str
    indexes: Mapping[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)
    drop_indexes: Mapping[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)
    fields: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)
    pre_images: Sequence[str] = ()


def schema_steps(folder: Path | None = None) -> list[SchemaStep]:
    """The steps in ``migrations/mongodb/*.json`` (MongoDB extended JSON), in order."""
    folder = folder or migrations_dir() / "mongodb"
    steps = []
    for path in sorted(folder.glob("*.json")):
        text = path.read_text()
        data = json_util.loads(text)
        steps.append(
            SchemaStep(
                id=path.stem,
                description=data.get("description", ""),
                collections=data.get("collections", {}),
                indexes=data.get("indexes", {}),
                drop_indexes=data.get("drop_indexes", {}),
                fields=data.get("fields", {}),
                pre_images=tuple(data.get("pre_images", ())),
                checksum=hashlib.sha256(text.encode()).hexdigest(),
            )
        )
    return steps


def validators_after(steps: Sequence[SchemaStep]) -> dict[str, dict[str, Any]]:
    """Each collection's validator once ``steps`` are applied: the latest one a
    step declares in full (``"collections"``), with a ``$jsonSchema`` clause for
    each field a later step requires (``"fields"``), in step order."""
    validators: dict[str, dict[str, Any]] = {}
    for step in steps:
        for collection, spec in step.collections.items():
            if "validator" in spec:
                validators[collection] = spec["validator"]
        for collection, added in step.fields.items():
            clauses = list(validator_clauses(validators.get(collection)))
            for name, spec in added.items():
                clauses.append(
                    {"$jsonSchema": {"required": [name], "properties": {name: spec["schema"]}}}
                )
            validators[collection] = {"$and": clauses}
    return validators


@functools.cache
def collection_validators() -> dict[str, tuple[Mapping[str, Any], ...]]:
    """Each collection's validator clauses once every step is applied; read once,
    for naming the field of a validator's refusal."""
    return {
        collection: validator_clauses(validator)
        for collection, validator in validators_after(schema_steps()).items()
    }
