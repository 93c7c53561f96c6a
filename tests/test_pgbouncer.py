"""vaultstore behind PgBouncer in transaction mode (``transaction_pooling=True``),
with one server connection for every client, so that whatever one client left in
the server's session, the next one finds: each store keeps its own operation
timeout, leaves nothing to other clients, gets its timestamps in UTC on a
database whose time zone is not, and prepares nothing PgBouncer could lose.

The database is this module's own, its default time zone Pacific/Chatham
(+12:45, or +13:45 in its summer), migrated directly on the server; the row
locks and the checks go to the server directly too, never through PgBouncer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import aiosql
import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

import vaultstore
from vaultstore import ChainId, LiquidationProtection, TokenAmount
from vaultstore.errors import OperationTimeoutError

from .conftest import TRUNCATE_ALL
from .databases import fresh_database
from .pgbouncer import PgBouncer, pgbouncer_for_tests

pytestmark = pytest.mark.pgbouncer

SQL = aiosql.from_path(Path(__file__).parent / "sql" / "pgbouncer.sql", "psycopg")
LOCKS = aiosql.from_path(Path(__file__).parent / "sql" / "tracing.sql", "psycopg")
ZONE = "Pacific/Chatham"
SHORT, LONG = 0.3, 10.0
"""Operation timeouts of two stores, seconds."""


@pytest.fixture(scope="module")
def zoned_db(postgres_url: str) -> Iterator[str]:
    """A migrated database of this module's own, its time zone not UTC."""
    with fresh_database(postgres_url) as url:
        name = conninfo_to_dict(url)["dbname"]
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("ALTER DATABASE {} SET timezone TO {}").format(
                    sql.Identifier(str(name)), sql.Literal(ZONE)
                )
            )
        vaultstore.apply_migrations(url)
        yield url


@pytest.fixture(scope="module")
def one_connection(postgres_url: str) -> Iterator[PgBouncer]:
    """A PgBouncer in transaction mode with one server connection per database,
    which every client shares."""
    with pgbouncer_for_tests(postgres_url, pool_size=1) as bouncer:
        yield bouncer


@pytest.fixture
def through(one_connection: PgBouncer, zoned_db: str) -> str:
    """The module's database emptied, as seen through that PgBouncer."""
    with psycopg.connect(zoned_db, autocommit=True) as conn:
        conn.execute(TRUNCATE_ALL)
    return one_connection.url(zoned_db)


def pooled(url: str, operation_timeout: float = 30.0) -> vaultstore.Store:
    return vaultstore.connect(
        url, transaction_pooling=True, pool_size=1, operation_timeout=operation_timeout
    )


def make_vault(store: vaultstore.Store) -> vaultstore.CreditVault:
    agent = store.agents.create(name=f"pgbouncer_{time.monotonic_ns()}", credibility_score=700)
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


def update(store: vaultstore.Store, where: str, vault_id: str) -> vaultstore.CreditVault:
    """A write of ``vault_id``, on its own or in a transaction of the store's."""
    if where == "call":
        return store.vaults.update_vault_metrics(vault_id, 61, 1.4)
    with store.transaction() as tx:
        return tx.vaults.update_vault_metrics(vault_id, 61, 1.4)


@pytest.mark.parametrize("where", ["call", "transaction"])
@pytest.mark.parametrize("first", ["short", "long"])
def test_each_store_keeps_its_own_operation_timeout(
    through: str, zoned_db: str, first: str, where: str
) -> None:
    """Two stores opened one after the other, every statement of both served by
    the same server connection: a write of the one with the short timeout that
    waits for a row lock is cancelled at its timeout, and one of the other waits
    on until the lock is released. A session setting would be the last store's."""
    timeouts = {"short": SHORT, "long": LONG}
    with ExitStack() as stack:
        stores = {
            name: stack.enter_context(pooled(through, operation_timeout=timeouts[name]))
            for name in sorted(timeouts, key=lambda name: name != first)
        }
        vault = make_vault(stores["long"])
        locker = stack.enter_context(psycopg.connect(zoned_db))  # directly, not through PgBouncer
        LOCKS.lock_vault(locker, id=vault.id)
        start = time.monotonic()
        with pytest.raises(OperationTimeoutError):
            update(stores["short"], where, vault.id)
        assert SHORT * 0.8 <= time.monotonic() - start < LONG / 2
        with (
            psycopg.connect(zoned_db, autocommit=True) as watcher,
            ThreadPoolExecutor(1) as pool,
        ):
            waiting = pool.submit(update, stores["long"], where, vault.id)
            deadline = time.monotonic() + LONG / 2
            # The long store's write waits for the lock well past the short timeout.
            while SQL.longest_wait_behind(watcher, pid=locker.info.backend_pid) < 3 * SHORT:
                assert not waiting.done(), waiting.exception()
                assert time.monotonic() < deadline, "the write never waited for the lock"
                threading.Event().wait(0.02)
            locker.rollback()
            assert waiting.result(timeout=LONG).ltv == 61


def test_a_store_leaves_no_setting_to_the_next_client(through: str) -> None:
    with (
        pooled(through, operation_timeout=SHORT) as store,
        psycopg.connect(through, autocommit=True) as other,
    ):
        store.agents.create(name="first", credibility_score=700)
        with store.transaction(timeout=SHORT / 2) as tx:
            tx.agents.create(name="second", credibility_score=700)
        assert SQL.setting(other, name="statement_timeout") == "0"
        assert SQL.setting(other, name="TimeZone") == ZONE


def test_timestamps_come_back_in_utc_whatever_the_server_s_time_zone(through: str) -> None:
    with pooled(through) as store, psycopg.connect(through, autocommit=True) as other:
        assert SQL.setting(other, name="TimeZone") == ZONE  # the database's own
        agent = store.agents.create(name="zoned", credibility_score=700)
        assert SQL.setting(other, name="TimeZone") == ZONE  # between the store's calls
        found = store.agents.find_by_id(agent.id)
        with store.transaction() as tx:
            locked = tx.agents.lock(agent.id)
        assert found == locked == agent
        for stamp in (agent.created_at, found.updated_at, locked.created_at):
            assert stamp.utcoffset() == timedelta(0), stamp


def test_a_statement_run_many_times_is_never_prepared(through: str) -> None:
    """psycopg prepares a statement after its 5th run on a connection by default;
    behind PgBouncer 1.18 two clients would each prepare ``_pg3_0`` on the one
    server connection (the second fails), or find it missing on another."""
    with (
        pooled(through) as one,
        pooled(through) as two,
        psycopg.connect(through, autocommit=True) as other,
    ):
        agent = one.agents.create(name="often", credibility_score=700)
        for _ in range(3 * 5):
            assert one.agents.find_by_id(agent.id) == agent
            assert two.agents.find_by_id(agent.id) == agent
        assert SQL.prepared_statements(other) == 0


def test_each_view_of_a_store_sends_its_own_scope(through: str, zoned_db: str) -> None:
    """The statements' query text is kept per scope: a view made by scoped() shares
    the store's plans, and must not send the store's tenant, actor or audit switch."""
    with vaultstore.connect(through, transaction_pooling=True, tenant="acme", actor="a") as acme:
        first = acme.agents.create(name="of acme", credibility_score=700)  # text kept for acme
        globex = acme.scoped(tenant="globex", actor="g")
        second = globex.agents.create(name="of globex", credibility_score=700)
        quiet = acme.scoped(audit=False)
        third = quiet.agents.create(name="unaudited", credibility_score=700)
        assert [r.actor for r in globex.audit.history("agents", second.id)] == ["g"]
        assert list(globex.audit.history("agents", first.id)) == []
        assert list(acme.audit.history("agents", third.id)) == []
    with psycopg.connect(zoned_db) as conn:
        rows = conn.execute(
            "SELECT id, tenant_id FROM agents WHERE id = any(%s) ORDER BY id",
            [[first.id, second.id, third.id]],
        ).fetchall()
    assert rows == [(first.id, "acme"), (second.id, "globex"), (third.id, "acme")]
