"""``vaultstore check``: the query files checked against the schema the migrations
build, before a deploy.

Every named statement is prepared on a migrated database (the protocol's Parse and
Describe steps: the server resolves tables, columns, operators and types, and
nothing is executed), and the catalogue of :mod:`vaultstore._catalog` says whether
each statement is run by some repository method and each statement a method
names exists. Each finding is a line ``file:line name: message``.

    problems = check(settings)            # [] when all is well
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
import psycopg
from psycopg.pq import DiagnosticField, ExecStatus
from psycopg.pq.abc import PGconn, PGresult

from .._postgres import connection_kwargs, copy_columns, translate
from .._queries import MONGODB_SUFFIX, file_label
from .._resources import migrations_dir, queries_dir
from .._settings import Settings
from ..errors import VaultStoreError
from .catalog import RETURNS_ROWS, Catalog, Statement, build_catalog
from .drift import migration_drift, transactional_problems
from .migrate import apply_migrations

logger = logging.getLogger("vaultstore.check")

ExtraCheck = Callable[[Settings, "Folders"], list[str]]
"""A further check on the migrated database (``settings``) and the checked folders,
returning problem lines in the same ``file:line name: message`` form."""


@attrs.frozen
class Folders:
    """What is checked: the query files (SQL and their MongoDB twins) and the
    migrations."""

    queries: Path
    migrations: Path


def _is_checkout(folder: Path) -> bool:
    return all((folder / name).is_dir() for name in ("queries", "migrations", "vaultstore"))


def default_folders(cwd: Path | None = None) -> Folders:
    """The folders of the vaultstore checkout that ``cwd`` (the current directory) is
    in, else those of the installed package (the wheel carries copies)."""
    start = (cwd or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if _is_checkout(folder):
            return Folders(folder / "queries", folder / "migrations")
    return Folders(queries_dir(), migrations_dir())


def read_query_files(folder: Path) -> dict[str, str]:
    """``{"queries/vaults.sql": text}`` for every query file of ``folder``."""
    return {file_label(path): path.read_text() for path in sorted(folder.glob("*.sql"))}


def read_mongodb_files(folder: Path) -> dict[str, str]:
    """``{"queries/vaults.mongodb.json": text}`` for every MongoDB twin of ``folder``."""
    return {
        file_label(path): path.read_text() for path in sorted(folder.glob(f"*{MONGODB_SUFFIX}"))
    }


def load_catalog(folders: Folders | None = None) -> Catalog:
    """The catalogue of ``folders`` (by default :func:`default_folders`)."""
    folders = folders or default_folders()
    return build_catalog(
        read_query_files(folders.queries),
        read_mongodb_files(folders.queries),
        folders.queries.name,
    )


def _server_message(result: PGresult, encoding: str) -> str:
    primary = result.error_field(DiagnosticField.MESSAGE_PRIMARY)
    hint = result.error_field(DiagnosticField.MESSAGE_HINT)
    message = (primary or result.error_message or b"unknown error").decode(encoding, "replace")
    if hint:
        message += f" (hint: {hint.decode(encoding, 'replace')})"
    return " ".join(message.split())


def _prepare(pgconn: PGconn, name: bytes, statement: Statement, encoding: str) -> str | None:
    """Parse and describe ``statement`` as an unnamed-parameter prepared statement;
    the problem line, or None."""
    result = pgconn.prepare(name, statement.positional_sql().encode(encoding))
    if result.status != ExecStatus.COMMAND_OK:
        return statement.problem(_server_message(result, encoding))
    described = pgconn.describe_prepared(name)
    if described.status != ExecStatus.COMMAND_OK:
        return statement.problem(_server_message(described, encoding))
    if statement.operation in RETURNS_ROWS and described.nfields == 0:
        return statement.problem(
            f"returns no rows, but is declared {statement.kind} "
            f"({statement.suffix or 'no suffix'}): add RETURNING, or use the suffix !"
        )
    return None


def prepare_statements(settings: Settings, statements: Sequence[Statement]) -> list[str]:
    """Prepare every statement on the database of ``settings`` without running it;
    a problem line for each the server refuses. Parameter types are left to the
    server to infer, as psycopg's server-side binding does for most of them."""
    conninfo, kwargs = connection_kwargs(settings)
    try:
        conn = psycopg.connect(conninfo, **kwargs)
    except psycopg.Error as exc:
        raise translate(exc, settings=settings) from None  # its message may quote the conninfo
    with conn:
        encoding = conn.info.encoding
        problems = (
            _copy(conn, statement)
            if copy_columns(statement.sql) is not None
            else _prepare(conn.pgconn, f"vaultstore_check_{n}".encode(), statement, encoding)
            for n, statement in enumerate(statements)
        )
        return [problem for problem in problems if problem is not None]


def _copy(conn: psycopg.Connection[Any], statement: Statement) -> str | None:
    """A ``COPY ... FROM STDIN`` statement, which the server parses without looking
    at its table: run with no rows, in a transaction rolled back."""
    try:
        with conn.transaction(force_rollback=True), conn.cursor().copy(statement.sql):
            pass
    except psycopg.Error as exc:
        return statement.problem(" ".join(str(exc).split()))
    return None


def check(
    settings: Settings,
    folders: Folders | None = None,
    *,
    extra_checks: Sequence[ExtraCheck] = (),
    migrate: bool = True,
    catalog: Catalog | None = None,
) -> list[str]:
    """Every problem with the query files of ``folders`` (by default the checkout's
    or the package's) on the database of ``settings``, as ``file:line name: message``
    lines: statements the server cannot prepare, statements no repository method
    runs, statements a method names that no file has, migrations that use
    CONCURRENTLY inside a transaction, applied migrations whose files changed or
    went missing (drift), then what ``extra_checks`` find.

    Drift is read first; then the database's pending migrations (of
    ``folders.migrations``) are applied unless ``migrate`` is False. Statements
    are only prepared, never executed."""
    if settings.backend != "postgresql":
        raise VaultStoreError(
            f"vaultstore check prepares the PostgreSQL query files; {settings} is "
            f"{settings.backend}"
        )
    folders = folders or default_folders()
    problems = transactional_problems(folders.migrations)
    # Before migrating: applying records the checksums of what it applies.
    problems.extend(migration_drift(settings, folders.migrations))
    if problems:
        return problems  # migrating now could fail or record what must be fixed first
    if migrate:
        applied = apply_migrations(settings, folder=folders.migrations)
        logger.info("migrations applied to %s: %s", settings, ", ".join(applied) or "none")
    catalog = catalog or load_catalog(folders)
    problems.extend(prepare_statements(settings, catalog.statements))
    problems.extend(catalog.problems())
    for extra in extra_checks:
        problems.extend(extra(settings, folders))
    return problems
