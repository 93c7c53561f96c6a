"""Migrations roll back one at a time and apply again to exactly the schema they
built (compared as ``vaultstore schema`` dumps), on a database holding sample
data; and a migration that cannot run in a transaction (0008, CREATE INDEX
CONCURRENTLY) is marked so, applies and rolls back through vaultstore and yoyo's
command line, and would fail without its marker."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import aiosql
import psycopg
import pytest
from yoyo import read_migrations

import vaultstore
from vaultstore.admin.drift import transactional_problems
from vaultstore.admin.sample import load_sample_data
from vaultstore.admin.schema import dump_schema
from vaultstore.errors import VaultStoreError

from .databases import fresh_database, yoyo_url

REPO = Path(__file__).resolve().parent.parent
MIGRATIONS = REPO / "migrations"
FORWARD_FILES = sorted(p for p in MIGRATIONS.glob("*.sql") if not p.name.endswith(".rollback.sql"))
MIGRATION_IDS = [p.name.removesuffix(".sql") for p in FORWARD_FILES]
SOURCE_INDEX = "0008.market-data-source-index"
MARKER = "-- transactional: false\n"
SQL = aiosql.from_path(Path(__file__).parent / "sql" / "migration_safety.sql", "psycopg")


def copy_migrations(target: Path, ids: list[str]) -> Path:
    """``target`` holding the migrations ``ids`` (with their rollbacks) and the
    post-apply hook."""
    target.mkdir(exist_ok=True)
    shutil.copy2(MIGRATIONS / "post-apply.py", target)
    for migration_id in ids:
        for name in (f"{migration_id}.sql", f"{migration_id}.rollback.sql"):
            shutil.copy2(MIGRATIONS / name, target)
    return target


def yoyo(*args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "yoyo", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result


def source_index_valid(url: str) -> bool | None:
    with psycopg.connect(url) as conn:
        valid: bool | None = SQL.index_is_valid(
            conn, index_name="market_data_source_recorded_at_idx"
        )
    return valid


@pytest.fixture(scope="module")
def forward_schemas(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The schema after applying the first i migrations, for i = 0 ... all: each
    migration applied alone, from a folder that grows by one migration at a time."""
    folder = tmp_path_factory.mktemp("forward") / "migrations"
    with fresh_database(postgres_url) as url:
        schemas = [dump_schema(url)]
        for i in range(1, len(MIGRATION_IDS) + 1):
            applied = vaultstore.apply_migrations(
                url, folder=copy_migrations(folder, MIGRATION_IDS[:i])
            )
            assert applied == [MIGRATION_IDS[i - 1]]
            schemas.append(dump_schema(url))
    return schemas


@pytest.fixture(scope="module")
def walk(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """A migrated database with sample data, its schema ("original"); then every
    migration rolled back one at a time from the newest (the schema after each
    rollback in "down", by the number of migrations left), then applied again
    one at a time (the schema after each in "up", by the number applied)."""
    folder = tmp_path_factory.mktemp("up") / "migrations"
    with fresh_database(postgres_url) as url:
        vaultstore.apply_migrations(url)
        with vaultstore.connect(url, pool_size=1) as store:
            load_sample_data(store)
        original = dump_schema(url)
        down = [""] * len(MIGRATION_IDS)
        for left in reversed(range(len(MIGRATION_IDS))):
            assert vaultstore.rollback_migrations(url, count=1) == [MIGRATION_IDS[left]]
            down[left] = dump_schema(url)
        up = [down[0]]
        for i in range(1, len(MIGRATION_IDS) + 1):
            vaultstore.apply_migrations(url, folder=copy_migrations(folder, MIGRATION_IDS[:i]))
            up.append(dump_schema(url))
    return {"original": [original], "down": down, "up": up}


@pytest.mark.parametrize("i", range(1, len(MIGRATION_IDS) + 1), ids=MIGRATION_IDS)
def test_rolling_back_a_migration_restores_the_schema_before_it(
    walk: dict[str, list[str]], forward_schemas: list[str], i: int
) -> None:
    assert walk["down"][i - 1] == forward_schemas[i - 1]


@pytest.mark.parametrize("i", range(1, len(MIGRATION_IDS) + 1), ids=MIGRATION_IDS)
def test_applying_a_migration_again_restores_its_schema(
    walk: dict[str, list[str]], forward_schemas: list[str], i: int
) -> None:
    assert walk["up"][i] == forward_schemas[i]


def test_rolling_back_one_at_a_time_and_applying_again_restores_the_original_schema(
    walk: dict[str, list[str]],
) -> None:
    assert walk["up"][-1] == walk["original"][0]


def test_the_schemas_compared_differ_at_every_step(forward_schemas: list[str]) -> None:
    assert len(set(forward_schemas)) == len(MIGRATION_IDS) + 1


# -- migrations that cannot run in a transaction -------------------------------------


def test_yoyo_runs_the_source_index_migration_outside_a_transaction() -> None:
    (migration,) = [m for m in read_migrations(str(MIGRATIONS)) if m.id == SOURCE_INDEX]
    migration.load()
    assert migration.use_transactions is False


def test_the_migrations_have_no_transactional_problem() -> None:
    assert transactional_problems(MIGRATIONS) == []


def test_transactional_problems_names_each_file_and_line_of_an_unmarked_concurrently(
    tmp_path: Path,
) -> None:
    folder = copy_migrations(tmp_path / "migrations", MIGRATION_IDS)
    forward = folder / f"{SOURCE_INDEX}.sql"
    forward.write_text(forward.read_text().replace(MARKER, ""))
    problems = transactional_problems(folder)
    assert [problem.split(": ", 1)[0] for problem in problems] == [
        f"{folder / SOURCE_INDEX}.rollback.sql:5",
        f"{forward}:7",
    ]


def test_a_concurrently_in_a_comment_is_no_problem(tmp_path: Path) -> None:
    (tmp_path / "0001.note.sql").write_text(
        "-- Not CREATE INDEX CONCURRENTLY: a small table.\nCREATE INDEX a_idx ON a (b);\n"
    )
    assert transactional_problems(tmp_path) == []


def test_without_its_marker_the_source_index_migration_fails_to_apply(
    empty_url: str, tmp_path: Path
) -> None:
    folder = copy_migrations(tmp_path / "migrations", MIGRATION_IDS)
    forward = folder / f"{SOURCE_INDEX}.sql"
    forward.write_text(forward.read_text().replace(MARKER, ""))
    with pytest.raises(VaultStoreError, match="cannot run inside a transaction block"):
        vaultstore.apply_migrations(empty_url, folder=folder)


def test_vaultstore_applies_the_source_index_migration_building_a_valid_index(
    migrated: str,
) -> None:
    assert source_index_valid(migrated) is True


def test_vaultstore_rolls_back_the_source_index_migration_dropping_the_index(
    migrated: str,
) -> None:
    # 0017, 0016, 0015, 0014, 0013, 0012, 0011, 0010 and 0009 first, then the index's 0008.
    assert vaultstore.rollback_migrations(migrated, count=10) == MIGRATION_IDS[:-11:-1]
    assert source_index_valid(migrated) is None


def test_yoyo_command_line_applies_the_source_index_migration(empty_url: str) -> None:
    yoyo("apply", "--batch", "--database", yoyo_url(empty_url), "migrations")
    assert source_index_valid(empty_url) is True


def test_yoyo_command_line_rolls_back_the_source_index_migration_alone(migrated: str) -> None:
    yoyo("rollback", "--batch", "-r", SOURCE_INDEX, "--database", yoyo_url(migrated), "migrations")
    assert source_index_valid(migrated) is None
    # 0012 depends on the index (it rebuilds it partitioned), so it goes first, and
    # 0013 and 0014 (which depend on 0012 in turn) before it.
    assert vaultstore.pending_migrations(migrated) == [SOURCE_INDEX, *MIGRATION_IDS[11:14]]
