"""A stored document goes with the vault or agent it is attached to, chunks and all,
on both backends (a trigger of migration 0011 on PostgreSQL; the executor, from the
registry's document_owner, on MongoDB)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiosql
import psycopg
import pymongo
import pytest

import vaultstore
from vaultstore import ChainId, LiquidationProtection, TokenAmount
from vaultstore._documents import CHUNK_SIZE

SQL = aiosql.from_path(Path(__file__).parent / "sql" / "documents.sql", "psycopg")
CONTENT = b"x" * (2 * CHUNK_SIZE + 10)  # three chunks


def chunk_count(url: str) -> int:
    if url.startswith("mongodb"):
        client: pymongo.MongoClient[Any] = pymongo.MongoClient(url)
        try:
            return int(client.get_default_database()["documents.chunks"].count_documents({}))
        finally:
            client.close()
    with psycopg.connect(url) as conn:
        return int(SQL.count_chunks(conn))


@pytest.mark.parametrize("backend", ["clean_db", "clean_mongo"])
def test_deleting_an_owner_deletes_its_documents_and_no_others(
    request: pytest.FixtureRequest, backend: str
) -> None:
    url = request.getfixturevalue(backend)
    with vaultstore.connect(url) as store:
        agent = store.agents.create(name="owner", credibility_score=700)
        vault = store.vaults.create(
            agent_id=agent.id,
            chain_id=ChainId.ETHEREUM,
            collateral=TokenAmount(token="ETH", amount=10, value_usd=20000),
            debt=TokenAmount(token="USDC", amount=10000, value_usd=10000),
            ltv=50,
            health_factor=2,
            max_ltv=70,
            liquidation_protection=LiquidationProtection(threshold=60),
        )
        of_vault = store.documents.put("vault", vault.id, "vault.pdf", CONTENT)
        of_agent = store.documents.put("agent", agent.id, "agent.pdf", CONTENT)
        assert chunk_count(url) == 6

        store.vaults.delete(vault.id)
        assert store.documents.find_by_id(of_vault.id) is None
        assert list(store.documents.list("vault", vault.id)) == []
        assert store.documents.find_by_id(of_agent.id) == of_agent
        assert chunk_count(url) == 3

        store.agents.delete(agent.id)
        assert store.documents.find_by_id(of_agent.id) is None
        assert chunk_count(url) == 0


@pytest.mark.parametrize("backend", ["clean_db", "clean_mongo"])
def test_an_owner_that_cannot_be_deleted_keeps_its_documents(
    request: pytest.FixtureRequest, backend: str
) -> None:
    url = request.getfixturevalue(backend)
    with vaultstore.connect(url) as store:
        agent = store.agents.create(name="still_owning", credibility_score=700)
        store.vaults.create(
            agent_id=agent.id,
            chain_id=ChainId.BASE,
            collateral=TokenAmount(token="ETH", amount=1, value_usd=2000),
            debt=TokenAmount(token="USDC", amount=100, value_usd=100),
            ltv=5,
            health_factor=9,
            max_ltv=70,
            liquidation_protection=LiquidationProtection(threshold=60),
        )
        document = store.documents.put("agent", agent.id, "kept.pdf", CONTENT)
        with pytest.raises(vaultstore.ConflictError):
            store.agents.delete(agent.id)  # it still has a vault
        assert store.documents.find_by_id(document.id) == document
        assert chunk_count(url) == 3
