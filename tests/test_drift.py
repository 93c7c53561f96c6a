"""Migration drift: the SHA-256 of every applied migration is recorded in the
database whoever applied it (migrations/post-apply.py, run by yoyo after
`vaultstore migrate` and `yoyo apply` alike), and migration_drift() names each file
that no longer matches: edited since it was applied, missing, or applied with no
checksum recorded. The same on MongoDB, from the checksums `vaultstore migrate`
records per step."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiosql
import psycopg
import pymongo
import pytest

import vaultstore
from vaultstore.admin.drift import migration_drift

from .databases import yoyo_url

REPO = Path(__file__).resolve().parent.parent
MIGRATIONS = REPO / "migrations"
FORWARD_FILES = sorted(p for p in MIGRATIONS.glob("*.sql") if not p.name.endswith(".rollback.sql"))
MIGRATION_IDS = [p.name.removesuffix(".sql") for p in FORWARD_FILES]
SQL = aiosql.from_path(Path(__file__).parent / "sql" / "drift.sql", "psycopg")
EDIT = "\n-- an afterthought\n"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def yoyo(*args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "yoyo", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def recorded(url: str) -> list[tuple[str, str, str | None]]:
    with psycopg.connect(url) as conn:
        return list(SQL.checksums(conn))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of migrations/ to edit."""
    return Path(shutil.copytree(MIGRATIONS, tmp_path / "migrations"))


def test_a_database_never_migrated_has_no_drift(empty_url: str) -> None:
    assert migration_drift(empty_url) == []


def test_a_freshly_migrated_database_has_no_drift(migrated: str) -> None:
    assert migration_drift(migrated) == []


def test_vaultstore_migrate_records_the_checksums_of_every_migration_and_rollback(
    migrated: str,
) -> None:
    assert recorded(migrated) == [
        (
            migration_id,
            sha256(MIGRATIONS / f"{migration_id}.sql"),
            sha256(MIGRATIONS / f"{migration_id}.rollback.sql"),
        )
        for migration_id in MIGRATION_IDS
    ]


def test_the_yoyo_command_line_records_the_checksums_too(empty_url: str) -> None:
    yoyo("apply", "--batch", "--database", yoyo_url(empty_url), "migrations")
    assert [row[:2] for row in recorded(empty_url)] == [
        (migration_id, sha256(MIGRATIONS / f"{migration_id}.sql")) for migration_id in MIGRATION_IDS
    ]


def test_after_the_yoyo_command_line_there_is_no_drift(empty_url: str) -> None:
    yoyo("apply", "--batch", "--database", yoyo_url(empty_url), "migrations")
    assert migration_drift(empty_url) == []


def test_an_applied_migration_edited_since_is_named(migrated: str, folder: Path) -> None:
    edited = folder / "0003.risk-alerts.sql"
    edited.write_text(edited.read_text() + EDIT)
    assert migration_drift(migrated, folder) == [
        f"{edited}: changed since it was applied; never edit an applied migration: "
        "restore the file and add a new migration"
    ]


def test_the_rollback_of_an_applied_migration_edited_since_is_named(
    migrated: str, folder: Path
) -> None:
    edited = folder / "0005.protection-rules.rollback.sql"
    edited.write_text(edited.read_text() + EDIT)
    (problem,) = migration_drift(migrated, folder)
    assert problem.startswith(f"{edited}: changed since 0005.protection-rules was applied")


def test_an_applied_migration_deleted_since_is_named(migrated: str, folder: Path) -> None:
    deleted = folder / "0004.liquidation-events.sql"
    deleted.unlink()
    (problem,) = migration_drift(migrated, folder)
    assert problem.startswith(
        f"{deleted}: missing, but the database has applied migration 0004.liquidation-events"
    )


def test_an_applied_migration_without_a_recorded_checksum_is_named(migrated: str) -> None:
    with psycopg.connect(migrated) as conn:
        SQL.forget_checksum(conn, migration_id="0002.credit-vaults")
    (problem,) = migration_drift(migrated)
    assert problem.startswith(
        f"{MIGRATIONS / '0002.credit-vaults.sql'}: applied, but no checksum was recorded"
    )


def test_before_the_checksum_migration_no_applied_migration_has_a_checksum(
    empty_url: str, folder: Path
) -> None:
    for path in folder.glob("0009.*"):
        path.unlink()
    vaultstore.apply_migrations(empty_url, folder=folder)
    problems = migration_drift(empty_url, folder)
    assert [problem.split(": ", 1)[1][:38] for problem in problems] == [
        "applied, but no checksum was recorded "
    ] * (len(MIGRATION_IDS) - 1)


def test_a_migration_rolled_back_edited_and_applied_again_is_no_drift(
    empty_url: str, folder: Path
) -> None:
    vaultstore.apply_migrations(empty_url, folder=folder)
    yoyo("rollback", "--batch", "-r", "0008", "--database", yoyo_url(empty_url), str(folder))
    edited = folder / "0008.market-data-source-index.sql"
    edited.write_text(edited.read_text() + EDIT)
    # 0012 depends on 0008 (and 0013 on 0012, 0014 on 0013), so yoyo rolled them
    # back first and applies them again.
    assert vaultstore.apply_migrations(empty_url, folder=folder) == [
        "0008.market-data-source-index",
        "0012.market-data-partitions",
        "0013.distribution-keys",
        "0014.owners-delete-their-documents",
    ]
    assert migration_drift(empty_url, folder) == []


# -- MongoDB -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mongo_database(mongo_uri: str) -> Iterator[str]:
    """A MongoDB database of this module's own."""
    uri = urlsplit(mongo_uri)._replace(path="/vaultstore_drift_test").geturl()
    yield uri
    client: pymongo.MongoClient[Any] = pymongo.MongoClient(uri)
    client.drop_database("vaultstore_drift_test")
    client.close()


@pytest.fixture
def migrated_mongo_steps(mongo_database: str) -> str:
    vaultstore.rollback_migrations(mongo_database)
    vaultstore.apply_migrations(mongo_database)
    return mongo_database


def test_a_freshly_migrated_mongodb_has_no_drift(migrated_mongo_steps: str) -> None:
    assert migration_drift(migrated_mongo_steps) == []


def test_an_applied_mongodb_step_edited_since_is_named(
    migrated_mongo_steps: str, folder: Path
) -> None:
    edited = folder / "mongodb" / "0001.collections.json"
    edited.write_text(edited.read_text() + "\n")
    assert migration_drift(migrated_mongo_steps, folder) == [
        f"{edited}: changed since it was applied; never edit an applied migration: "
        "restore the file and add a new migration"
    ]


def test_an_applied_mongodb_step_deleted_since_is_named(
    migrated_mongo_steps: str, folder: Path
) -> None:
    deleted = folder / "mongodb" / "0001.collections.json"
    deleted.unlink()
    (problem,) = migration_drift(migrated_mongo_steps, folder)
    assert problem.startswith(f"{deleted}: missing, but the database has applied step 0001")


def test_an_applied_mongodb_step_without_a_recorded_checksum_is_named(
    migrated_mongo_steps: str,
) -> None:
    client: pymongo.MongoClient[Any] = pymongo.MongoClient(migrated_mongo_steps)
    client.get_default_database()["vaultstore_migrations"].update_one(
        {"_id": "0001.collections"}, {"$unset": {"checksum": ""}}
    )
    client.close()
    (problem,) = migration_drift(migrated_mongo_steps)
    assert problem.startswith(
        f"{MIGRATIONS / 'mongodb' / '0001.collections.json'}: applied, but no checksum"
    )
