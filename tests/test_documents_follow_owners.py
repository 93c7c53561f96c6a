"""A stored document goes with the vault or agent it is attached to, chunks and all,
on both backends: the owner's delete() deletes them in its own transaction
(queries/documents.sql delete_by_owner on PostgreSQL, the GridFS bucket on
MongoDB), from the registry's document_owner. No trigger does it since migration
0014 (Citus refuses a trigger that writes another distributed table), so an owner
deleted by hand in SQL leaves its documents."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import aiosql
import psycopg
import pymongo
import pytest

import vaultstore
from vaultstore import AlertType, ChainId, CreditVault, LiquidationProtection, TokenAmount
from vaultstore._documents import CHUNK_SIZE
from vaultstore._sync.contracts import Store

from .databases import fresh_database

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


def make_vault(store: Store, agent_id: str, name: str = "owner") -> CreditVault:
    return store.vaults.create(
        agent_id=agent_id,
        chain_id=ChainId.ETHEREUM,
        collateral=TokenAmount(token="ETH", amount=10, value_usd=20000),
        debt=TokenAmount(token="USDC", amount=10000, value_usd=10000),
        ltv=50,
        health_factor=2,
        max_ltv=70,
        liquidation_protection=LiquidationProtection(threshold=60),
    )


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


@pytest.mark.parametrize("backend", ["clean_db", "clean_mongo"])
def test_a_vault_deleted_with_its_cascading_children_leaves_no_document(
    request: pytest.FixtureRequest, backend: str
) -> None:
    # Alerts and protection rules go with the vault (ON DELETE CASCADE); they own
    # no documents (the registry refuses a document owner deleted in cascade).
    url = request.getfixturevalue(backend)
    with vaultstore.connect(url) as store:
        agent = store.agents.create(name="cascading", credibility_score=700)
        vault = make_vault(store, agent.id)
        alert = store.alerts.create(
            vault_id=vault.id, alert_type=AlertType.LTV_WARNING, severity="high", message="LTV"
        )
        store.documents.put("vault", vault.id, "one.pdf", CONTENT)
        store.documents.put("vault", vault.id, "two.pdf", b"small")
        store.vaults.delete(vault.id)
        assert store.alerts.find_by_id(alert.id) is None
        assert store.documents.count() == 0
        assert chunk_count(url) == 0


@pytest.mark.parametrize("backend", ["clean_db", "clean_mongo"])
def test_an_owners_delete_and_its_documents_commit_or_roll_back_together(
    request: pytest.FixtureRequest, backend: str
) -> None:
    url = request.getfixturevalue(backend)
    with vaultstore.connect(url) as store:
        agent = store.agents.create(name="together", credibility_score=700)
        vault = make_vault(store, agent.id)
        document = store.documents.put("vault", vault.id, "kept.pdf", CONTENT)

        class Undo(Exception):
            pass

        with pytest.raises(Undo), store.transaction() as tx:
            tx.vaults.delete(vault.id)
            assert tx.documents.find_by_id(document.id) is None  # gone inside it
            raise Undo
        assert store.documents.find_by_id(document.id) == document
        assert chunk_count(url) == 3

        with store.transaction() as tx:
            tx.vaults.delete(vault.id)
        assert store.documents.find_by_id(document.id) is None
        assert chunk_count(url) == 0


@pytest.mark.parametrize("backend", ["clean_db", "clean_mongo"])
def test_a_refused_delete_keeps_the_owners_documents(
    request: pytest.FixtureRequest, backend: str
) -> None:
    url = request.getfixturevalue(backend)
    with vaultstore.connect(url) as store:
        agent = store.agents.create(name="stale", credibility_score=700)
        vault = make_vault(store, agent.id)
        document = store.documents.put("vault", vault.id, "kept.pdf", CONTENT)
        store.vaults.update_vault_metrics(vault.id, 51, 1.9)
        with pytest.raises(vaultstore.VersionConflictError):
            store.vaults.delete(vault.id, expected_version=1)
        assert store.documents.find_by_id(document.id) == document
        assert "documents.delete_by_owner" not in store.statement_stats()
        store.vaults.delete(vault.id, expected_version=2)
        assert store.documents.find_by_id(document.id) is None


def test_a_vault_deleted_by_hand_in_sql_leaves_its_documents_for_the_dba(clean_db: str) -> None:
    with vaultstore.connect(clean_db) as store:
        agent = store.agents.create(name="by_hand", credibility_score=700)
        vault = make_vault(store, agent.id)
        orphan = store.documents.put("vault", vault.id, "orphan.pdf", CONTENT)
        kept = store.documents.put("agent", agent.id, "kept.pdf", CONTENT)
        with psycopg.connect(clean_db) as conn:
            SQL.delete_vault_by_hand(conn, id=vault.id)
        assert store.documents.find_by_id(orphan.id) == orphan  # no trigger since 0014
        with psycopg.connect(clean_db) as conn:
            assert SQL.delete_orphans(conn) == 1  # the statement of 0014 and the README
        assert store.documents.find_by_id(orphan.id) is None
        assert store.documents.find_by_id(kept.id) == kept
        assert chunk_count(clean_db) == 3


def test_rolling_back_0014_makes_the_trigger_of_0011_again_exactly(
    postgres_url: str, tmp_path: Path
) -> None:
    migrations = Path(__file__).resolve().parent.parent / "migrations"
    before = tmp_path / "migrations"
    before.mkdir()
    for path in migrations.glob("*.sql"):
        if path.name < "0014":
            shutil.copy(path, before / path.name)
    shutil.copy(migrations / "post-apply.py", before / "post-apply.py")
    with fresh_database(postgres_url) as url:
        vaultstore.apply_migrations(url, folder=before)
        with psycopg.connect(url) as conn:
            made_by_0011 = [row[0] for row in SQL.owner_triggers(conn)]
        assert vaultstore.apply_migrations(url) == [
            "0014.owners-delete-their-documents",
            "0015.tenants",
            "0016.audit-log",
            "0017.change-feed",
        ]
        with psycopg.connect(url) as conn:
            assert list(SQL.owner_triggers(conn)) == []
        vaultstore.rollback_migrations(url, count=4)  # 0017, 0016, 0015, then 0014
        with psycopg.connect(url) as conn:
            assert [row[0] for row in SQL.owner_triggers(conn)] == made_by_0011
    assert len(made_by_0011) == 3
