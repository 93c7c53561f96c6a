"""``store.health()`` and ``vaultstore health`` on real servers: healthy when up and
migrated, degraded with a migration pending or changed since applied (exit 1),
the same object on both backends. (Unreachable, with the server stopped: in
tests/test_outages.py.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import psycopg
import psycopg.conninfo
import pymongo
import pytest

import vaultstore
from vaultstore import HealthStatus
from vaultstore._resources import migration_ids, schema_steps
from vaultstore.admin.cli import main

from .databases import fresh_database


@pytest.fixture(params=["postgresql", "mongodb"])
def migrated(request: pytest.FixtureRequest) -> str:
    """A database of each backend holding every migration."""
    fixture = "migrated_url" if request.param == "postgresql" else "migrated_mongo"
    return str(request.getfixturevalue(fixture))


@pytest.fixture(params=["postgresql", "mongodb"])
def one_pending(request: pytest.FixtureRequest) -> Iterator[str]:
    """A database of each backend of its own, migrated but for the last migration."""
    if request.param == "postgresql":
        with fresh_database(request.getfixturevalue("postgres_url")) as url:
            vaultstore.apply_migrations(url)
            vaultstore.rollback_migrations(url, count=1)
            yield url
        return
    base = str(request.getfixturevalue("mongo_uri"))
    url = f"{base.rsplit('/', 1)[0]}/vaultstore_health_pending"
    vaultstore.apply_migrations(url)
    vaultstore.rollback_migrations(url, count=1)
    try:
        yield url
    finally:
        client: pymongo.MongoClient[Any] = pymongo.MongoClient(url)
        client.drop_database("vaultstore_health_pending")
        client.close()


def last_migration(backend: str) -> str:
    return migration_ids()[-1] if backend == "postgresql" else schema_steps()[-1].id


def test_a_migrated_database_is_healthy(migrated: str) -> None:
    with vaultstore.connect(migrated, pool_size=3) as store:
        health = store.health()
    assert health.status is HealthStatus.HEALTHY
    assert health.ok
    assert (health.backend, health.reachable, health.role) == (store.backend, True, "primary")
    expected = len(migration_ids()) if store.backend == "postgresql" else len(schema_steps())
    assert health.migrations_applied == expected
    assert (health.migrations_pending, health.migrations_drifted, health.problems) == ((), (), ())
    assert health.server_version is not None
    assert health.server_version[0].isdigit()
    assert health.round_trip_seconds is not None
    assert 0 < health.round_trip_seconds <= health.elapsed_seconds
    assert health.replica_lag_seconds is None
    assert health.pool.max == 3


def test_the_command_exits_0_and_prints_json(
    migrated: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["health", "--database", migrated, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert (printed["status"], printed["ok"], printed["role"]) == ("healthy", True, "primary")
    assert printed["migrations_pending"] == []
    assert set(printed["pool"]) >= {"open", "in_use", "idle", "waiting", "connect_errors"}


def test_a_pending_migration_makes_it_degraded(
    one_pending: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with vaultstore.connect(one_pending) as store:
        health = store.health()
        last = last_migration(store.backend)
    assert health.status is HealthStatus.DEGRADED
    assert not health.ok
    assert health.reachable
    assert health.migrations_pending == (last,)
    assert health.problems == (f"migrations pending: {last}",)
    assert main(["health", "--database", one_pending]) == 1
    out = capsys.readouterr().out
    assert "Status: degraded" in out
    assert f"migrations pending: {last}" in out


def test_a_migration_changed_since_applied_makes_it_degraded(postgres_url: str) -> None:
    """What was recorded when it was applied no longer matches the file (as when
    someone edited an applied migration): the same check as vaultstore check's."""
    with fresh_database(postgres_url) as url:
        vaultstore.apply_migrations(url)
        last = migration_ids()[-1]
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "UPDATE vaultstore_migration_checksums SET sha256 = repeat('0', 64) "
                "WHERE migration_id = %s",
                [last],
            )
        with vaultstore.connect(url) as store:
            health = store.health()
        assert main(["health", "--database", url]) == 1
    assert health.status is HealthStatus.DEGRADED
    assert health.migrations_pending == ()
    (drifted,) = health.migrations_drifted
    assert f"{last}.sql: changed since it was applied" in drifted
    assert health.problems == (drifted,)


def test_a_changed_mongodb_step_makes_it_degraded(mongo_uri: str) -> None:
    url = f"{mongo_uri.rsplit('/', 1)[0]}/vaultstore_health_drift"
    client: pymongo.MongoClient[Any] = pymongo.MongoClient(url)
    try:
        vaultstore.apply_migrations(url)
        last = schema_steps()[-1].id
        client.get_default_database()["vaultstore_migrations"].update_one(
            {"_id": last}, {"$set": {"checksum": "edited"}}
        )
        with vaultstore.connect(url) as store:
            health = store.health()
    finally:
        client.drop_database("vaultstore_health_drift")
        client.close()
    assert health.status is HealthStatus.DEGRADED
    (drifted,) = health.migrations_drifted
    assert f"{last}.json: changed since it was applied" in drifted


def test_a_bad_timeout_is_refused(migrated: str) -> None:
    with vaultstore.connect(migrated) as store, pytest.raises(vaultstore.ValidationError):
        store.health(timeout=0)
    with pytest.raises(SystemExit):
        main(["health", "--database", migrated, "--timeout", "soon"])


def test_health_writes_nothing(migrated_url: str) -> None:
    """On a connection where every transaction is read-only, health is healthy: a
    write anywhere in it would have failed."""
    read_only = psycopg.conninfo.make_conninfo(
        migrated_url, options="-c default_transaction_read_only=on"
    )
    with vaultstore.connect(read_only) as store:
        health = store.health()
        with pytest.raises(vaultstore.DatabaseError):  # the setting holds: a write fails
            store.agents.create(name="refused", credibility_score=1)
    assert health.status is HealthStatus.HEALTHY
