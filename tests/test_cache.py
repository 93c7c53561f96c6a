"""The Redis cache on real servers (PostgreSQL, SecantusDB, Redis): hits and
misses, invalidation after commit and never before, no stale read under 8
writers and 8 readers, one database read for 100 concurrent misses, and Redis
killed or stalled under load with every call still served."""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from prometheus_client import CollectorRegistry, generate_latest

import vaultstore
from vaultstore import ChainId, CreditVault, LiquidationProtection, TokenAmount
from vaultstore._settings import resolve_settings
from vaultstore.aio import connect as aconnect
from vaultstore.prometheus import StoreCollector

from .redis_server import Link, RedisServer

BOUND = 20.0  # seconds: far beyond any wait here, short of a hang


@pytest.fixture(params=["postgresql", "mongodb"])
def database(request: pytest.FixtureRequest) -> str:
    """An empty, migrated database of each backend."""
    return str(
        request.getfixturevalue("clean_db" if request.param == "postgresql" else "clean_mongo")
    )


def make_vault(store: Any, ltv: int = 50) -> CreditVault:
    agent = store.agents.create(name=f"cache_{time.monotonic_ns()}", credibility_score=700)
    vault: CreditVault = store.vaults.create(
        agent_id=agent.id,
        chain_id=ChainId.ETHEREUM,
        collateral=TokenAmount(token="ETH", amount=10, value_usd=20000),
        debt=TokenAmount(token="USDC", amount=10000, value_usd=10000),
        ltv=ltv,
        health_factor=2,
        max_ltv=70,
        liquidation_protection=LiquidationProtection(enabled=True, threshold=60, cooldown=60),
    )
    return vault


def write_metrics(store: Any, vault_id: str, ltv: Any, health_factor: Any) -> CreditVault:
    """``update_vault_metrics``, tried again on a retryable error (MongoDB's write
    conflicts between writers of one vault)."""
    for _ in range(100):
        try:
            done: CreditVault = store.vaults.update_vault_metrics(
                vault_id, ltv=ltv, health_factor=health_factor
            )
        except vaultstore.VaultStoreError as exc:
            if not exc.retryable:
                raise
        else:
            return done
    raise AssertionError("100 write conflicts in a row")


def price(store: Any, token: str, chain_id: Any) -> Decimal:
    latest = store.market_data.latest_price(token, chain_id)
    assert latest is not None
    value: Decimal = latest.price_usd
    return value


def reads(store: Any, name: str) -> int:
    """Database reads of ``name`` the store made (a cache hit is none)."""
    stats = store.statement_stats().get(name)
    return 0 if stats is None else int(stats.calls)


def stored(database: str, vault_id: str) -> CreditVault | None:
    """The vault as the database holds it, read by a store without a cache."""
    with vaultstore.connect(database, pool_size=1, env={}) as plain:
        found: CreditVault | None = plain.vaults.find_by_id(vault_id)
        return found


def test_a_second_read_is_served_by_redis(database: str, cache_url: str) -> None:
    with vaultstore.connect(database, cache=cache_url, pool_size=2) as store:
        vault = make_vault(store)
        assert store.vaults.find_by_id(vault.id) == vault
        assert store.vaults.find_by_id(vault.id) == vault
        assert reads(store, "vaults.find_by_id") == 1
        cache = store.metrics().cache
        assert cache is not None
        assert (cache.hits, cache.misses, cache.up) == (1, 1, True)
        # Every field survives Redis exactly, Decimals digit for digit.
        hit = store.vaults.find_by_id(vault.id)
        assert hit is not None
        assert str(hit.collateral.value_usd) == str(vault.collateral.value_usd)
        assert hit.created_at == vault.created_at
        assert type(hit.chain_id) is ChainId
        # A miss that finds nothing is not cached: the next read asks again.
        assert store.agents.find_by_id("agt_missing") is None
        assert store.agents.find_by_id("agt_missing") is None
        assert reads(store, "agents.find_by_id") == 2


def test_the_latest_price_is_cached_and_a_new_price_replaces_it(
    database: str, cache_url: str
) -> None:
    with vaultstore.connect(database, cache=cache_url, pool_size=2) as store:
        store.market_data.create(token="ETH", chain_id=1, price_usd=Decimal("2000.10"))
        assert price(store, "ETH", 1) == Decimal("2000.10")
        assert price(store, "ETH", ChainId.ETHEREUM) == Decimal("2000.10")
        assert reads(store, "market_data.latest_price") == 1
        store.market_data.create(token="ETH", chain_id=1, price_usd=Decimal("2100.000001"))
        assert price(store, "ETH", 1) == Decimal("2100.000001")
        store.market_data.bulk_insert(
            [{"token": "ETH", "chain_id": 1, "price_usd": Decimal("2200.5")}]
        )
        assert price(store, "ETH", 1) == Decimal("2200.5")
        assert reads(store, "market_data.latest_price") == 3


def test_a_price_corrected_or_deleted_by_its_id_is_not_read_from_the_cache(
    database: str, cache_url: str
) -> None:
    """Such a write cannot name the key it changes (the token is not among its
    arguments): every latest price of the tenant goes, and a prefix tombstone
    keeps a racing read from putting one back."""
    with vaultstore.connect(database, cache=cache_url, pool_size=2) as store:
        first = store.market_data.create(token="BTC", chain_id=1, price_usd=Decimal("60000.5"))
        store.market_data.create(token="ETH", chain_id=1, price_usd=Decimal("3000"))
        assert price(store, "BTC", 1) == Decimal("60000.5")
        assert price(store, "ETH", 1) == Decimal("3000")
        store.market_data.update(first.id, price_usd=Decimal("61000.25"))
        assert price(store, "BTC", 1) == Decimal("61000.25")
        assert price(store, "ETH", 1) == Decimal("3000")
        store.market_data.delete(first.id)
        assert store.market_data.latest_price("BTC", 1) is None
        client = redis.Redis.from_url(cache_url, decode_responses=True)
        keys = [str(k) for k in client.keys("vaultstore:*market_data@*")]
        assert any(k.endswith("}:gone") for k in keys)  # the prefix's tombstone


def test_every_write_invalidates_what_it_changed(database: str, cache_url: str) -> None:
    with vaultstore.connect(database, cache=cache_url, pool_size=2) as store:
        vault = make_vault(store)
        agent = store.agents.find_by_id(vault.agent_id)
        assert agent is not None
        assert store.vaults.find_by_id(vault.id) == vault
        updated = store.vaults.update_vault_metrics(vault.id, ltv=55, health_factor=Decimal("1.8"))
        assert store.vaults.find_by_id(vault.id) == updated
        changed = store.vaults.update(vault.id, max_ltv=75)
        assert store.vaults.find_by_id(vault.id) == changed
        result = store.vaults.update_metrics_many([(vault.id, 60, Decimal("1.5"))])
        assert result.updated == 1
        batch = store.vaults.find_by_id(vault.id)
        assert batch is not None
        assert batch.ltv == 60
        assert batch.version == changed.version + 1
        assert batch == stored(database, vault.id)
        renamed = store.agents.update(agent.id, credibility_score=640)
        assert store.agents.find_by_id(agent.id) == renamed
        store.vaults.delete(vault.id)
        assert store.vaults.find_by_id(vault.id) is None


def test_a_transaction_reads_its_own_writes_and_others_see_them_once_committed(
    database: str, cache_url: str
) -> None:
    with (
        vaultstore.connect(database, cache=cache_url, pool_size=3) as store,
        vaultstore.connect(database, cache=cache_url, pool_size=2) as other,
    ):
        vault = make_vault(store)
        assert other.vaults.find_by_id(vault.id) == vault  # cached
        with store.transaction() as tx:
            updated = tx.vaults.update_vault_metrics(vault.id, ltv=65, health_factor=1)
            assert tx.vaults.find_by_id(vault.id) == updated  # not from the cache
            # Not committed: the other store still reads the old vault.
            assert other.vaults.find_by_id(vault.id) == vault
        # Committed: the key was deleted after the commit, not before.
        assert other.vaults.find_by_id(vault.id) == updated
        with pytest.raises(RuntimeError), store.transaction() as tx:
            tx.vaults.update_vault_metrics(vault.id, ltv=10, health_factor=9)
            raise RuntimeError("roll back")
        assert other.vaults.find_by_id(vault.id) == updated


def test_a_lock_changes_nothing_cached(database: str, cache_url: str) -> None:
    """lock() holds a vault (a write of ``_locked_at`` on MongoDB) but changes
    nothing a read returns: its key stays, nothing is invalidated."""
    with vaultstore.connect(database, cache=cache_url, pool_size=2) as store:
        vault = make_vault(store)
        assert store.vaults.find_by_id(vault.id) == vault
        before = _cache(store)
        with store.transaction() as tx:
            assert tx.vaults.lock(vault.id) == vault
        assert store.vaults.find_by_id(vault.id) == vault
        after = _cache(store)
        assert after.invalidations == before.invalidations
        assert after.hits == before.hits + 1
        assert reads(store, "vaults.find_by_id") == 1


def test_keys_hold_the_backend_database_tenant_and_entity_shape(
    database: str, cache_url: str
) -> None:
    with vaultstore.connect(database, cache=cache_url, pool_size=2, tenancy=True) as store:
        acme, globex = store.scoped(tenant="acme"), store.scoped(tenant="globex")
        vault = make_vault(acme)
        assert acme.vaults.find_by_id(vault.id) == vault
        seen = globex.vaults.find_by_id(vault.id)  # PostgreSQL's superuser passes RLS
        with pytest.raises(vaultstore.ValidationError):
            store.vaults.find_by_id(vault.id)  # tenancy on and no tenant: refused
        client = redis.Redis.from_url(cache_url, decode_responses=True)
        keys = sorted(str(k) for k in client.keys("vaultstore:*"))
        name = store.settings.database
    backend = "postgresql" if database.startswith("postgresql") else "mongodb"
    ours = [k for k in keys if k.endswith(f"}}:find_by_id:{vault.id}")]
    # One entry per tenant: acme's is never read from globex's scope.
    assert [k.split(":")[4] for k in ours] == ["acme"] + (["globex"] if seen else [])
    key = ours[0]
    assert key.startswith(f"vaultstore:{{{backend}:")
    assert key.split(":")[3] == name  # the database
    assert len(key.split(":")[2]) == 8  # the server's hosts, hashed
    shape = key.split("vaults@")[1].split("}")[0]
    assert len(shape) == 12  # the entity's shape: a deploy that changes it reads none of these


def test_entries_expire_within_the_ttl_less_a_jitter(database: str, cache_url: str) -> None:
    with vaultstore.connect(database, cache=cache_url, cache_ttl=30, pool_size=2) as store:
        vaults = [make_vault(store) for _ in range(10)]
        for vault in vaults:
            store.vaults.find_by_id(vault.id)
    client = redis.Redis.from_url(cache_url)
    ttls = [client.pttl(key) for key in client.keys("vaultstore:*vaults@*") if b":gone" not in key]
    assert len(ttls) == 10
    assert all(27_000 - 1000 <= ttl <= 30_000 for ttl in ttls)
    assert len(set(ttls)) > 1  # not all expiring at once


def test_a_write_made_outside_vaultstore_is_seen_once_the_entry_expires(
    clean_db: str, cache_url: str
) -> None:
    """What the README says: writes outside vaultstore are bounded by the TTL."""
    with vaultstore.connect(clean_db, cache=cache_url, pool_size=2) as store:
        vault = make_vault(store)
        assert store.vaults.find_by_id(vault.id) == vault
        with psycopg.connect(clean_db, autocommit=True) as conn:
            conn.execute("UPDATE credit_vaults SET ltv = 61 WHERE id = %s", (vault.id,))
        assert store.vaults.find_by_id(vault.id) == vault  # stale, until the TTL
        client = redis.Redis.from_url(cache_url)
        (key,) = [k for k in client.keys("vaultstore:*vaults@*") if b":gone" not in k]
        client.delete(key)  # what the TTL does
        fresh = store.vaults.find_by_id(vault.id)
        assert fresh is not None
        assert fresh.ltv == 61


def test_100_concurrent_misses_make_one_database_read(database: str, cache_url: str) -> None:
    with vaultstore.connect(database, cache=cache_url, pool_size=8) as store:
        vault = make_vault(store)
        start = threading.Barrier(100)

        def read() -> CreditVault | None:
            start.wait(BOUND)
            found: CreditVault | None = store.vaults.find_by_id(vault.id)
            return found

        with ThreadPoolExecutor(100) as pool:
            found = list(pool.map(lambda _: read(), range(100)))
        assert found == [vault] * 100
        assert reads(store, "vaults.find_by_id") == 1
        assert _cache(store).misses == 1


async def test_100_concurrent_misses_make_one_database_read_on_the_async_api(
    database: str, cache_url: str
) -> None:
    async with await aconnect(database, cache=cache_url, pool_size=8) as store:
        agent = await store.agents.create(name="stampede", credibility_score=700)
        found = await asyncio.gather(*(store.agents.find_by_id(agent.id) for _ in range(100)))
        assert found == [agent] * 100
        assert reads(store, "agents.find_by_id") == 1
        await store.agents.update(agent.id, credibility_score=500)
        again = await asyncio.gather(*(store.agents.find_by_id(agent.id) for _ in range(100)))
        assert {a.credibility_score for a in again if a is not None} == {500}
        assert reads(store, "agents.find_by_id") == 2


@pytest.mark.slow
def test_8_writers_and_8_readers_never_read_a_vault_older_than_its_last_commit(
    database: str, cache_url: str
) -> None:
    """For 10 s, 8 threads update the metrics of 8 vaults and 8 threads read
    them. Every read must return a version at least that of the last commit
    known before the read began (0 stale reads); at the end, every reader's
    read equals the stored vault."""
    # operation_timeout: a write stuck behind another's transaction fails the
    # test instead of hanging it.
    with vaultstore.connect(database, cache=cache_url, pool_size=16, operation_timeout=10) as store:
        vaults = [make_vault(store).id for _ in range(8)]
        committed = dict.fromkeys(vaults, 1)  # vault -> the highest version committed
        lock = threading.Lock()
        stop = threading.Event()
        stale: list[str] = []
        counts = {"reads": 0, "writes": 0}

        def write(seed: int) -> None:
            rng = random.Random(seed)
            while not stop.is_set():
                vault_id = rng.choice(vaults)
                done = write_metrics(
                    store, vault_id, rng.randint(1, 99), Decimal(rng.randint(1, 500)) / 100
                )
                with lock:
                    committed[vault_id] = max(committed[vault_id], done.version)
                    counts["writes"] += 1

        def read(seed: int) -> None:
            rng = random.Random(seed)
            while not stop.is_set():
                vault_id = rng.choice(vaults)
                with lock:
                    floor = committed[vault_id]
                found = store.vaults.find_by_id(vault_id)
                assert found is not None
                if found.version < floor:
                    stale.append(f"{vault_id}: read version {found.version} after {floor}")
                with lock:
                    counts["reads"] += 1

        with ThreadPoolExecutor(16) as pool:
            futures = [pool.submit(write, n) for n in range(8)]
            futures += [pool.submit(read, 100 + n) for n in range(8)]
            stop.wait(10)
            stop.set()
            for future in futures:
                future.result(BOUND)
        cache = store.metrics().cache
        assert cache is not None
        assert cache.hits > 0
        assert cache.errors == 0
        assert counts["writes"] > 100
        assert counts["reads"] > 100
        assert stale == []
        # After the last commit, every reader reads the stored vault.
        for vault_id in vaults:
            truth = stored(database, vault_id)
            assert truth is not None
            assert truth.version == committed[vault_id]
            with ThreadPoolExecutor(8) as pool:
                last = list(pool.map(store.vaults.find_by_id, [vault_id] * 8))
            assert last == [truth] * 8


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis server of this test's own, to kill, stall and restart."""
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.close()


def _until(condition: Any, what: str) -> None:
    deadline = time.monotonic() + BOUND
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {BOUND} s: {what}")
        time.sleep(0.01)  # polling a state that changes by itself, not a race


@pytest.mark.slow
def test_redis_killed_under_load_fails_no_call_and_the_cache_comes_back(
    database: str, own_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="vaultstore")
    with vaultstore.connect(database, cache=own_redis.url, cache_timeout=0.2, pool_size=8) as store:
        vaults = [make_vault(store).id for _ in range(4)]
        failures: list[BaseException] = []
        calls = [0]
        stop = threading.Event()

        def load(seed: int) -> None:
            rng = random.Random(seed)
            while not stop.is_set():
                vault_id = rng.choice(vaults)
                try:
                    if rng.random() < 0.2:
                        write_metrics(store, vault_id, rng.randint(1, 99), 2)
                    else:
                        assert store.vaults.find_by_id(vault_id) is not None
                    calls[0] += 1
                except Exception as exc:  # noqa: BLE001 - every failure counts
                    failures.append(exc)

        with ThreadPoolExecutor(6) as pool:
            futures = [pool.submit(load, n) for n in range(6)]
            _until(lambda: (store.metrics().cache or _no()).hits > 50, "hits before the kill")
            own_redis.stop()
            _until(lambda: not (store.metrics().cache or _no()).up, "the cache off")
            served_while_down = calls[0]
            _until(lambda: calls[0] > served_while_down + 50, "calls served while Redis is down")
            own_redis.start()  # the same port, empty
            _until(lambda: (store.metrics().cache or _no()).up, "the cache back on")
            hits = (store.metrics().cache or _no()).hits
            _until(lambda: (store.metrics().cache or _no()).hits > hits + 50, "hits again")
            stop.set()
            for future in futures:
                future.result(BOUND)
        assert failures == []
        cache = store.metrics().cache
        assert cache is not None
        assert cache.errors > 0
        assert cache.bypassed > 0
        messages = [r.getMessage() for r in caplog.records]
        assert any("the cache is off" in m for m in messages)
        assert any("the cache is back on" in m for m in messages)
        for vault_id in vaults:
            assert store.vaults.find_by_id(vault_id) == stored(database, vault_id)


def _no() -> Any:
    raise AssertionError("the store has no cache")


@pytest.mark.slow
def test_a_write_cut_off_from_redis_is_invalidated_before_the_cache_serves_again(
    database: str, own_redis: RedisServer
) -> None:
    """The link to Redis cut (both keep running): the write's invalidation cannot
    reach Redis, which keeps the old entry; once the link is mended, the missed
    invalidation is sent before any read is served from the cache, so the old
    entry is never read."""
    link = Link(own_redis.port)
    try:
        with vaultstore.connect(
            database, cache=link.url(), cache_timeout=0.1, pool_size=2
        ) as store:
            vault = make_vault(store)
            assert store.vaults.find_by_id(vault.id) == vault  # cached
            link.cut()
            started = time.monotonic()
            updated = store.vaults.update_vault_metrics(vault.id, ltv=70, health_factor=1)
            assert time.monotonic() - started < 5  # the Redis timeout, not a hang
            assert store.vaults.find_by_id(vault.id) == updated  # the database serves
            cache = store.metrics().cache
            assert cache is not None
            assert not cache.up
            client = redis.Redis.from_url(own_redis.url)
            old = [k for k in client.keys("vaultstore:*vaults@*") if b":gone" not in k]
            assert len(old) == 1  # the old entry, still in Redis
            link.mend()
            _until(lambda: _cache(store).up or store.vaults.find_by_id(vault.id) is None, "up")
            assert store.vaults.find_by_id(vault.id) == updated
            assert store.vaults.find_by_id(vault.id) == updated
            assert _cache(store).hits >= 1
    finally:
        link.cut()


def _cache(store: Any) -> Any:
    cache = store.metrics().cache
    assert cache is not None
    return cache


def test_cache_settings_come_from_the_environment_and_hide_the_password() -> None:
    settings = vaultstore.settings_from_env({"DATABASE_URL": "postgresql://u@h/db"})
    assert not settings.cache.enabled
    env = {
        "VAULTSTORE_CACHE_URL": "redis://:hunter2@cache.internal:6380/2",
        "VAULTSTORE_CACHE_TTL": "30",
        "VAULTSTORE_CACHE_TIMEOUT": "0.05",
    }
    resolved = resolve_settings("postgresql://u@h/db", env)
    assert resolved.cache.url == env["VAULTSTORE_CACHE_URL"]
    assert (resolved.cache.ttl, resolved.cache.timeout) == (30.0, 0.05)
    assert "hunter2" not in repr(resolved) + repr(resolved.cache) + str(resolved.cache)
    assert "hunter2" in resolved.secrets()
    with pytest.raises(vaultstore.ValidationError) as info:
        resolve_settings("postgresql://u@h/db", {"VAULTSTORE_CACHE_TTL": "soon"})
    assert info.value.field == "VAULTSTORE_CACHE_TTL"
    with pytest.raises(vaultstore.ValidationError) as info:
        resolve_settings("postgresql://u@h/db", {}, cache="http://:hunter2@cache/0")
    assert info.value.field == "cache"
    assert "hunter2" not in str(info.value)
    with pytest.raises(vaultstore.ValidationError) as info:
        resolve_settings("postgresql://u@h/db", {}, cache="redis://c/0", cache_ttl=0)
    assert info.value.field == "cache_ttl"
    # Malformed URLs are refused before connecting, and say nothing of the password.
    for bad in ("redis//:hunter2@cache/0", "redis:/:hunter2@cache/0", "redis://:hunter2@h:xx/0"):
        with pytest.raises(vaultstore.ValidationError) as info:
            resolve_settings("postgresql://u@h/db", {}, cache=bad)
        assert info.value.field == "cache"
        assert "hunter2" not in str(info.value)
    query = resolve_settings("postgresql://u@h/db", {}, cache="redis://h/0?password=hunter3")
    assert "hunter3" in query.secrets()
    assert "hunter3" not in repr(query) + str(query.cache)


def test_prometheus_exports_the_cache(clean_db: str, cache_url: str) -> None:
    with vaultstore.connect(clean_db, cache=cache_url, pool_size=2) as store:
        vault = make_vault(store)
        store.vaults.find_by_id(vault.id)
        store.vaults.find_by_id(vault.id)
        registry = CollectorRegistry()
        registry.register(StoreCollector(store))
        text = generate_latest(registry).decode()
    assert 'vaultstore_cache_requests_total{db_system_name="postgresql",result="hit"} 1.0' in text
    assert 'vaultstore_cache_up{db_system_name="postgresql"} 1.0' in text


def test_the_mongodb_and_postgresql_caches_of_one_redis_do_not_mix(
    clean_db: str, clean_mongo: str, cache_url: str
) -> None:
    with (
        vaultstore.connect(clean_db, cache=cache_url, pool_size=2) as pg,
        vaultstore.connect(clean_mongo, cache=cache_url, pool_size=2) as mongo,
    ):
        pg_vault = make_vault(pg)
        agent = pg.agents.find_by_id(pg_vault.agent_id)
        assert agent is not None
        mongo.agents.restore([agent])
        mongo.vaults.restore([pg_vault])
        mongo.vaults.update_vault_metrics(pg_vault.id, ltv=11, health_factor=3)
        assert pg.vaults.find_by_id(pg_vault.id) == pg_vault
        moved = mongo.vaults.find_by_id(pg_vault.id)
        assert moved is not None
        assert moved.ltv == 11
        assert pg.vaults.find_by_id(pg_vault.id) == pg_vault


async def test_the_async_api_serves_every_call_with_redis_killed(
    clean_db: str, own_redis: RedisServer
) -> None:
    async with await aconnect(clean_db, cache=own_redis.url, cache_timeout=0.2) as store:
        agent = await store.agents.create(name="async-outage", credibility_score=700)
        assert await store.agents.find_by_id(agent.id) == agent
        assert await store.agents.find_by_id(agent.id) == agent
        own_redis.stop()
        changed = await store.agents.update(agent.id, credibility_score=650)
        for _ in range(20):
            assert await store.agents.find_by_id(agent.id) == changed
        cache = _cache(store)
        assert not cache.up
        assert cache.bypassed >= 19
        own_redis.start()
        deadline = time.monotonic() + BOUND
        while not _cache(store).up:
            assert time.monotonic() < deadline, "the cache did not come back"
            assert await store.agents.find_by_id(agent.id) == changed
            await asyncio.sleep(0.01)  # polling a state that changes by itself
        assert await store.agents.find_by_id(agent.id) == changed
        assert await store.agents.find_by_id(agent.id) == changed
        assert _cache(store).hits >= 2


@pytest.mark.slow
def test_a_stalled_redis_costs_a_call_its_timeout_and_no_error(
    clean_db: str, own_redis: RedisServer
) -> None:
    """Redis paused (SIGSTOP: connected, answering nothing), the slow case: the
    first call waits out the Redis timeout and is served by the database; the
    calls after it skip Redis until it is tried again, and none fails."""
    with vaultstore.connect(clean_db, cache=own_redis.url, cache_timeout=0.1) as store:
        vault = make_vault(store)
        assert store.vaults.find_by_id(vault.id) == vault
        own_redis.pause()
        try:
            started = time.monotonic()
            assert store.vaults.find_by_id(vault.id) == vault
            first = time.monotonic() - started
            started = time.monotonic()
            for _ in range(20):
                assert store.vaults.find_by_id(vault.id) == vault
            rest = time.monotonic() - started
            cache = _cache(store)
            assert not cache.up
            assert cache.bypassed >= 21
        finally:
            own_redis.resume()
        assert first < 2.0  # the 0.1 s timeout and one database read, with slack for a busy machine
        assert rest < 1.0  # 20 calls, each waiting its 0.1 s timeout, would take 2 s
        _until(lambda: store.vaults.find_by_id(vault.id) is not None and _cache(store).up, "up")


@pytest.mark.slow
async def test_a_write_cancelled_while_invalidating_leaves_no_stale_entry(
    clean_db: str, own_redis: RedisServer
) -> None:
    """The update commits, then its task is cancelled while the invalidation is
    held on a stalled link (which is then cut: it never reaches Redis). The keys
    it owed are kept and the cache is off until they are sent: no later read
    returns the entity from before the update."""
    link = Link(own_redis.port)
    try:
        async with await aconnect(
            clean_db, cache=link.url(), cache_timeout=1.0, pool_size=2
        ) as store:
            agent = await store.agents.create(name="cancelled", credibility_score=700)
            assert await store.agents.find_by_id(agent.id) == agent  # cached
            link.stall()
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(store.agents.update(agent.id, credibility_score=500), 0.3)
            link.cut()
            link.mend()
            stored_now = await store.agents.find_by_name("cancelled")
            assert stored_now is not None
            assert stored_now.credibility_score == 500  # the update committed
            deadline = time.monotonic() + BOUND
            while True:
                read = await store.agents.find_by_id(agent.id)
                assert read == stored_now  # never the entity from before the update
                if _cache(store).up:
                    break
                assert time.monotonic() < deadline, "the cache did not come back"
                await asyncio.sleep(0.01)  # polling a state that changes by itself
            assert await store.agents.find_by_id(agent.id) == stored_now
    finally:
        link.cut()
