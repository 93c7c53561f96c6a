"""Checks of the migrations for ``vaultstore check``, each returning one line per
problem, naming the file (an empty list when all is well):

* :func:`transactional_problems`: a migration that cannot run inside a
  transaction (``CREATE INDEX CONCURRENTLY`` ...) without yoyo's
  ``-- transactional: false`` marker;
* :func:`migration_drift`: a database whose applied migrations no longer match
  the files. yoyo knows a migration by its file name only;
  ``migrations/post-apply.py`` records the SHA-256 of every migration it applies
  (``vaultstore_migration_checksums``), and on MongoDB ``vaultstore migrate``
  records each step's checksum in ``vaultstore_migrations``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from yoyo.migrations import read_sql_migration

from .._health import mongo_drift, postgres_drift
from .._resources import migrations_dir, schema_steps
from .._settings import Settings, resolve_settings
from . import mongo_migrate
from .schema import admin_connection, catalog_queries

__all__ = ["migration_drift", "transactional_problems"]

_CONCURRENTLY = re.compile(r"\bconcurrently\b", re.IGNORECASE)


def _forward_file(path: Path) -> Path:
    """The migration a file belongs to: itself, or the forward file of a rollback."""
    if path.name.endswith(".rollback.sql"):
        return path.with_name(path.name.removesuffix(".rollback.sql") + ".sql")
    return path


def _non_transactional(forward: Path) -> bool:
    """Whether yoyo runs the migration outside a transaction, read as yoyo reads
    it: the ``-- transactional: false`` directive in the file's leading comments
    (a rollback file runs as its forward file says)."""
    if not forward.is_file():
        return False
    directives, _, _ = read_sql_migration(str(forward))
    return str(directives.get("transactional", "true")).strip().lower() == "false"


def transactional_problems(folder: Path | None = None) -> list[str]:
    """``file:line: ...`` for every statement using CONCURRENTLY in a migration
    that yoyo would run inside a transaction, where PostgreSQL refuses it."""
    folder = folder or migrations_dir()
    problems = []
    for path in sorted(folder.glob("*.sql")):
        forward = _forward_file(path)
        if _non_transactional(forward):
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if _CONCURRENTLY.search(line.split("--", 1)[0]):
                problems.append(
                    f"{path}:{number}: CONCURRENTLY cannot run inside a transaction, and "
                    f"yoyo runs {forward.stem} in one: add a line '-- transactional: false' "
                    f"to the comments at the top of {forward.name}"
                )
    return problems


def _postgres_drift(settings: Settings, folder: Path) -> list[str]:
    queries = catalog_queries("drift")
    with admin_connection(settings) as conn:
        tables = queries.history_exists(conn)
        if not tables["has_history"]:
            return []  # never migrated: nothing applied, nothing drifted
        query = queries.applied_with_checksums if tables["has_checksums"] else queries.applied
        applied: list[dict[str, Any]] = list(query(conn))
    return postgres_drift(applied, folder)


def _mongo_drift(settings: Settings, folder: Path) -> list[str]:
    steps_folder = folder / "mongodb"
    with mongo_migrate._database(settings) as db:
        records = list(db[mongo_migrate.RECORD].find({}).sort([("applied_at", 1), ("_id", 1)]))
    return mongo_drift(records, schema_steps(steps_folder), steps_folder)


def migration_drift(
    database: str | Settings | None = None,
    folder: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
) -> list[str]:
    """One line per migration that a database (a URL, Settings, or the
    environment's configuration) applied and the files no longer match, naming
    the file: changed since it was applied, missing from ``folder`` (the
    migrations shipped with vaultstore by default), or applied with no checksum
    recorded. PostgreSQL and MongoDB alike."""
    settings = resolve_settings(database, env)
    folder = folder or migrations_dir()
    if settings.backend == "mongodb":
        return _mongo_drift(settings, folder)
    return _postgres_drift(settings, folder)
