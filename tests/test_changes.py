"""The change feed (``store.watch``), on real servers: every committed write is one
event, a rolled-back one none; order per entity; resume tokens; tenancy; a gap in
the PostgreSQL outbox waited out; the feed reconnecting by itself under load;
pruning; ``vaultstore watch``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pymongo
import pytest

import vaultstore
from vaultstore import (
    ChangeEvent,
    ChangeFeed,
    ChangesLostError,
    LiquidationProtection,
    Store,
    TokenAmount,
    ValidationError,
    WriteKind,
)
from vaultstore._changes import Positions
from vaultstore.admin.cli import main

from .outages import BOUND, SecantusDaemon
from .roles import app_roles, as_user

BACKENDS = ["postgresql", "mongodb"]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    url = request.getfixturevalue("clean_db" if request.param == "postgresql" else "clean_mongo")
    with vaultstore.connect(url, pool_size=4) as opened:
        yield opened


def take(feed: ChangeFeed, count: int) -> list[ChangeEvent]:
    """The next ``count`` events (the feed blocks until they come)."""
    return [next(feed) for _ in range(count)]


def new_agent(store: Any, name: str) -> Any:
    return store.agents.create(name=name, credibility_score=700)


# -- what an event is -------------------------------------------------------------


def test_each_committed_write_is_one_event_in_order(store: Store) -> None:
    with store.watch("agents") as feed:
        agent = new_agent(store, "a1")
        store.agents.update(agent.id, credibility_score=710)
        store.agents.delete(agent.id)
        inserted, updated, deleted = take(feed, 3)
    assert [e.operation for e in (inserted, updated, deleted)] == [
        WriteKind.INSERT,
        WriteKind.UPDATE,
        WriteKind.DELETE,
    ]
    assert [e.version for e in (inserted, updated, deleted)] == [1, 2, 2]
    assert inserted.entity == agent
    assert updated.entity == store.agents.find_by_id(agent.id) or updated.entity.version == 2
    assert updated.entity.credibility_score == 710
    assert deleted.entity is None
    assert {e.id for e in (inserted, updated, deleted)} == {agent.id}
    assert {e.tenant for e in (inserted, updated, deleted)} == {"default"}
    assert {e.entity_type for e in (inserted, updated, deleted)} == {"agents"}


def test_a_rolled_back_write_emits_nothing(store: Store) -> None:
    with store.watch("agents") as feed:
        with pytest.raises(RuntimeError), store.transaction() as tx:
            new_agent(tx, "rolled-back")
            raise RuntimeError
        kept = new_agent(store, "kept")
        (event,) = take(feed, 1)
    assert event.id == kept.id


def test_the_entity_carries_its_decimals_exactly(store: Store) -> None:
    with store.watch("market_data") as feed:
        price = store.market_data.create(
            token="ETH", chain_id=1, price_usd="3456.123456789012345678", source="test"
        )
        (event,) = take(feed, 1)
    assert event.entity == price
    assert event.tenant is None  # shared data


def test_a_feed_watches_only_the_types_it_names(store: Store) -> None:
    with store.watch(vaultstore.CreditVault) as feed:
        agent = new_agent(store, "owner")
        vault = store.vaults.create(
            agent_id=agent.id,
            chain_id=1,
            collateral=TokenAmount(token="ETH", amount=10, value_usd=20000),
            debt=TokenAmount(token="USDC", amount=10000, value_usd=10000),
            ltv=50,
            health_factor=2,
            max_ltv=70,
            liquidation_protection=LiquidationProtection(threshold=60),
        )
        (event,) = take(feed, 1)
    assert (event.entity_type, event.id) == ("vaults", vault.id)


def test_resuming_after_a_token_misses_nothing(store: Store) -> None:
    with store.watch("agents") as feed:
        first = new_agent(store, "first")
        (seen,) = take(feed, 1)
    assert seen.id == first.id
    later = [new_agent(store, f"later-{i}").id for i in range(3)]
    with store.watch("agents", resume_after=seen.resume_token) as feed:
        assert [e.id for e in take(feed, 3)] == later


def test_a_bad_resume_token_or_type_is_refused_before_any_io(store: Store) -> None:
    with pytest.raises(ValidationError, match="resume token"):
        store.watch(resume_after="nonsense")
    other = "mongo.00ff" if store.backend == "postgresql" else "pg.12"
    with pytest.raises(ValidationError, match="resume token"):
        store.watch(resume_after=other)
    with pytest.raises(ValidationError, match="entity"):
        store.watch("wallets")


def test_a_scoped_store_sees_only_its_tenant_s_changes(store: Store) -> None:
    acme, other = store.scoped(tenant="acme"), store.scoped(tenant="other")
    with acme.watch("agents") as feed:
        new_agent(other, "theirs")
        ours = new_agent(acme, "ours")
        other_agent = new_agent(other, "theirs-too")
        other.agents.delete(other_agent.id)
        acme.agents.delete(ours.id)
        events = take(feed, 2)
    assert [(e.id, e.operation, e.tenant) for e in events] == [
        (ours.id, WriteKind.INSERT, "acme"),
        (ours.id, WriteKind.DELETE, "acme"),
    ]


# -- PostgreSQL: positions that commit out of order ---------------------------------


def test_positions_are_delivered_contiguously_and_a_settled_gap_is_stepped_over() -> None:
    positions = Positions(last=3)
    rows = [(4,), (6,), (7,)]
    delivered, blocked = positions.accept(rows, complete=True)
    assert (delivered, blocked) == ([(4,)], True)
    positions.gap(rows, ["901"])
    assert not positions.settled
    positions.settled = True  # transaction 901 is no longer in progress
    delivered, blocked = positions.accept([(5,), (6,), (7,), (9,)], complete=True)
    assert (delivered, blocked) == ([(5,), (6,), (7,)], True)
    assert positions.last == 7
    positions.gap([(9,)], [])  # nothing in progress: settled at once
    delivered, blocked = positions.accept([(9,)], complete=True)
    assert (delivered, blocked, positions.last) == ([(9,)], False, 9)


def _feed_waits_on_a_gap(url: str) -> Callable[[], bool]:
    def waiting() -> bool:
        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE %s",
                ("%changes.finished%",),
            ).fetchone()
        return bool(row and row[0])

    return waiting


def _wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + BOUND
    while not condition():
        assert time.monotonic() < deadline, f"waited {BOUND:g} s for {what}"
        time.sleep(0.005)


@pytest.mark.parametrize("outcome", ["commit", "rollback"])
def test_a_later_position_waits_for_an_earlier_one_still_in_progress(
    clean_db: str, outcome: str
) -> None:
    """Transaction A takes a position and stays open; B takes the next one and
    commits. The feed must not step over A's position while A is in progress:
    it delivers A's change, then B's, when A commits; only B's when A rolls back."""
    with vaultstore.connect(clean_db) as store, store.watch("agents") as feed:
        slow = psycopg.connect(clean_db)
        slow.execute("SELECT set_config('vaultstore.tenant', 'default', false)")
        slow.execute(
            "INSERT INTO agents (id, name, credibility_score) "
            "VALUES ('01SLOW0000000000000000000A', 'slow', 700)"
        )
        fast = new_agent(store, "fast")
        got: list[ChangeEvent] = []
        reader = threading.Thread(target=lambda: got.extend(take(feed, 1)))
        reader.start()
        _wait_until(_feed_waits_on_a_gap(clean_db), "the feed to wait on the gap")
        assert got == []  # B's change is held back while A is in progress
        if outcome == "commit":
            slow.commit()
        else:
            slow.rollback()
        slow.close()
        reader.join(BOUND)
        if outcome == "commit":
            got.extend(take(feed, 1))
            assert [e.id for e in got] == ["01SLOW0000000000000000000A", fast.id]
        else:
            assert [e.id for e in got] == [fast.id]


# -- under load, with the connection lost twice --------------------------------------


class Watcher:
    """A feed read in a thread, every event kept with the moment it arrived."""

    def __init__(self, feed: ChangeFeed) -> None:
        self.feed = feed
        self.events: list[tuple[float, ChangeEvent]] = []
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for event in self.feed:
                self.events.append((time.monotonic(), event))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc

    def wait_for(self, count: int) -> None:
        """Until ``count`` events came; a hang is :data:`BOUND` seconds without a new
        one (under load the events come at the writers' pace, which no fixed bound
        on the whole wait would fit)."""
        seen, deadline = -1, 0.0
        while len(self.events) < count and self.error is None:
            if len(self.events) != seen:
                seen, deadline = len(self.events), time.monotonic() + BOUND
            assert time.monotonic() < deadline, f"no event for {BOUND:g} s at {seen} of {count}"
            time.sleep(0.005)
        assert self.error is None, self.error

    def stop(self) -> None:
        self.feed.close()
        self._thread.join(BOUND)


def write_load(store: Store, writes: int, threads: int) -> list[str]:
    """``writes`` writes from ``threads`` threads: updates of agents each thread
    owns (a long run of versions per agent, whose order the feed must keep), every
    25th a create, and every tenth a transaction that creates an agent and rolls
    back; a write that fails (the server restarting) is tried again. The
    ids of the rolled-back agents."""
    rolled_back: list[str] = []
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            write(n)
        except BaseException as exc:  # noqa: BLE001 - raised again in the test's thread
            errors.append(exc)

    def write(n: int) -> None:
        mine: list[str] = []
        done = 0
        while done < writes // threads:
            try:
                if done % 10 == 0:
                    with pytest.raises(RuntimeError), store.transaction() as tx:
                        rolled_back.append(new_agent(tx, f"rb-{n}-{done}").id)
                        raise RuntimeError
                elif not mine or done % 25 == 1:  # never a multiple of 10
                    mine.append(new_agent(store, f"w-{n}-{done}").id)
                else:
                    store.agents.update(mine[done % len(mine)], credibility_score=600 + done % 200)
            except vaultstore.UnavailableError:
                continue  # the server is restarting; the write may have been applied
            except vaultstore.VaultStoreError as exc:
                if not exc.retryable:
                    raise
                continue  # a transaction the restart ended (NoSuchTransaction): again
            done += 1

    pool = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    if errors:
        raise errors[0]
    return rolled_back


def check_complete(
    events: list[ChangeEvent], stored: dict[str, int], rolled_back: list[str]
) -> None:
    """Every stored agent's versions 1..n seen, in order (a repeat after a
    reconnection allowed), and nothing of the rolled-back ones."""
    seen: dict[str, list[int]] = {}
    for event in events:
        versions = seen.setdefault(event.id, [])
        if event.version not in versions:
            assert not versions or event.version == versions[-1] + 1, (event, versions)
            versions.append(event.version or 0)
    assert not set(rolled_back) & set(seen)
    assert {id: len(v) for id, v in seen.items()} == stored


@pytest.mark.slow
def test_postgresql_every_committed_write_is_seen_though_the_feed_is_killed_twice(
    clean_db: str,
) -> None:
    with vaultstore.connect(clean_db, pool_size=8) as store:
        watcher = Watcher(store.watch("agents").__enter__())
        killer = threading.Thread(target=_kill_feed_twice, args=(clean_db, watcher))
        killer.start()
        rolled_back = write_load(store, 10_000, 4)
        killer.join(BOUND)
        assert not killer.is_alive()
        with psycopg.connect(clean_db) as conn:
            rows = conn.execute("SELECT id, version FROM agents").fetchall()
        stored: dict[str, int] = dict(rows)
        watcher.wait_for(sum(stored.values()))
        watcher.stop()
    check_complete([e for _, e in watcher.events], stored, rolled_back)


def _kill_feed_twice(url: str, watcher: Watcher) -> None:
    for count in (1500, 4000):
        watcher.wait_for(count)
        with psycopg.connect(url, autocommit=True) as conn:
            killed = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE query LIKE %s AND pid <> pg_backend_pid()",
                ("%vaultstore queries/changes.sql%",),
            ).fetchall()
        assert killed, "no feed connection to kill"


@pytest.fixture
def own_mongo(tmp_path: Path) -> Iterator[SecantusDaemon]:
    daemon = SecantusDaemon(tmp_path / "secantus")
    try:
        vaultstore.apply_migrations(daemon.url)
        yield daemon
    finally:
        daemon.close()


@pytest.mark.slow
def test_mongodb_every_committed_write_is_seen_though_the_server_restarts_twice(
    own_mongo: SecantusDaemon,
) -> None:
    """Restarted with SIGTERM: killed, it may lose the last change events of writes
    it kept (README, "Change feed")."""
    with vaultstore.connect(own_mongo.url, pool_size=8, operation_timeout=5) as store:
        watcher = Watcher(store.watch("agents").__enter__())

        def restart_twice() -> None:
            for count in (1500, 4500):
                watcher.wait_for(count)
                own_mongo.terminate()
                own_mongo.start()

        killer = threading.Thread(target=restart_twice)
        killer.start()
        rolled_back = write_load(store, 10_000, 4)
        killer.join(BOUND)
        assert not killer.is_alive()
        client: pymongo.MongoClient[Any] = pymongo.MongoClient(own_mongo.url)
        agents = client.get_default_database().agents.find()
        stored: dict[str, int] = {d["_id"]: d["version"] for d in agents}
        client.close()
        watcher.wait_for(sum(stored.values()))
        watcher.stop()
    check_complete([e for _, e in watcher.events], stored, rolled_back)


# -- pruning and the command line -----------------------------------------------------


def test_a_token_older_than_what_was_pruned_is_refused(clean_db: str) -> None:
    with vaultstore.connect(clean_db) as store:
        with store.watch("agents") as feed:
            new_agent(store, "old")
            (old,) = take(feed, 1)
        new_agent(store, "newer")
        assert main(["prune-changes", "--database", clean_db, "--older-than", "0.001s"]) == 0
        with pytest.raises(ChangesLostError), store.watch(resume_after=old.resume_token) as feed:
            next(feed)


def test_prune_changes_needs_a_duration(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["prune-changes", "--older-than", "soon"])
    assert "expected a duration" in capsys.readouterr().err


@pytest.mark.parametrize("backend", BACKENDS)
def test_vaultstore_watch_prints_each_change_as_a_json_line(
    request: pytest.FixtureRequest, backend: str
) -> None:
    url = request.getfixturevalue("clean_db" if backend == "postgresql" else "clean_mongo")
    command = Path(sys.executable).with_name("vaultstore")
    with subprocess.Popen(  # a fixed argument list, no shell
        [str(command), "watch", "--database", url, "market_data"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    ) as process:
        try:
            assert process.stderr is not None
            assert process.stdout is not None
            assert "watching" in process.stderr.readline()
            with vaultstore.connect(url) as store:
                price = store.market_data.create(
                    token="BTC", chain_id=1, price_usd="97000.12345678", source="cli"
                )
            line = json.loads(process.stdout.readline())
        finally:
            process.terminate()
    assert line["entity_type"] == "market_data"
    assert line["operation"] == "insert"
    assert line["id"] == price.id
    assert line["entity"]["price_usd"] == "97000.12345678"
    assert line["tenant"] is None


# -- as the application role -----------------------------------------------------------


@pytest.fixture(scope="module")
def app_url(module_database: str) -> Iterator[str]:
    """The module's database, migrated, as the application role of ``vaultstore
    roles`` (row-level security holds for it)."""
    vaultstore.apply_migrations(module_database)
    with app_roles(module_database) as names:
        yield as_user(module_database, names.app)


def test_as_the_application_role_a_tenant_s_feed_steps_over_other_tenants_rows(
    app_url: str,
) -> None:
    with vaultstore.connect(app_url, tenant="acme") as acme:
        globex = acme.scoped(tenant="globex")
        with acme.watch("agents") as feed:
            new_agent(globex, "theirs")
            ours = new_agent(acme, "ours")
            new_agent(globex, "theirs-too")
            ours_too = new_agent(acme, "ours-too")
            assert [(e.id, e.tenant) for e in take(feed, 2)] == [
                (ours.id, "acme"),
                (ours_too.id, "acme"),
            ]


def test_the_application_role_may_not_prune_the_feed(app_url: str) -> None:
    with (
        vaultstore.connect(app_url, tenant="acme") as store,
        pytest.raises(vaultstore.VaultStoreError) as refused,
    ):
        store.prune_changes(timedelta(days=1))
    assert refused.value.code == "42501"
