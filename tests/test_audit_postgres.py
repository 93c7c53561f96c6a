"""The PostgreSQL audit trail beyond what both backends share: its triggers
record writes made outside vaultstore too (psql, a data migration), naming the
database role and no operation; a store behind a transaction pooler audits as
one with a session of its own."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

import vaultstore
from vaultstore import WriteKind


def test_a_write_made_outside_vaultstore_is_recorded_without_an_operation(
    store_db: str,
) -> None:
    with vaultstore.connect(store_db, tenant="acme") as store:
        agent = store.agents.create(name="by hand", credibility_score=100)
        with psycopg.connect(store_db, autocommit=True) as conn:
            conn.execute("SELECT set_config('vaultstore.tenant', 'acme', false)")
            conn.execute("UPDATE agents SET credibility_score = 900 WHERE id = %s", [agent.id])
            role = conn.execute("SELECT session_user").fetchone()
        records = list(store.audit.history("agents", agent.id))
    assert [(r.operation, r.action) for r in records] == [
        ("agents.insert", WriteKind.INSERT),
        (None, WriteKind.UPDATE),
    ]
    assert records[1].actor is None
    assert records[1].changes["credibility_score"].new == 900
    with psycopg.connect(store_db) as conn:
        conn.execute("SELECT set_config('vaultstore.tenant', 'acme', false)")
        roles = conn.execute(
            "SELECT database_role FROM audit_log WHERE entity_id = %s ORDER BY id", [agent.id]
        ).fetchall()
    assert roles == [role, role]


def test_the_operation_is_named_behind_a_prefixed_statement(store_db: str) -> None:
    """Behind a transaction pooler a statement is sent after set_call_scope in one
    query: the trigger names the statement's operation, not set_call_scope's."""
    with vaultstore.connect(store_db, tenant="acme", actor="pooled") as direct:
        agent = direct.agents.create(name="pooled one", credibility_score=100)
    pooled: Any = vaultstore.connect(
        store_db, tenant="acme", actor="pooled", transaction_pooling=True
    )
    with pooled as store:
        store.agents.update(agent.id, credibility_score=200)
        store.market_data.bulk_insert([{"token": "ETH", "chain_id": 1, "price_usd": 1}])
        records = list(store.audit.by_actor("pooled"))
    assert [(r.operation, r.count) for r in records] == [
        ("agents.insert", 1),
        ("agents.update", 1),
        ("market_data.insert_many", 1),
    ]


@pytest.mark.parametrize("setting", ["off", "batch"])
def test_the_triggers_stand_aside_only_when_told(store_db: str, setting: str) -> None:
    with vaultstore.connect(store_db, tenant="acme") as store:
        agent = store.agents.create(name=f"quiet {setting}", credibility_score=100)
        with psycopg.connect(store_db) as conn:
            conn.execute("SELECT set_config('vaultstore.tenant', 'acme', false)")
            conn.execute("SELECT set_config('vaultstore.audit', %s, true)", [setting])
            conn.execute("UPDATE agents SET credibility_score = 5 WHERE id = %s", [agent.id])
        assert len(store.audit.history("agents", agent.id)) == 1
