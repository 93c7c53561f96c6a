"""Apply and roll back the schema migrations of ``migrations/`` through yoyo's API,
as ``yoyo apply`` would, so that the library and the DBAs' CLI share one history.
On MongoDB, the steps of ``migrations/mongodb`` (see vaultstore/mongo_migrate.py).

    vaultstore.apply_migrations("postgresql://user@host/db")
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from psycopg.conninfo import conninfo_to_dict
from yoyo import get_backend, read_migrations

from .._postgres import connection_kwargs
from .._resources import migrations_dir
from .._settings import Settings, is_secret, resolve_settings
from ..errors import UnavailableError, VaultStoreError
from . import mongo_migrate

logger = logging.getLogger("vaultstore.migrations")

__all__ = ["applied_migrations", "apply_migrations", "pending_migrations", "rollback_migrations"]


def _settings(database: str | Settings | None, env: Mapping[str, str] | None) -> Settings:
    return resolve_settings(database, env)


def _backend(settings: Settings) -> Any:
    # yoyo reads URLs with urlsplit, which refuses multi-host ones: give it every
    # libpq parameter in the query string, which it passes to psycopg as they are.
    conninfo, kwargs = connection_kwargs(settings)
    params = {**conninfo_to_dict(conninfo), **{k: v for k, v in kwargs.items() if is_secret(k)}}
    url = "postgresql+psycopg:///?" + urlencode(params, quote_via=quote)
    try:
        return get_backend(url)
    except Exception as exc:  # noqa: BLE001 - yoyo raises the driver's own errors
        # The driver's message may quote the URL: scrub it, and do not chain it.
        message = settings.scrub(str(exc))
        raise UnavailableError(f"cannot reach {settings} to migrate: {message}") from None


def _migrations(folder: Path | None) -> Any:
    return read_migrations(str(folder or migrations_dir()))


def apply_migrations(
    database: str | Settings | None = None,
    *,
    env: Mapping[str, str] | None = None,
    folder: Path | None = None,
) -> list[str]:
    """Apply every pending migration, under yoyo's lock; return their ids in order.

    ``database`` is a URL or Settings; by default the same configuration as
    :func:`vaultstore.connect` is read from the environment.
    """
    settings = _settings(database, env)
    if settings.backend == "mongodb":
        return mongo_migrate.apply(settings, folder)
    backend = _backend(settings)
    try:
        with backend.lock():
            pending = backend.to_apply(_migrations(folder))
            backend.apply_migrations(pending)
    except VaultStoreError:
        raise
    except Exception as exc:
        raise VaultStoreError(
            f"migration failed on {settings}: {settings.scrub(str(exc))}"
        ) from exc
    finally:
        backend.connection.close()
    ids = [m.id for m in pending]
    logger.info("applied %d migration(s) to %s: %s", len(ids), settings, ", ".join(ids) or "none")
    return ids


def rollback_migrations(
    database: str | Settings | None = None,
    *,
    env: Mapping[str, str] | None = None,
    folder: Path | None = None,
    count: int | None = None,
) -> list[str]:
    """Roll back the ``count`` most recent migrations (all of them by default);
    return their ids, newest first."""
    settings = _settings(database, env)
    if settings.backend == "mongodb":
        return mongo_migrate.rollback(settings, folder, count)
    backend = _backend(settings)
    try:
        with backend.lock():
            to_rollback = backend.to_rollback(_migrations(folder))
            if count is not None:
                to_rollback = to_rollback[:count]
            backend.rollback_migrations(to_rollback)
    except VaultStoreError:
        raise
    except Exception as exc:
        raise VaultStoreError(f"rollback failed on {settings}: {settings.scrub(str(exc))}") from exc
    finally:
        backend.connection.close()
    ids = [m.id for m in to_rollback]
    logger.info("rolled back %d migration(s) on %s: %s", len(ids), settings, ", ".join(ids))
    return ids


def pending_migrations(
    database: str | Settings | None = None,
    *,
    env: Mapping[str, str] | None = None,
    folder: Path | None = None,
) -> list[str]:
    """The ids of the migrations not applied yet."""
    settings = _settings(database, env)
    if settings.backend == "mongodb":
        return mongo_migrate.pending(settings, folder)
    backend = _backend(settings)
    try:
        return [m.id for m in backend.to_apply(_migrations(folder))]
    finally:
        backend.connection.close()


def applied_migrations(
    database: str | Settings | None = None,
    *,
    env: Mapping[str, str] | None = None,
    folder: Path | None = None,
) -> list[str]:
    """The ids of the applied migrations, oldest first."""
    settings = _settings(database, env)
    if settings.backend == "mongodb":
        return mongo_migrate.applied(settings, folder)
    backend = _backend(settings)
    try:
        migrations = _migrations(folder)
        return [m.id for m in migrations if backend.is_applied(m)]
    finally:
        backend.connection.close()
