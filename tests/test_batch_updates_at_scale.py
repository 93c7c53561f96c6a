"""vaults.update_metrics_many at scale: 100,000 vaults (the issue's figure) and some
ids that name none, in one call and one transaction, on PostgreSQL; 20,000 on
MongoDB, where SecantusDB takes about a millisecond per write in a transaction
and refuses one of 100,000 with a write conflict after minutes (a real mongod
aborts a transaction after 60 s as well). The vaults are cloned with the raw
drivers, which is not what is tested."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiosql
import psycopg
import pymongo
import pytest

import vaultstore
from vaultstore import ChainId, LiquidationProtection, TokenAmount

pytestmark = pytest.mark.slow

VAULTS = {"postgresql": 100_000, "mongodb": 20_000}
UNKNOWN = [f"unknown_{n}" for n in range(25)]
BATCH = aiosql.from_path(Path(__file__).parent / "sql" / "batch.sql", "psycopg")


def first_vault(store: vaultstore.Store) -> vaultstore.CreditVault:
    agent = store.agents.create(name="at_scale", credibility_score=700)
    return store.vaults.create(
        agent_id=agent.id,
        chain_id=ChainId.ETHEREUM,
        collateral=TokenAmount(token="ETH", amount=10, value_usd=20000),
        debt=TokenAmount(token="USDC", amount=10000, value_usd=10000),
        ltv=50,
        health_factor=2,
        max_ltv=70,
        liquidation_protection=LiquidationProtection(threshold=60),
    )


def clone(url: str, backend: str, vault_id: str) -> list[str]:
    ids = [f"clone_{n:06d}" for n in range(1, VAULTS[backend] + 1)]
    if backend == "postgresql":
        with psycopg.connect(url) as conn:
            BATCH.clone_vault(conn, id=vault_id, count=len(ids))
        return ids
    client: pymongo.MongoClient[Any] = pymongo.MongoClient(url)
    try:
        vaults = client.get_default_database()["credit_vaults"]
        original = vaults.find_one({"_id": vault_id})
        assert original is not None
        vaults.insert_many(({**original, "_id": id} for id in ids), ordered=False)
    finally:
        client.close()
    return ids


@pytest.mark.parametrize("database", ["clean_db", "clean_mongo"])
def test_many_vaults_updated_in_one_call(database: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue(database)
    # One bulk write of 20,000 updates takes SecantusDB (in this process) well over
    # the default 30 s operation timeout on a loaded 2-core machine; this test
    # is about the volume, not the time.
    with vaultstore.connect(url, pool_size=2, operation_timeout=300) as store:
        ids = clone(url, store.backend, first_vault(store).id)
        updates = [(id, Decimal(n % 90) + Decimal("0.5"), 1 + n % 3) for n, id in enumerate(ids)]
        updates[5_000:5_000] = [(id, Decimal(1), 1) for id in UNKNOWN]
        start = time.monotonic()
        result = store.vaults.update_metrics_many(updates)
        seconds = time.monotonic() - start
        assert result.updated == len(ids)
        assert sorted(result.missing) == sorted(UNKNOWN)
        for n in (0, 1, 4_999, len(ids) // 2 + 7, len(ids) - 1):
            vault = store.vaults.find_by_id(ids[n])
            assert vault is not None
            assert (vault.ltv, vault.health_factor, vault.version) == (
                Decimal(n % 90) + Decimal("0.5"),
                Decimal(1 + n % 3),
                2,
            )
    print(f"{store.backend}: {len(ids)} vaults in {seconds:.1f} s")
