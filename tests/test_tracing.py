"""Every statement vaultstore sends starts with a comment naming its query file, the
line of its ``-- name:`` header and its name, so that what a DBA sees on the server
(pg_stat_activity, the slow-query log, pg_stat_statements) leads to the file."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aiosql
import psycopg
import pytest

import vaultstore
from vaultstore import ChainId, LiquidationProtection, TokenAmount
from vaultstore._queries import load_queries
from vaultstore._sync.adapter import QueryAdapter
from vaultstore._sync.contracts import Store

ROOT = Path(__file__).resolve().parent.parent
TRACING = aiosql.from_path(Path(__file__).parent / "sql" / "tracing.sql", "psycopg")
HEADER = re.compile(r"^--\s*name\s*:\s*(\w+)", re.MULTILINE)
WAIT_FOR_LOCK = 30.0  # seconds: a bound for a stuck test, never waited for when all is well


def header_lines(path: Path) -> dict[str, int]:
    """Each statement's name and the line of its ``-- name:`` header, read off the file."""
    text = path.read_text()
    return {m.group(1): text.count("\n", 0, m.start()) + 1 for m in HEADER.finditer(text)}


def blocked_statements(url: str, pid: int) -> list[str]:
    """The statements of the sessions waiting for a lock that session ``pid`` holds, as
    soon as there is one (polling pg_stat_activity; a stuck wait fails the test)."""
    deadline = time.monotonic() + WAIT_FOR_LOCK
    with psycopg.connect(url, autocommit=True) as watcher:
        while time.monotonic() < deadline:
            found = [row[0] for row in TRACING.blocked_by(watcher, pid=pid)]
            if found:
                return found
    raise AssertionError(f"no session waited for the lock of session {pid}")


@pytest.fixture(params=[None, 0], ids=["unprepared", "prepared"])
def store(request: pytest.FixtureRequest, clean_db: str) -> Iterator[Store]:
    """A store whose statements are never prepared, or prepared on their first run."""
    with vaultstore.connect(clean_db, prepare_threshold=request.param) as opened:
        yield opened


def new_vault_id(store: Store) -> str:
    agent = store.agents.create(name="agent_traced", credibility_score=700)
    vault = store.vaults.create(
        agent_id=agent.id,
        chain_id=ChainId.ETHEREUM,
        collateral=TokenAmount(token="ETH", amount=10, value_usd=20000),
        debt=TokenAmount(token="USDC", amount=10000, value_usd=10000),
        ltv=50,
        health_factor=2.0,
        max_ltv=70,
        liquidation_protection=LiquidationProtection(enabled=True, threshold=60, cooldown=60),
    )
    return vault.id


def test_every_loaded_statement_starts_with_its_file_line_and_name() -> None:
    queries = load_queries(QueryAdapter, ROOT / "queries")
    expected = {
        f"{path.stem}.{name}": f"/* vaultstore queries/{path.name}:{line} {path.stem}.{name} */\n"
        for path in sorted((ROOT / "queries").glob("*.sql"))
        for name, line in header_lines(path).items()
    }
    found = {
        f"{stem}.{name}": getattr(getattr(queries, stem), name).sql[
            : len(expected[f"{stem}.{name}"])
        ]
        for stem, name in (key.split(".") for key in expected)
    }
    assert found == expected


def test_a_line_number_counts_the_lines_of_block_comments_above(tmp_path: Path) -> None:
    folder = tmp_path / "queries"
    folder.mkdir()
    (folder / "notes.sql").write_text(
        "/* A block comment\n   over three\n   lines. */\n\n"
        "-- name: first()$\nSELECT 1;\n\n"
        "/* another\n   one */\n"
        "-- name: second()$\nSELECT 2;\n"
    )
    queries = load_queries(QueryAdapter, folder).notes
    assert queries.second.sql.startswith("/* vaultstore queries/notes.sql:10 notes.second */\n")


def test_a_waiting_statement_shows_its_file_line_and_name_in_pg_stat_activity(
    store: Store, clean_db: str
) -> None:
    vault_id = new_vault_id(store)
    line = header_lines(ROOT / "queries" / "vaults.sql")["update"]
    with psycopg.connect(clean_db) as locker, ThreadPoolExecutor(1) as pool:
        TRACING.lock_vault(locker, id=vault_id)
        update = pool.submit(store.vaults.update, vault_id, ltv=55)
        try:
            waiting = blocked_statements(clean_db, locker.info.backend_pid)
        finally:
            locker.rollback()
        assert update.result(timeout=WAIT_FOR_LOCK).ltv == 55
    assert [statement.split("\n", 1)[0] for statement in waiting] == [
        f"/* vaultstore queries/vaults.sql:{line} vaults.update */"
    ]


def test_a_statement_kept_waiting_logs_one_slow_line_naming_its_file_and_line(
    clean_db: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A real slow statement: the update waits for a row lock another session holds
    for the threshold after the update is seen waiting (the wait is what makes it
    slow, not a guess at a race). It logs one line, with where it is declared."""
    threshold_ms = 200
    line = header_lines(ROOT / "queries" / "vaults.sql")["update_metrics"]
    with vaultstore.connect(clean_db, slow_ms=threshold_ms) as store:
        vault_id = new_vault_id(store)
        caplog.set_level(logging.WARNING, logger="vaultstore")
        caplog.clear()
        with psycopg.connect(clean_db) as locker, ThreadPoolExecutor(1) as pool:
            TRACING.lock_vault(locker, id=vault_id)
            update = pool.submit(store.vaults.update_vault_metrics, vault_id, 55, 2)
            try:
                blocked_statements(clean_db, locker.info.backend_pid)
                time.sleep(threshold_ms / 1000)
            finally:
                locker.rollback()
            assert update.result(timeout=WAIT_FOR_LOCK).ltv == 55
    (slow,) = [
        r for r in caplog.records if getattr(r, "statement", None) == "vaults.update_metrics"
    ]
    assert slow.location == f"queries/vaults.sql:{line}"  # type: ignore[attr-defined]
    assert slow.duration_ms >= threshold_ms  # type: ignore[attr-defined]
    assert (slow.rows, slow.backend, slow.error) == (1, "postgresql", None)  # type: ignore[attr-defined]
    assert f"queries/vaults.sql:{line}" in slow.getMessage()
