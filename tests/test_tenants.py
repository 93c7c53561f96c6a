"""Tenants that cannot see each other. On PostgreSQL: row-level security on every
tenant-owned table, the tenant set by vaultstore for each call, tested as an
ordinary role (a superuser would bypass the policies). On MongoDB: the tenant the
executor adds to every filter, document and pipeline; the same leak test runs on
both."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosql
import psycopg
import pymongo
import pytest
from psycopg import sql
from psycopg.rows import dict_row

import vaultstore
from vaultstore import (
    ChainId,
    LiquidationProtection,
    NotFoundError,
    TokenAmount,
    ValidationError,
)
from vaultstore._scope import DEFAULT_TENANT
from vaultstore._settings import resolve_settings

from .roles import app_roles, as_user

REGISTRY_SQL = aiosql.from_path(Path(__file__).parent / "sql" / "registry.sql", "psycopg")
OWNED = (
    "agents",
    "credit_vaults",
    "risk_alerts",
    "liquidation_events",
    "protection_rules",
    "documents",
    "document_chunks",
    "audit_log",
)


@pytest.fixture(scope="module")
def app_url(module_database: str) -> Iterator[str]:
    """The module's database, migrated, and a URL connecting to it as the
    application role of ``vaultstore roles`` (no superuser, no BYPASSRLS, only the
    DML its access description grants)."""
    vaultstore.apply_migrations(module_database)
    with app_roles(module_database) as names:
        yield as_user(module_database, names.app)


@pytest.fixture
def stores(app_url: str, module_database: str) -> Iterator[tuple[Any, Any]]:
    """Tenant acme's store, and globex's view of it (one pool)."""
    with psycopg.connect(module_database, autocommit=True) as conn:
        conn.execute(sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(map(sql.Identifier, OWNED))))
    with vaultstore.connect(app_url, tenant="acme", actor="risk-engine") as acme:
        yield acme, acme.scoped(tenant="globex")


def fill(store: Any) -> dict[str, Any]:
    """One of every kind of row, the agent's name the same in every tenant."""
    agent = store.agents.create(name="shared-name", credibility_score=700)
    vault = store.vaults.create(
        agent_id=agent.id,
        chain_id=ChainId.ETHEREUM,
        collateral=TokenAmount(token="ETH", amount=10, value_usd=20000),
        debt=TokenAmount(token="USDC", amount=15000, value_usd=15000),
        ltv=75,
        health_factor="1.2",
        max_ltv=80,
        liquidation_protection=LiquidationProtection(enabled=True, threshold=70, cooldown=60),
    )
    alert = store.alerts.create(
        vault_id=vault.id, alert_type="ltv_warning", severity="high", message="close to the line"
    )
    liquidation = store.liquidations.create(
        vault_id=vault.id,
        chain_id=ChainId.ETHEREUM,
        collateral_seized=TokenAmount(token="ETH", amount=1, value_usd=2000),
        debt_repaid=TokenAmount(token="USDC", amount=1500, value_usd=1500),
        ltv=75,
        health_factor="1.2",
        liquidator="0xliquidator",
        tx_hash="0xsame",
        occurred_at=datetime(2026, 5, 1, tzinfo=UTC),
    )
    rule = store.protection_rules.create(
        vault_id=vault.id,
        name="top up",
        conditions={"ltv_above": 70},
        actions=[{"type": "notify"}],
    )
    document = store.documents.put("vault", vault.id, "report.pdf", b"%PDF secret")
    return {
        "agent": agent,
        "vault": vault,
        "alert": alert,
        "liquidation": liquidation,
        "rule": rule,
        "document": document,
    }


@pytest.fixture
def mongo_stores(clean_mongo: str) -> Iterator[tuple[Any, Any]]:
    """Tenant acme's store on MongoDB, and globex's view of it (one client)."""
    with vaultstore.connect(clean_mongo, tenant="acme", actor="risk-engine") as acme:
        yield acme, acme.scoped(tenant="globex")


def test_one_tenant_sees_and_writes_nothing_of_another(stores: tuple[Any, Any]) -> None:
    sees_and_writes_nothing_of_another(*stores)


def test_on_mongodb_one_tenant_sees_and_writes_nothing_of_another(
    mongo_stores: tuple[Any, Any],
) -> None:
    sees_and_writes_nothing_of_another(*mongo_stores)


def sees_and_writes_nothing_of_another(acme: Any, globex: Any) -> None:
    """The leak test: every kind of row in both tenants, the same agent name in
    each; from globex's scope nothing of acme's is found, listed, counted, summed,
    written or deleted."""
    a = fill(acme)
    b = fill(globex)  # the same agent name in another tenant is no conflict
    assert a["agent"].name == b["agent"].name
    repositories = {
        "agent": globex.agents,
        "vault": globex.vaults,
        "alert": globex.alerts,
        "liquidation": globex.liquidations,
        "rule": globex.protection_rules,
    }
    for kind, repository in repositories.items():
        assert repository.find_by_id(a[kind].id) is None, kind
        assert [e.id for e in repository.list()] == [b[kind].id], kind
        assert repository.count() == 1, kind
        assert repository.find_last().id == b[kind].id, kind
        with pytest.raises(NotFoundError):
            repository.delete(a[kind].id)
    # A cursor of acme's listing used by globex: globex's rows only.
    acme.agents.create(name="another", credibility_score=1)
    cursor = acme.agents.list(limit=1).next_cursor
    assert cursor is not None
    assert [e.id for e in globex.agents.list(after=cursor)] in ([], [b["agent"].id])
    assert globex.agents.find_by_name("shared-name") == b["agent"]
    assert [v.id for v in globex.vaults.find_by_agent_id(a["agent"].id)] == []
    assert [v.id for v in globex.vaults.find_high_risk_vaults(10)] == [b["vault"].id]
    (summary,) = globex.vaults.risk_summary_by_chain(10)
    assert summary.vault_count == 1
    assert list(globex.alerts.find_by_vault(a["vault"].id)) == []
    assert [x.id for x in globex.alerts.find_open_by_severity("high")] == [b["alert"].id]
    assert list(globex.protection_rules.find_enabled_for_vault(a["vault"].id)) == []
    assert [r.id for r in globex.protection_rules.find_by_conditions({"ltv_above": 70})] == [
        b["rule"].id
    ]
    # Writes to acme's ids from globex's scope: NotFoundError, nothing written.
    with pytest.raises(NotFoundError):
        globex.vaults.update_vault_metrics(a["vault"].id, 99, "1.01")
    with pytest.raises(NotFoundError):
        globex.agents.update(a["agent"].id, credibility_score=1)
    with pytest.raises(NotFoundError):
        globex.alerts.acknowledge(a["alert"].id)
    with pytest.raises(NotFoundError):
        globex.protection_rules.mark_triggered(a["rule"].id)
    result = globex.vaults.update_metrics_many([(a["vault"].id, 99, "1.01")])
    assert (result.updated, result.missing) == (0, (a["vault"].id,))
    with pytest.raises(NotFoundError), globex.transaction() as tx:
        tx.vaults.lock(a["vault"].id)
    # A vault of globex's on acme's agent: the agent is not there for globex.
    with pytest.raises(NotFoundError):
        globex.vaults.create(**vault_fields(a["agent"].id))
    # Documents.
    assert globex.documents.find_by_id(a["document"].id) is None
    assert [d.id for d in globex.documents.list()] == [b["document"].id]
    assert list(globex.documents.list("vault", a["vault"].id)) == []
    with pytest.raises(NotFoundError):
        globex.documents.delete(a["document"].id)
    with pytest.raises(NotFoundError):
        b"".join(globex.documents.chunks(a["document"].id))
    # The audit trail: globex's records are of its own writes, none of acme's, and
    # none of the writes it tried on acme's ids.
    assert list(globex.audit.history("vaults", a["vault"].id)) == []
    assert list(globex.audit.history("documents", a["document"].id)) == []
    seen = list(globex.audit.by_actor("risk-engine", limit=1000))
    own = {entity.id for entity in b.values()}
    assert len(seen) == len(own)
    assert all(r.tenant == "globex" and r.entity_id in own for r in seen)
    assert [r.operation for r in acme.audit.history("vaults", a["vault"].id)] == ["vaults.insert"]
    # acme's rows are all as they were.
    assert acme.vaults.find_by_id(a["vault"].id) == a["vault"]
    assert acme.agents.find_by_id(a["agent"].id) == a["agent"]
    assert acme.alerts.find_by_id(a["alert"].id) == a["alert"]
    assert b"".join(acme.documents.chunks(a["document"].id)) == b"%PDF secret"


def vault_fields(agent_id: str) -> dict[str, Any]:
    return {
        "agent_id": agent_id,
        "chain_id": ChainId.ETHEREUM,
        "collateral": TokenAmount(token="ETH", amount=1, value_usd=2000),
        "debt": TokenAmount(token="USDC", amount=1000, value_usd=1000),
        "ltv": 50,
        "health_factor": 2,
        "max_ltv": 80,
        "liquidation_protection": LiquidationProtection(enabled=False, threshold=70, cooldown=0),
    }


def test_a_connection_with_no_tenant_set_sees_no_row(stores: tuple[Any, Any], app_url: str) -> None:
    acme, globex = stores
    fill(acme)
    fill(globex)
    with psycopg.connect(app_url, autocommit=True) as conn:
        for table in OWNED:
            query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            assert conn.execute(query).fetchone() == (0,), table
        # Nor can it write one.
        with pytest.raises(psycopg.errors.Error):
            conn.execute("INSERT INTO agents (id, name, credibility_score) VALUES ('x', 'x', 1)")


def test_a_pooled_connection_carries_no_tenant_into_another_s_call(app_url: str) -> None:
    with vaultstore.connect(app_url, tenant="acme", pool_size=1) as acme:
        globex = acme.scoped(tenant="globex")
        mine = acme.agents.create(name=f"one_{uuid.uuid4().hex[:6]}", credibility_score=1)
        for _ in range(3):  # one connection, the scope switching with each call
            assert globex.agents.find_by_id(mine.id) is None
            assert acme.agents.find_by_id(mine.id) == mine
            with globex.transaction() as tx:
                assert tx.agents.find_by_id(mine.id) is None
            with acme.transaction() as tx:
                assert tx.agents.find_by_id(mine.id) == mine


def test_tenancy_on_refuses_a_call_without_a_tenant(app_url: str) -> None:
    with vaultstore.connect(app_url, tenancy=True) as store:
        with pytest.raises(ValidationError) as refused:
            store.agents.find_by_id("A1")
        assert refused.value.field == "tenant"
        with pytest.raises(ValidationError), store.transaction():
            pass
        assert store.pool_stats().get("requests_num", 0) == 0  # refused before any I/O
        assert store.ping() > 0  # an operator's probe needs no tenant
        assert store.pending_migrations() == []
        scoped = store.scoped(tenant="acme")
        assert scoped.agents.find_by_id("A1") is None


def test_tenancy_off_acts_for_the_default_tenant(app_url: str, module_database: str) -> None:
    with vaultstore.connect(app_url) as store:
        agent = store.agents.create(name=f"default_{uuid.uuid4().hex[:6]}", credibility_score=3)
        assert store.scope.tenant is None
    with psycopg.connect(module_database) as conn:
        row = conn.execute("SELECT tenant_id FROM agents WHERE id = %s", (agent.id,)).fetchone()
    assert row == (DEFAULT_TENANT,)


@pytest.mark.parametrize(
    ("keywords", "field"),
    [
        ({"tenant": ""}, "tenant"),
        ({"tenant": "a b"}, "tenant"),
        ({"tenant": "x" * 65}, "tenant"),
        ({"tenant": 3}, "tenant"),
        ({"actor": ""}, "actor"),
        ({"actor": "\n"}, "actor"),
    ],
)
def test_a_bad_tenant_or_actor_is_refused(
    app_url: str, keywords: dict[str, Any], field: str
) -> None:
    with vaultstore.connect(app_url) as store, pytest.raises(ValidationError) as refused:
        store.scoped(**keywords)
    assert refused.value.field == field


def test_the_environment_names_the_tenant_and_actor() -> None:
    settings = vaultstore.settings_from_env(
        {"VAULTSTORE_TENANT": "acme", "VAULTSTORE_ACTOR": "cron", "VAULTSTORE_TENANCY": "on"}
    )
    assert settings.scope.tenant is None  # settings_from_env reads the database only
    resolved = resolve_settings(
        "postgresql://h/db",
        {"VAULTSTORE_TENANT": "acme", "VAULTSTORE_ACTOR": "cron", "VAULTSTORE_TENANCY": "on"},
    )
    assert (resolved.scope.tenant, resolved.scope.actor, resolved.scope.tenancy) == (
        "acme",
        "cron",
        True,
    )
    with pytest.raises(ValidationError) as refused:
        resolve_settings("postgresql://h/db", {"VAULTSTORE_TENANT": "no spaces"})
    assert refused.value.field == "VAULTSTORE_TENANT"


@pytest.mark.parametrize(("value", "audit"), [("false", False), ("off", False), ("1", True)])
def test_the_environment_switches_the_audit_trail(value: str, audit: bool) -> None:
    resolved = resolve_settings("postgresql://h/db", {"VAULTSTORE_AUDIT": value})
    assert resolved.scope.audit is audit


def test_a_bad_audit_switch_is_refused_naming_where_it_came_from() -> None:
    with pytest.raises(ValidationError) as refused:
        resolve_settings("postgresql://h/db", {"VAULTSTORE_AUDIT": "sometimes"})
    assert refused.value.field == "VAULTSTORE_AUDIT"
    with pytest.raises(ValidationError) as keyword:
        resolve_settings("postgresql://h/db", {}, audit="no")  # type: ignore[arg-type]
    assert keyword.value.field == "audit"
    assert resolve_settings(
        "postgresql://h/db", {"VAULTSTORE_AUDIT": "false"}, audit=True
    ).scope.audit


MONGO_OWNED = (
    "agents",
    "credit_vaults",
    "risk_alerts",
    "liquidation_events",
    "protection_rules",
    "documents.files",
    "documents.chunks",
)


def test_on_mongodb_every_owned_document_carries_its_tenant(
    mongo_stores: tuple[Any, Any], clean_mongo: str
) -> None:
    acme, globex = mongo_stores
    fill(acme)
    fill(globex)
    client: pymongo.MongoClient[Any] = pymongo.MongoClient(clean_mongo)
    try:
        database = client.get_default_database()
        for name in MONGO_OWNED:
            tenants = [doc.get("tenant_id") for doc in database[name].find()]
            assert sorted(set(tenants)) == ["acme", "globex"], name
    finally:
        client.close()


def test_on_mongodb_a_document_without_a_tenant_is_refused(clean_mongo: str) -> None:
    client: pymongo.MongoClient[Any] = pymongo.MongoClient(clean_mongo)
    try:
        with pytest.raises(pymongo.errors.WriteError) as refused:
            client.get_default_database()["documents.chunks"].insert_one(
                {"files_id": "x", "n": 0, "data": b""}
            )
        assert refused.value.code == 121  # the validator
    finally:
        client.close()


def test_on_mongodb_tenancy_on_refuses_a_call_without_a_tenant(clean_mongo: str) -> None:
    with vaultstore.connect(clean_mongo, tenancy=True) as store:
        requests = store.pool_stats()["requests_num"]  # connect's ping
        with pytest.raises(ValidationError) as refused:
            store.agents.find_by_id("A1")
        assert refused.value.field == "tenant"
        with pytest.raises(ValidationError):
            store.documents.find_by_id("D1")
        with pytest.raises(ValidationError), store.transaction():
            pass
        assert store.pool_stats()["requests_num"] == requests  # refused before any I/O
        assert store.market_data.find_by_id("M1") is None  # shared: no tenant needed
        assert store.scoped(tenant="acme").agents.find_by_id("A1") is None


def test_on_mongodb_tenancy_off_acts_for_the_default_tenant(clean_mongo: str) -> None:
    with vaultstore.connect(clean_mongo) as store:
        agent = store.agents.create(name="default-one", credibility_score=3)
    client: pymongo.MongoClient[Any] = pymongo.MongoClient(clean_mongo)
    try:
        doc = client.get_default_database()["agents"].find_one({"_id": agent.id})
    finally:
        client.close()
    assert doc is not None
    assert doc["tenant_id"] == DEFAULT_TENANT


SHARED = {"market_data", "change_feed_pruned"}
"""The tables every tenant reads alike (public prices; how far the change feed was
pruned): no tenant_id, no policy."""


def test_every_other_table_is_the_tenants_and_guarded(migrated_url: str) -> None:
    """A table a migration adds is a tenant's, with its policies (audit_log has two:
    read and append), unless listed above."""
    with psycopg.connect(migrated_url, row_factory=dict_row) as conn:
        tables = list(REGISTRY_SQL.row_security(conn))
    guarded = {
        row["table_name"]
        for row in tables
        if row["enabled"] and row["forced"] and row["policies"] >= 1 and row["has_tenant_id"]
    }
    assert guarded == {row["table_name"] for row in tables} - SHARED
    assert set(OWNED) <= guarded
    assert {row["table_name"] for row in tables} >= SHARED
