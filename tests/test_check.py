"""``vaultstore check`` (every statement prepared on a migrated database, statements
and repository methods matched) and ``vaultstore queries`` (the catalogue)."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

import vaultstore
from vaultstore._settings import settings_from_url
from vaultstore.admin.check import Folders, check, default_folders, load_catalog
from vaultstore.admin.cli import main

from .databases import fresh_database

ROOT = Path(__file__).resolve().parent.parent
HEADER = re.compile(r"^--\s*name\s*:\s*(\w+)", re.MULTILINE)
BROKEN = """-- Statements the server refuses, and one it would run.

-- name: unknown_column(id)^
-- A column that is not there.
SELECT nope FROM agents
WHERE id = :id;

-- name: syntax_error(id)^
SELEC * FROM agents WHERE id = :id;

-- name: wipe()!
-- Would delete every agent, if it ran.
DELETE FROM agents;
"""


def header_lines(path: Path) -> dict[str, int]:
    """Each statement's name and the line of its ``-- name:`` header, read off the file."""
    text = path.read_text()
    return {m.group(1): text.count("\n", 0, m.start()) + 1 for m in HEADER.finditer(text)}


def source_line(text: str) -> int:
    """The line of vaultstore/_async/repositories.py holding ``text``."""
    source = (ROOT / "vaultstore" / "_async" / "repositories.py").read_text()
    return source.count("\n", 0, source.index(text)) + 1


@pytest.fixture
def queries(tmp_path: Path) -> Path:
    """A copy of queries/ to break."""
    folder = tmp_path / "queries"
    shutil.copytree(ROOT / "queries", folder)
    return folder


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    code = main(list(argv))
    return code, capsys.readouterr().out.splitlines()


def test_the_query_files_pass(migrated_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "check", "--database", migrated_url)
    assert (code, out[-1]) == (0, "vaultstore check: every statement prepares and is used")


def test_without_a_database_the_check_starts_an_embedded_postgresql(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in [n for n in os.environ if n == "DATABASE_URL" or n.startswith("POSTGRES_")]:
        monkeypatch.delenv(name)
    code, out = run(capsys, "check")
    assert (code, out[0], out[-1]) == (
        0,
        "No database configured: starting an embedded PostgreSQL",
        "vaultstore check: every statement prepares and is used",
    )


def test_an_unknown_column_is_reported_with_file_line_and_server_message(
    migrated_url: str, queries: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (queries / "broken.sql").write_text(BROKEN)
    code, out = run(capsys, "check", "--database", migrated_url, "--queries", str(queries))
    assert code == 1
    assert any(
        line.startswith('queries/broken.sql:3 broken.unknown_column: column "nope" does not exist')
        for line in out
    ), out


def test_a_syntax_error_is_reported_with_file_line_and_server_message(
    migrated_url: str, queries: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (queries / "broken.sql").write_text(BROKEN)
    code, out = run(capsys, "check", "--database", migrated_url, "--queries", str(queries))
    assert code == 1
    assert 'queries/broken.sql:8 broken.syntax_error: syntax error at or near "SELEC"' in out


def test_statements_are_prepared_and_never_run(clean_db: str, queries: Path) -> None:
    (queries / "broken.sql").write_text(BROKEN)
    with vaultstore.connect(clean_db) as store:
        agent = store.agents.create(name="agent_kept", credibility_score=700)
        assert main(["check", "--database", clean_db, "--queries", str(queries)]) == 1
        assert list(store.agents.list()) == [agent]


def test_a_row_returning_kind_without_rows_is_reported(
    migrated_url: str, queries: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vaults = queries / "vaults.sql"
    text = vaults.read_text()
    end = text.index("RETURNING *;", text.index("-- name: update_metrics("))
    vaults.write_text(text[:end].rstrip() + ";" + text[end + len("RETURNING *;") :])
    line = header_lines(vaults)["update_metrics"]
    code, out = run(capsys, "check", "--database", migrated_url, "--queries", str(queries))
    assert code == 1
    assert (
        f"queries/vaults.sql:{line} vaults.update_metrics: returns no rows, but is declared "
        "insert returning (<!): add RETURNING, or use the suffix !"
    ) in out


def test_a_statement_no_repository_method_runs_is_reported(
    migrated_url: str, queries: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    agents = queries / "agents.sql"
    agents.write_text(
        agents.read_text() + "\n-- name: count_all()$\n-- Unused.\nSELECT count(*) FROM agents;\n"
    )
    twins = queries / "agents.mongodb.json"
    declared = json.loads(twins.read_text())
    twins.write_text(json.dumps({**declared, "count_all": {"find": {}}}))
    line = header_lines(agents)["count_all"]
    code, out = run(capsys, "check", "--database", migrated_url, "--queries", str(queries))
    assert (code, out[-2:]) == (
        1,
        [
            f"queries/agents.sql:{line} agents.count_all: not used by any repository method",
            "vaultstore check: 1 problem(s)",
        ],
    )


def test_a_statement_a_repository_method_names_but_no_file_has_is_reported(
    migrated_url: str, queries: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vaults = queries / "vaults.sql"
    vaults.write_text(vaults.read_text().replace("-- name: update_metrics(", "-- name: metrics("))
    line = source_line("async def update_vault_metrics(")
    code, out = run(capsys, "check", "--database", migrated_url, "--queries", str(queries))
    assert code == 1
    assert (
        f"vaultstore/_async/repositories.py:{line} vaults.update_metrics: no statement named "
        "update_metrics in queries/vaults.sql (named by store.vaults.update_vault_metrics)"
    ) in out


def test_an_applied_migration_edited_since_is_reported_as_drift(
    postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    migrations = tmp_path / "migrations"
    shutil.copytree(ROOT / "migrations", migrations, ignore=shutil.ignore_patterns("__pycache__"))
    with fresh_database(postgres_url) as url:
        vaultstore.apply_migrations(url, folder=migrations)
        edited = migrations / "0002.credit-vaults.sql"
        edited.write_text(edited.read_text() + "\n-- an afterthought\n")

        code, lines = run(capsys, "check", "--database", url, "--migrations", str(migrations))

    assert code == 1
    assert any("0002.credit-vaults.sql" in line for line in lines)


def test_a_concurrent_index_in_a_transactional_migration_is_reported(
    postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    migrations = tmp_path / "migrations"
    shutil.copytree(ROOT / "migrations", migrations, ignore=shutil.ignore_patterns("__pycache__"))
    marked = migrations / "0008.market-data-source-index.sql"
    marked.write_text(marked.read_text().replace("-- transactional: false", "-- (unmarked)"))
    with fresh_database(postgres_url) as url:
        code, lines = run(capsys, "check", "--database", url, "--migrations", str(migrations))

    assert code == 1
    assert any("0008.market-data-source-index.sql" in line for line in lines)


def test_extra_checks_add_their_problems(migrated_url: str) -> None:
    def drift(settings: object, folders: Folders) -> list[str]:
        return [f"{folders.migrations.name}/0001.agents.sql: changed since it was applied"]

    problems = check(settings_from_url(migrated_url), default_folders(), extra_checks=[drift])
    assert problems == ["migrations/0001.agents.sql: changed since it was applied"]


def statements_json(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    code, out = run(capsys, "queries", "--json", "--queries", str(ROOT / "queries"))
    assert code == 0
    return {s["name"]: s for s in json.loads("\n".join(out))["statements"]}


def test_the_json_catalogue_lists_every_statement_with_file_and_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    listed = {name: (s["file"], s["line"]) for name, s in statements_json(capsys).items()}
    assert listed == {
        f"{path.stem}.{name}": (f"queries/{path.name}", line)
        for path in (ROOT / "queries").glob("*.sql")
        for name, line in header_lines(path).items()
    }


def test_the_json_catalogue_gives_kind_parameters_documentation_and_callers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    found = statements_json(capsys)["agents.find_by_name"]
    source = f"vaultstore/_async/repositories.py:{source_line('async def find_by_name(')}"
    assert {k: found[k] for k in ("kind", "suffix", "params", "doc", "callers")} == {
        "kind": "select one",
        "suffix": "^",
        "params": ["name"],
        "doc": "One agent by its unique name, or no row.",
        "callers": [
            {
                "call": "store.agents.find_by_name",
                "class": "AsyncAgents",
                "sync_class": "Agents",
                "method": "find_by_name",
                "defined_at": source,
            }
        ],
    }


def test_a_method_that_may_read_back_names_find_by_id_too(
    capsys: pytest.CaptureFixture[str],
) -> None:
    callers = [c["call"] for c in statements_json(capsys)["vaults.find_by_id"]["callers"]]
    assert callers == [
        "store.vaults.delete",  # to tell a missing vault from a stale expected_version
        "store.vaults.find_by_id",
        "store.vaults.lock",  # declared on every repository: read first when located_by
        "store.vaults.update",
        "store.vaults.update_vault_metrics",
    ]


def test_a_base_class_method_counts_for_each_repository_with_its_query_file(
    capsys: pytest.CaptureFixture[str],
) -> None:
    found = statements_json(capsys)
    assert [
        [c["call"] for c in found[f"{stem}.list_after"]["callers"]]
        for stem in ("agents", "market_data")
    ] == [["store.agents.list"], ["store.market_data.list"]]


def test_the_table_names_each_statement_with_its_file_and_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    line = header_lines(ROOT / "queries" / "agents.sql")["find_by_name"]
    code, out = run(capsys, "queries", "--queries", str(ROOT / "queries"))
    rows = [row.split() for row in out if row.startswith(f"queries/agents.sql:{line} ")]
    assert (code, rows) == (
        0,
        [
            [
                f"queries/agents.sql:{line}",
                "agents.find_by_name",
                "select",
                "one",
                "(^)",
                "store.agents.find_by_name",
            ]
        ],
    )


def test_the_check_refuses_a_mongodb_database() -> None:
    with pytest.raises(vaultstore.errors.VaultStoreError, match="PostgreSQL query files"):
        check(settings_from_url("mongodb://localhost/risk_monitor"))


def test_a_statement_without_its_mongodb_twin_is_reported(queries: Path) -> None:
    twins = queries / "agents.mongodb.json"
    declared = json.loads(twins.read_text())
    del declared["find_by_name"]
    declared["find_by_nickname"] = {"find_one": {"nickname": ":nickname"}}
    twins.write_text(json.dumps(declared))
    line = header_lines(queries / "agents.sql")["find_by_name"]
    problems = load_catalog(Folders(queries, ROOT / "migrations")).problems()
    assert problems == [
        f"queries/agents.sql:{line} agents.find_by_name: has no MongoDB twin in "
        "queries/agents.mongodb.json",
        "queries/agents.mongodb.json agents.find_by_nickname: has no statement of that name "
        "in queries/agents.sql",
    ]


def test_a_twin_taking_a_parameter_its_statement_does_not_is_reported(queries: Path) -> None:
    twins = queries / "agents.mongodb.json"
    declared = json.loads(twins.read_text())
    declared["find_by_name"]["find_one"] = {"name": ":nick"}
    twins.write_text(json.dumps(declared))
    line = header_lines(queries / "agents.sql")["find_by_name"]
    assert load_catalog(Folders(queries, ROOT / "migrations")).problems() == [
        f"queries/agents.mongodb.json agents.find_by_name: takes :nick, which "
        f"queries/agents.sql:{line} does not; the twins take the same parameters"
    ]


def test_an_unreadable_twin_is_reported(queries: Path) -> None:
    (queries / "vaults.mongodb.json").write_text('{"find_by_id": {"find_one": {}, "sort": 1, ')
    problems = load_catalog(Folders(queries, ROOT / "migrations")).problems()
    assert [p.split(":")[0] for p in problems] == ["queries/vaults.mongodb.json"]


def test_the_store_methods_name_their_statements_too(capsys: pytest.CaptureFixture[str]) -> None:
    statements = statements_json(capsys)
    assert [c["call"] for c in statements["health.ping"]["callers"]] == [
        "store.health",
        "store.ping",
    ]
    assert [c["call"] for c in statements["health.server_state"]["callers"]] == ["store.health"]
