"""The schema migrations of migrations/: applied and rolled back by vaultstore's API
and by yoyo's own command line, sharing one history, on a database of this module's
own (the session's migrated database is left alone)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

import vaultstore
from vaultstore.admin.sample import load_sample_data

from .databases import yoyo_url

REPO = Path(__file__).resolve().parent.parent
MIGRATIONS = REPO / "migrations"
FORWARD_FILES = sorted(p for p in MIGRATIONS.glob("*.sql") if not p.name.endswith(".rollback.sql"))
ROLLBACK_FILES = sorted(MIGRATIONS.glob("*.rollback.sql"))
MIGRATION_IDS = [p.name.removesuffix(".sql") for p in FORWARD_FILES]
YOYO_TABLES = {"_yoyo_log", "_yoyo_migration", "_yoyo_version", "yoyo_lock"}


@pytest.fixture
def migrated_with_sample_data(migrated: str) -> str:
    with vaultstore.connect(migrated, pool_size=1) as store:
        assert load_sample_data(store) == 4
    return migrated


def leftovers(url: str) -> list[str]:
    """Every table and function in the public schema but yoyo's own tables and
    partitions (market_data's months)."""
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
            " AND NOT c.relispartition"
        ).fetchall()
        functions = conn.execute(
            "SELECT p.proname || '()' FROM pg_proc p"
            " JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'"
        ).fetchall()
    return sorted({name for (name,) in tables} - YOYO_TABLES) + sorted(
        name for (name,) in functions
    )


def test_the_fifteen_migrations_are_found() -> None:
    assert MIGRATION_IDS == [
        "0001.agents",
        "0002.credit-vaults",
        "0003.risk-alerts",
        "0004.liquidation-events",
        "0005.protection-rules",
        "0006.market-data",
        "0007.documents",
        "0008.market-data-source-index",
        "0009.migration-checksums",
        "0010.versions",
        "0011.documents-follow-owners",
        "0012.market-data-partitions",
        "0013.distribution-keys",
        "0014.owners-delete-their-documents",
        "0015.tenants",
        "0016.audit-log",
        "0017.change-feed",
    ]


@pytest.mark.parametrize("migration", FORWARD_FILES, ids=lambda p: p.name)
def test_every_migration_has_a_rollback_twin(migration: Path) -> None:
    assert migration.with_name(migration.name.removesuffix(".sql") + ".rollback.sql").is_file()


@pytest.mark.parametrize("rollback", ROLLBACK_FILES, ids=lambda p: p.name)
def test_every_rollback_undoes_an_existing_migration(rollback: Path) -> None:
    assert rollback.with_name(rollback.name.removesuffix(".rollback.sql") + ".sql").is_file()


@pytest.mark.parametrize("migration", FORWARD_FILES, ids=lambda p: p.name)
def test_every_migration_starts_with_a_comment_saying_why(migration: Path) -> None:
    first_line = migration.read_text().splitlines()[0]
    assert first_line.startswith("-- ")
    assert not first_line.startswith(("-- depends:", "-- transactional:"))


def test_apply_migrations_applies_every_migration_in_order(empty_url: str) -> None:
    assert vaultstore.apply_migrations(empty_url) == MIGRATION_IDS


def test_apply_migrations_creates_the_vaultstore_tables(empty_url: str) -> None:
    vaultstore.apply_migrations(empty_url)
    assert leftovers(empty_url) == [
        "agents",
        "audit_log",
        "change_feed",
        "change_feed_pruned",
        "credit_vaults",
        "document_chunks",
        "documents",
        "liquidation_events",
        "market_data",
        "protection_rules",
        "risk_alerts",
        "vaultstore_migration_checksums",
        "market_data_create_partition()",
        "vaultstore_audit()",
        "vaultstore_change_feed()",
        "vaultstore_touch_updated_at()",
    ]


def test_apply_migrations_applies_nothing_the_second_time(migrated: str) -> None:
    assert vaultstore.apply_migrations(migrated) == []


def test_applied_migrations_lists_every_applied_migration_oldest_first(migrated: str) -> None:
    assert vaultstore.applied_migrations(migrated) == MIGRATION_IDS


def test_pending_migrations_lists_every_migration_on_an_empty_database(empty_url: str) -> None:
    assert vaultstore.pending_migrations(empty_url) == MIGRATION_IDS


def test_rollback_migrations_rolls_back_every_migration_newest_first(migrated: str) -> None:
    assert vaultstore.rollback_migrations(migrated) == MIGRATION_IDS[::-1]


def test_rollback_migrations_leaves_no_vaultstore_table_or_function(migrated: str) -> None:
    vaultstore.rollback_migrations(migrated)
    assert leftovers(migrated) == []


def test_rollback_migrations_leaves_no_migration_applied(migrated: str) -> None:
    vaultstore.rollback_migrations(migrated)
    assert vaultstore.applied_migrations(migrated) == []


def test_rollback_migrations_with_a_count_rolls_back_the_newest_only(migrated: str) -> None:
    assert vaultstore.rollback_migrations(migrated, count=2) == MIGRATION_IDS[:-3:-1]
    assert vaultstore.applied_migrations(migrated) == MIGRATION_IDS[:-2]


def test_migrations_apply_again_after_a_rollback(migrated: str) -> None:
    vaultstore.rollback_migrations(migrated)
    assert vaultstore.apply_migrations(migrated) == MIGRATION_IDS


def test_rollback_migrations_removes_the_schema_holding_sample_data(
    migrated_with_sample_data: str,
) -> None:
    assert vaultstore.rollback_migrations(migrated_with_sample_data) == MIGRATION_IDS[::-1]
    assert leftovers(migrated_with_sample_data) == []


def test_migrations_apply_again_after_rolling_back_sample_data(
    migrated_with_sample_data: str,
) -> None:
    vaultstore.rollback_migrations(migrated_with_sample_data)
    assert vaultstore.apply_migrations(migrated_with_sample_data) == MIGRATION_IDS
    with vaultstore.connect(migrated_with_sample_data, pool_size=1) as store:
        assert load_sample_data(store) == 4


def test_yoyo_command_line_applies_the_migrations_vaultstore_then_lists(empty_url: str) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "yoyo",
            "apply",
            "--batch",
            "--database",
            yoyo_url(empty_url),
            "migrations",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert vaultstore.applied_migrations(empty_url) == MIGRATION_IDS


def test_apply_migrations_applies_nothing_after_the_yoyo_command_line(empty_url: str) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "yoyo",
            "apply",
            "--batch",
            "--database",
            yoyo_url(empty_url),
            "migrations",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert vaultstore.apply_migrations(empty_url) == []


def test_yoyo_command_line_rolls_back_what_vaultstore_applied(migrated: str) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "yoyo",
            "rollback",
            "--batch",
            "--all",
            "--database",
            yoyo_url(migrated),
            "migrations",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert leftovers(migrated) == []
