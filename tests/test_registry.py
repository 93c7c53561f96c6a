"""The registry says what each entity is; the schemas must agree with it, since
MongoDB's referential rules, the error translators and the clean-up lists are
derived from it."""

from __future__ import annotations

from pathlib import Path

import aiosql
import attrs
import psycopg
import pytest
from psycopg.rows import dict_row

import vaultstore
from vaultstore import REGISTRY, EntityType, Reference, Registry
from vaultstore._audit import AUDIT
from vaultstore._postgres import constraint_parts
from vaultstore._resources import schema_steps

SQL = aiosql.from_path(Path(__file__).parent / "sql" / "registry.sql", "psycopg")
ON_DELETE = {"r": "restrict", "a": "restrict", "c": "cascade"}


def test_every_table_of_the_migrations_is_in_the_registry(migrated_url: str) -> None:
    with psycopg.connect(migrated_url, row_factory=dict_row) as conn:
        tables = sorted(row["table_name"] for row in SQL.tables(conn))
    assert tables == sorted(REGISTRY.tables)


def test_the_references_are_the_foreign_keys_of_the_migrations(migrated_url: str) -> None:
    entity_tables = {entity.table for entity in REGISTRY}
    with psycopg.connect(migrated_url, row_factory=dict_row) as conn:
        keys = {
            (row["table_name"], row["column_name"], row["referenced_table"]): ON_DELETE[
                row["on_delete"]
            ]
            for row in SQL.foreign_keys(conn)
            if row["table_name"] in entity_tables
        }
    declared = {
        (entity.table, ref.field, ref.table): ref.on_delete
        for entity in REGISTRY
        for ref in entity.references
    }
    assert declared == keys


def test_every_entity_has_a_collection_in_the_mongodb_steps() -> None:
    collections = {name for step in schema_steps() for name in step.collections}
    # and the audit trail's, which is no entity's (no repository writes it)
    assert {entity.table for entity in REGISTRY} | {AUDIT.table} == collections


def test_dependents_are_derived_from_the_references() -> None:
    dependents = {
        (other.name, ref.on_delete) for other, ref in REGISTRY.dependents("credit_vaults")
    }
    assert dependents == {
        ("alerts", "cascade"),
        ("liquidations", "restrict"),
        ("protection_rules", "cascade"),
    }


def test_a_constraint_is_read_with_the_registry_tables() -> None:
    assert constraint_parts("liquidation_events_vault_id_fkey") == (
        "liquidation_events",
        "vault_id",
    )
    assert constraint_parts("credit_vaults_liquidation_protection_threshold_check") == (
        "credit_vaults",
        "liquidation_protection_threshold",
    )


def test_a_registry_refuses_a_reference_to_no_entity() -> None:
    orphan = EntityType(
        name="orphans",
        cls=vaultstore.Agent,
        table="orphans",
        new=vaultstore.NewAgent,
        changes=vaultstore.AgentChanges,
        references=(Reference("owner_id", "nowhere"),),
    )
    with pytest.raises(ValueError, match="names no entity"):
        Registry((*REGISTRY.entities, orphan))


def test_a_registry_refuses_two_entities_of_one_name() -> None:
    with pytest.raises(ValueError, match="share a name"):
        Registry((*REGISTRY.entities, REGISTRY.entities[0]))


@pytest.mark.parametrize("name", ["documents", "transaction", "close", "_private", "not-an-id"])
def test_a_registry_refuses_a_name_the_store_needs_or_cannot_hold(name: str) -> None:
    clash = EntityType(
        name=name,
        cls=vaultstore.Agent,
        table="clash",
        new=vaultstore.NewAgent,
        changes=vaultstore.AgentChanges,
    )
    with pytest.raises(ValueError, match="cannot name"):
        Registry((*REGISTRY.entities, clash))


def test_a_registry_refuses_cascades_deeper_than_one_level() -> None:
    notes = EntityType(
        name="alert_notes",
        cls=vaultstore.Agent,
        table="alert_notes",
        new=vaultstore.NewAgent,
        changes=vaultstore.AgentChanges,
        references=(Reference("alert_id", "risk_alerts", "restrict"),),
    )
    with pytest.raises(ValueError, match="one level"):
        Registry((*REGISTRY.entities, notes))


def test_a_registry_refuses_a_document_owner_deleted_in_cascade() -> None:
    # Its delete() would not run, and its documents would outlive it.
    reports = EntityType(
        name="vault_reports",
        cls=vaultstore.Agent,
        table="vault_reports",
        new=vaultstore.NewAgent,
        changes=vaultstore.AgentChanges,
        references=(Reference("vault_id", "credit_vaults", "cascade"),),
        document_owner="vault_report",
    )
    with pytest.raises(ValueError, match="owns documents"):
        Registry((*REGISTRY.entities, reports))


def test_a_registry_refuses_a_changeable_field_that_locates_a_row() -> None:
    # lock() reads it, then locks by it: a change in between would miss the row.
    renamed = attrs.evolve(REGISTRY.by_table("agents"), located_by=("name",))
    others = [e for e in REGISTRY.entities if e.table != "agents"]
    with pytest.raises(ValueError, match="name locate a stored row"):
        Registry((renamed, *others))
