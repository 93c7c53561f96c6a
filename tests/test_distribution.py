"""The schema and the statements, ready for a distributed engine
(vaultstore/admin/distribution.py, docs/scaling.md): the migrated schema meets
Citus's rules and the MongoDB steps the sharding rules, the check names what
breaks them, every statement's routing is what this file says, and
``vaultstore distribution`` prints the calls."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

import vaultstore
from vaultstore._registry import REGISTRY, EntityType
from vaultstore._resources import SchemaStep, schema_steps
from vaultstore._settings import settings_from_url
from vaultstore.admin.check import load_catalog
from vaultstore.admin.cli import main
from vaultstore.admin.distribution import (
    CITUS,
    MONGODB,
    Placement,
    SchemaFacts,
    citus_calls,
    mongodb_problems,
    placement,
    postgres_problems,
    read_facts,
    shard_key,
    sql_routing_note,
)

from .databases import fresh_database

ROOT = Path(__file__).resolve().parent.parent
STEPS = schema_steps(ROOT / "migrations" / "mongodb")

ROUTING: dict[str, tuple[str, str | None]] = {
    # statement: (on Citus, its MongoDB twin's on a sharded cluster)
    "agents.insert": ("reference", "unsharded"),
    "agents.find_by_id": ("reference", "unsharded"),
    "agents.find_by_name": ("reference", "unsharded"),
    "agents.lock_by_id": ("reference", "unsharded"),
    "agents.list_after": ("reference", "unsharded"),
    "agents.find_by_tier": ("reference", "unsharded"),
    "agents.update": ("reference", "unsharded"),
    "agents.delete": ("reference", "unsharded"),
    "agents.copy_in": ("reference", "unsharded"),
    "agents.count": ("reference", "unsharded"),
    "agents.find_last": ("reference", "unsharded"),
    "vaults.insert": ("one shard", "one shard"),
    "vaults.find_by_id": ("one shard", "one shard"),
    "vaults.lock_by_id": ("one shard", "one shard"),
    "vaults.list_after": ("fans out", "fans out"),
    "vaults.find_by_agent_id": ("fans out", "fans out"),
    "vaults.find_by_chain_id": ("fans out", "fans out"),
    "vaults.find_high_risk": ("fans out", "fans out"),
    "vaults.update": ("one shard", "one shard"),
    "vaults.update_metrics": ("one shard", "one shard"),
    "vaults.update_metrics_many": ("fans out", "by row"),
    "vaults.delete": ("one shard", "one shard"),
    "vaults.risk_summary_by_chain": ("fans out", "fans out"),
    "vaults.copy_in": ("one shard", "by row"),  # one INSERT per row (RLS refuses COPY)
    "vaults.count": ("fans out", "fans out"),
    "vaults.find_last": ("fans out", "fans out"),
    "alerts.insert": ("one shard", "one shard"),
    "alerts.find_by_id": ("fans out", "fans out"),
    "alerts.lock_by_id": ("one shard", "one shard"),
    "alerts.list_after": ("fans out", "fans out"),
    "alerts.find_by_vault": ("one shard", "one shard"),
    "alerts.find_open_by_vault": ("one shard", "one shard"),
    "alerts.find_open_by_severity": ("fans out", "fans out"),
    "alerts.update": ("fans out", "fans out"),
    "alerts.acknowledge": ("fans out", "fans out"),
    "alerts.resolve": ("fans out", "fans out"),
    "alerts.delete": ("fans out", "fans out"),
    "alerts.copy_in": ("one shard", "by row"),
    "alerts.count": ("fans out", "fans out"),
    "alerts.find_last": ("fans out", "fans out"),
    "liquidations.insert": ("one shard", "one shard"),
    "liquidations.find_by_id": ("fans out", "fans out"),
    "liquidations.lock_by_id": ("one shard", "one shard"),
    "liquidations.list_after": ("fans out", "fans out"),
    "liquidations.find_by_vault": ("one shard", "one shard"),
    "liquidations.find_between": ("fans out", "fans out"),
    "liquidations.update": ("fans out", "fans out"),
    "liquidations.delete": ("fans out", "fans out"),
    "liquidations.copy_in": ("one shard", "by row"),
    "liquidations.count": ("fans out", "fans out"),
    "liquidations.find_last": ("fans out", "fans out"),
    "protection_rules.insert": ("one shard", "one shard"),
    "protection_rules.find_by_id": ("fans out", "fans out"),
    "protection_rules.lock_by_id": ("one shard", "one shard"),
    "protection_rules.list_after": ("fans out", "fans out"),
    "protection_rules.find_enabled_for_vault": ("one shard", "one shard"),
    "protection_rules.find_by_conditions": ("fans out", "fans out"),
    "protection_rules.mark_triggered": ("fans out", "fans out"),
    "protection_rules.update": ("fans out", "fans out"),
    "protection_rules.delete": ("fans out", "fans out"),
    "protection_rules.copy_in": ("one shard", "by row"),
    "protection_rules.count": ("fans out", "fans out"),
    "protection_rules.find_last": ("fans out", "fans out"),
    "market_data.insert": ("one shard", "one shard"),
    "market_data.insert_many": ("by row", "by row"),
    "market_data.find_by_id": ("fans out", "fans out"),
    "market_data.lock_by_id": ("one shard", "one shard"),
    "market_data.list_after": ("fans out", "fans out"),
    "market_data.latest_price": ("one shard", "one shard"),
    "market_data.history": ("one shard", "one shard"),
    "market_data.update": ("fans out", "fans out"),
    "market_data.delete": ("fans out", "fans out"),
    "market_data.copy_in": ("by row", "by row"),
    "market_data.count": ("fans out", "fans out"),
    "market_data.find_last": ("fans out", "fans out"),
    "documents.lock_vault_owner": ("one shard", None),
    "documents.lock_agent_owner": ("reference", None),
    "documents.insert_chunk": ("one shard", None),
    "documents.insert": ("one shard", None),
    "documents.find_by_id": ("one shard", None),
    "documents.list_by_owner": ("fans out", None),
    "documents.list_after": ("fans out", None),
    "documents.count": ("fans out", None),
    "documents.read_chunks": ("one shard", None),
    "documents.delete": ("one shard", None),
    "documents.delete_by_owner": ("fans out", None),
    # The tenant comes from the session's setting, which the routing cannot read.
    "audit.history": ("fans out", None),
    "audit.by_actor": ("fans out", None),
    "audit.begin_batch": ("local", None),
    "audit.record_batch": ("fans out", None),
    "changes.listen": ("local", None),
    "changes.read_after": ("fans out", None),
    "changes.last_position": ("fans out", None),
    "changes.in_progress": ("local", None),
    "changes.finished": ("local", None),
    "changes.pruned_through": ("reference", None),
    "changes.prune": ("fans out", None),
    "health.ping": ("local", None),
    "health.applied_migrations": ("local", None),
    "health.server_state": ("local", None),
    "health.migration_checksums": ("local", None),
    "health.set_call_scope": ("local", None),
    "health.set_operation_timeout": ("local", None),
    "health.set_session_scope": ("local", None),
    "health.configure_session": ("local", None),
    "health.replica_position": ("local", None),
    "health.primary_position": ("local", None),
    "health.set_session_time_zone": ("local", None),
}
"""Every statement's routing, written out: a change to a query file that makes a
hot path fan out (or a new statement) fails test_each_statement_routes_as_listed
until this table says so too, and docs/scaling.md with it."""

HOT_PATHS = [
    "vaults.find_by_id",
    "vaults.update_metrics",
    "alerts.find_open_by_vault",
    "protection_rules.find_enabled_for_vault",
    "market_data.latest_price",
    "market_data.history",
    "alerts.lock_by_id",
    "liquidations.lock_by_id",
    "protection_rules.lock_by_id",
    "market_data.lock_by_id",
]
"""What the risk monitor runs most: each must stay on one shard on both engines."""

# -- routing ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def routes() -> dict[str, tuple[str, str | None]]:
    return {s.name: (s.routing, s.mongodb_routing) for s in load_catalog().statements}


def test_every_statement_is_listed(routes: dict[str, tuple[str, str | None]]) -> None:
    assert sorted(routes) == sorted(ROUTING)


@pytest.mark.parametrize("name", sorted(ROUTING))
def test_each_statement_routes_as_listed(
    routes: dict[str, tuple[str, str | None]], name: str
) -> None:
    assert routes[name] == ROUTING[name]


@pytest.mark.parametrize("name", HOT_PATHS)
def test_a_hot_path_stays_on_one_shard(name: str) -> None:
    assert ROUTING[name] == ("one shard", "one shard")


def test_no_statement_takes_a_row_lock_citus_would_refuse() -> None:
    assert [s.name for s in load_catalog().statements if sql_routing_note(s.sql)] == []


def test_a_lock_that_fans_out_is_noted() -> None:
    note = sql_routing_note("SELECT * FROM risk_alerts WHERE id = :id FOR UPDATE")
    assert note is not None
    assert "single-shard statements only" in note


@pytest.mark.parametrize("entity", [e for e in REGISTRY if e.located_by], ids=lambda e: e.name)
def test_each_lock_pins_the_fields_that_locate_its_row(entity: EntityType) -> None:
    statement = next(s for s in load_catalog().statements if s.name == f"{entity.name}.lock_by_id")
    assert statement.params == ("id", *entity.located_by)
    assert statement.mongodb is not None
    assert statement.mongodb.parameters - {"now"} == {"id", *entity.located_by}


# -- one source: the registry locates rows for lock() and for the design ------------


@pytest.mark.parametrize("entity", list(REGISTRY), ids=lambda e: e.name)
def test_the_citus_design_distributes_by_the_field_the_registry_locates_by(
    entity: EntityType,
) -> None:
    table = placement(entity.table)
    assert table is not None
    if table.kind == "distributed":
        assert table.column == (entity.located_by or ("id",))[0]
    else:
        assert entity.located_by == ()
    if entity.partitioned_by is not None:
        assert entity.partitioned_by in entity.located_by


@pytest.mark.parametrize("entity", list(REGISTRY), ids=lambda e: e.name)
def test_the_mongodb_shard_key_is_the_fields_the_registry_locates_by(
    entity: EntityType,
) -> None:
    key = shard_key(entity.table)
    assert key is not None
    if entity.located_by:
        assert key.key == dict.fromkeys(entity.located_by, 1)
    else:
        assert key.key in (None, {"_id": "hashed"})


def test_queries_json_lists_each_statements_routing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["queries", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["statements"]
    assert {
        s["name"]: (s["routing"], s["mongodb"] and s["mongodb"]["routing"]) for s in listed
    } == ROUTING


# -- the design covers what vaultstore stores ----------------------------------------


def test_every_table_vaultstore_writes_is_placed() -> None:
    assert set(REGISTRY.tables) <= {p.table for p in CITUS}


def test_every_collection_vaultstore_writes_has_a_shard_key_or_none() -> None:
    collections = {*(e.table for e in REGISTRY), "documents.files", "documents.chunks"}
    assert collections <= {k.collection for k in MONGODB}


def test_tables_come_before_the_tables_co_located_with_them() -> None:
    order = [p.table for p in CITUS]
    for table in CITUS:
        if table.colocate_with is not None:
            assert order.index(table.colocate_with) < order.index(table.table)


# -- Citus's rules on the migrated schema ----------------------------------------------


def test_the_migrated_schema_meets_the_citus_rules(migrated_url: str) -> None:
    assert postgres_problems(read_facts(settings_from_url(migrated_url))) == []


@pytest.fixture(scope="module")
def broken_url(postgres_url: str) -> Iterator[str]:
    """A migrated database of its own, then broken in each way the check knows."""
    with fresh_database(postgres_url) as url:
        vaultstore.apply_migrations(url)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "ALTER TABLE risk_alerts ADD CONSTRAINT risk_alerts_message_key UNIQUE (message)"
            )
            conn.execute(
                "CREATE UNIQUE INDEX market_data_price_idx ON market_data (price_usd, recorded_at)"
            )
            conn.execute(
                "ALTER TABLE protection_rules ADD COLUMN document_id text "
                "CONSTRAINT protection_rules_document_id_fkey REFERENCES documents (id)"
            )
            conn.execute(
                "ALTER TABLE agents ADD COLUMN favourite_vault text "
                "CONSTRAINT agents_favourite_vault_fkey REFERENCES credit_vaults (id)"
            )
            conn.execute("CREATE TABLE change_log (id text PRIMARY KEY)")
            conn.execute(
                "CREATE FUNCTION log_change() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN INSERT INTO change_log VALUES (NEW.id); RETURN NEW; END; $$"
            )
            conn.execute(
                "CREATE TRIGGER credit_vaults_log_change AFTER INSERT ON credit_vaults "
                "FOR EACH ROW EXECUTE FUNCTION log_change()"
            )
        yield url


@pytest.fixture(scope="module")
def broken(broken_url: str) -> list[str]:
    return postgres_problems(read_facts(settings_from_url(broken_url)))


@pytest.mark.parametrize(
    ("table", "named"),
    [
        (
            "risk_alerts",
            "UNIQUE risk_alerts_message_key (message) does not include the distribution "
            "column vault_id",
        ),
        (
            "market_data",
            "UNIQUE INDEX market_data_price_idx (price_usd, recorded_at) does not include "
            "the distribution column token",
        ),
        (
            "protection_rules",
            "FOREIGN KEY protection_rules_document_id_fkey -> documents: the tables are "
            "not co-located",
        ),
        (
            "agents",
            "FOREIGN KEY agents_favourite_vault_fkey -> credit_vaults: a reference table "
            "may refer only to reference tables",
        ),
        ("change_log", "not in the distribution design"),
        (
            "credit_vaults",
            "trigger credit_vaults_log_change (log_change): its function is not in "
            "TRIGGER_FUNCTIONS",
        ),
    ],
)
def test_the_check_names_each_broken_rule(broken: list[str], table: str, named: str) -> None:
    assert any(f" {table}: {named}" in line for line in broken), broken


def test_the_check_reports_nothing_else_on_the_broken_database(broken: list[str]) -> None:
    assert len(broken) == 6, broken


def test_vaultstore_check_fails_naming_the_constraint(
    broken_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--database", broken_url]) == 1
    assert "risk_alerts_message_key" in capsys.readouterr().out


def test_the_keys_before_migration_0013_break_the_rules(postgres_url: str) -> None:
    with fresh_database(postgres_url) as url:
        vaultstore.apply_migrations(url)
        vaultstore.rollback_migrations(url, count=5)  # 0017, 0016, 0015, 0014, then 0013
        problems = postgres_problems(read_facts(settings_from_url(url)))
    assert [line.split(": ")[1].split(" (")[0] for line in problems if "PRIMARY KEY" in line] == [
        "PRIMARY KEY liquidation_events_pkey",
        "PRIMARY KEY market_data_pkey",
        "PRIMARY KEY protection_rules_pkey",
        "PRIMARY KEY risk_alerts_pkey",
    ]


def test_the_documents_trigger_before_migration_0014_breaks_the_rules(postgres_url: str) -> None:
    with fresh_database(postgres_url) as url:
        vaultstore.apply_migrations(url)
        vaultstore.rollback_migrations(url, count=4)  # 0017, 0016, 0015, then 0014
        problems = postgres_problems(read_facts(settings_from_url(url)))
    assert sorted(line.split(" touches")[0] for line in problems) == [
        "vaultstore/admin/distribution.py agents: trigger agents_delete_documents "
        "(vaultstore_delete_owned_documents)",
        "vaultstore/admin/distribution.py credit_vaults: trigger credit_vaults_delete_documents "
        "(vaultstore_delete_owned_documents)",
    ]
    assert all("Citus refuses in a trigger" in line for line in problems)


def test_the_citus_script_asks_first_only_for_the_audit_trail_and_change_feed_to_move(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["distribution"]) == 0
    first = [line for line in capsys.readouterr().out.splitlines() if "BEFORE" in line]
    assert len(first) == 2
    assert "the audit triggers (vaultstore_audit)" in first[0]
    assert "the change feed triggers (vaultstore_change_feed)" in first[1]


def facts(**tables: str) -> SchemaFacts:
    return SchemaFacts(
        tables=tables,
        columns={(t, "id"): ("text", True) for t in tables},
        unique_keys=[],
        foreign_keys=[],
        triggers=[],
    )


def test_a_partitioned_reference_table_is_refused() -> None:
    design = [Placement("prices", "reference")]
    assert postgres_problems(facts(prices="p"), design) == [
        "vaultstore/admin/distribution.py prices: is partitioned and declared reference: "
        "Citus distributes a partitioned table only by hash (create_distributed_table)"
    ]


def test_a_nullable_distribution_column_is_refused() -> None:
    design = [Placement("prices", "distributed", "id")]
    nullable = SchemaFacts({"prices": "r"}, {("prices", "id"): ("text", False)}, [], [], [])
    assert "may be null" in postgres_problems(nullable, design)[0]


def test_co_located_columns_must_share_a_type() -> None:
    design = [
        Placement("a", "distributed", "id"),
        Placement("b", "distributed", "id", "a"),
    ]
    differ = SchemaFacts(
        {"a": "r", "b": "r"},
        {("a", "id"): ("text", True), ("b", "id"): ("bigint", True)},
        [],
        [],
        [],
    )
    assert "id is bigint and id is text" in postgres_problems(differ, design)[0]


# -- MongoDB's rule on the schema steps ----------------------------------------------


def test_the_mongodb_steps_meet_the_sharding_rules() -> None:
    assert mongodb_problems(STEPS) == []


def test_the_steps_before_0003_break_the_unique_index_rule() -> None:
    assert mongodb_problems([s for s in STEPS if s.id < "0003"]) == [
        "vaultstore/admin/distribution.py liquidation_events: unique index "
        "liquidation_events_tx_hash_key (chain_id, tx_hash, vault_id) does not start with "
        "the shard key (vault_id)",
        "vaultstore/admin/distribution.py market_data: unique index market_data_recorded_key "
        "(token, chain_id, source, recorded_at) does not start with the shard key "
        "(token, chain_id, recorded_at)",
    ]


def step(**indexes: list[dict[str, Any]]) -> SchemaStep:
    return SchemaStep(id="9999.test", description="", collections={}, checksum="", indexes=indexes)


def test_a_new_unique_index_without_the_shard_key_is_named() -> None:
    extra = step(
        risk_alerts=[{"name": "risk_alerts_message_key", "keys": {"message": 1}, "unique": True}]
    )
    assert mongodb_problems([*STEPS, extra]) == [
        "vaultstore/admin/distribution.py risk_alerts: unique index risk_alerts_message_key "
        "(message) does not start with the shard key (vault_id)"
    ]


def test_an_undeclared_collection_is_named() -> None:
    extra = step(change_log=[{"name": "change_log_at_idx", "keys": {"at": 1}}])
    assert mongodb_problems([*STEPS, extra]) == [
        "vaultstore/admin/distribution.py change_log: not in the MongoDB design: declare its "
        "shard key, or None"
    ]


# -- the calls ---------------------------------------------------------------------


def test_distribution_prints_a_call_per_distributed_or_reference_table(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["distribution"]) == 0
    out = capsys.readouterr().out
    assert [line for line in out.splitlines() if line.startswith("SELECT ")] == citus_calls()
    assert "SELECT create_reference_table('agents');" in out
    assert (
        "SELECT create_distributed_table('risk_alerts', 'vault_id', "
        "colocate_with => 'credit_vaults');" in out
    )


def test_distribution_mongodb_prints_a_shard_collection_per_sharded_collection(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["distribution", "--mongodb", "--mongodb-database", "risk"]) == 0
    calls = [line for line in capsys.readouterr().out.splitlines() if "shardCollection" in line]
    assert calls == [
        f"sh.shardCollection('risk.{k.collection}', {{ "
        + ", ".join(f"{f}: {v!r}" if isinstance(v, str) else f"{f}: {v}" for f, v in k.key.items())
        + " })"
        for k in MONGODB
        if k.key is not None
    ]
