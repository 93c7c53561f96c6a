"""The MongoDB schema of migrations/mongodb on a real server: applied, recorded,
rolled back and applied again by vaultstore's migration functions, on databases of
this module's own (the session's migrated database is left alone); and the
collections' validators and unique indexes, hit with raw documents written by plain
pymongo (nothing of vaultstore's in front of them), whose errors
``vaultstore._mongo.translate`` turns into vaultstore's.

The steps are read from the folder, so these tests hold as steps are added; the
GridFS bucket's indexes (step 0002.documents) are also checked against the ones
vaultstore created on first use before that step existed."""

from __future__ import annotations

import copy
import hashlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import pymongo
import pytest
from bson import Decimal128, json_util
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError, WriteError

import vaultstore
from vaultstore._mongo import CODEC_OPTIONS, translate
from vaultstore._resources import collection_validators, schema_steps, validators_after

REPO = Path(__file__).resolve().parent.parent
STEP_FILES = sorted((REPO / "migrations" / "mongodb").glob("*.json"))
STEP_IDS = [path.stem for path in STEP_FILES]
STEPS: dict[str, dict[str, Any]] = {
    path.stem: json_util.loads(path.read_text()) for path in STEP_FILES
}
COLLECTIONS: dict[str, Any] = {
    name: spec for step in STEPS.values() for name, spec in step.get("collections", {}).items()
}
"""The collections the steps create, each as the latest step defining it says."""
VALIDATORS = validators_after(schema_steps())
"""Each collection's validator once every step is applied (step 0004 requires
tenant_id of the tenant-owned ones, the GridFS bucket's too)."""


def indexes_of(step_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Every index the steps ``step_ids`` leave, by collection and name: those of
    the collections they create and those they add to collections they do not (a
    GridFS bucket's), less those a later step replaces (its "drop_indexes")."""
    indexes: dict[str, dict[str, Any]] = {}
    for step in (STEPS[id] for id in step_ids):
        for name, spec in step.get("collections", {}).items():
            indexes.setdefault(name, {}).update({i["name"]: i for i in spec.get("indexes", ())})
        for name, made in step.get("indexes", {}).items():
            indexes.setdefault(name, {}).update({i["name"]: i for i in made})
        for name, dropped in step.get("drop_indexes", {}).items():
            for index in dropped:
                del indexes[name][index["name"]]
    return indexes


INDEXES = indexes_of(STEP_IDS)
"""Every index the steps leave, by collection and name."""
BUCKET_COLLECTIONS = sorted(set(INDEXES) - set(COLLECTIONS))
"""Collections the steps index but do not create: rolling back leaves them."""
DOCUMENTS_STEP_ID = "0002.documents"
SHARD_KEYS_STEP_ID = "0003.shard-key-unique-indexes"
TENANTS_STEP_ID = "0004.tenants"
TENANT_OWNED = [
    "agents",
    "credit_vaults",
    "documents.chunks",
    "documents.files",
    "liquidation_events",
    "protection_rules",
    "risk_alerts",
]
SINCE_DOCUMENTS = STEP_IDS[STEP_IDS.index(DOCUMENTS_STEP_ID) :]
SINCE_TENANTS = STEP_IDS[STEP_IDS.index(TENANTS_STEP_ID) :]
"""The tenants step and the steps after it (the audit trail's)."""
AFTER_SHARD_KEYS = STEP_IDS[STEP_IDS.index(SHARD_KEYS_STEP_ID) + 1 :]
"""The steps after 0003, which change the bucket's indexes (0004.tenants)."""
"""The documents step and those after it: what rolling it back rolls back."""
GRIDFS_INDEXES: dict[str, dict[str, dict[str, Any]]] = {
    "documents.files": {
        "_id_": {"key": [("_id", 1)]},
        "filename_1_uploadDate_1": {"key": [("filename", 1), ("uploadDate", 1)]},
        "metadata.owner_type_1_metadata.owner_id_1__id_1": {
            "key": [("metadata.owner_type", 1), ("metadata.owner_id", 1), ("_id", 1)]
        },
    },
    "documents.chunks": {
        "_id_": {"key": [("_id", 1)]},
        "files_id_1_n_1": {"key": [("files_id", 1), ("n", 1)], "unique": True},
    },
}
"""The bucket's indexes as ``index_information()`` shows them (less ``v``): what
vaultstore created on a repository's first put before step 0002 existed."""
RECORD = "vaultstore_migrations"
VALIDATION_FAILED = 121
DUPLICATE_KEY = 11000
NOW = datetime(2026, 1, 1, 12, 0, 0, 123000, tzinfo=UTC)
MISSING: Any = object()
"""A change that removes the field, for "missing required field" cases."""


def with_database(uri: str, name: str) -> str:
    """``uri`` naming the database ``name`` instead, its options kept."""
    return urlsplit(uri)._replace(path="/" + name).geturl()


@contextmanager
def throwaway_database(mongo_uri: str) -> Iterator[str]:
    """The URI of a database with a unique name on ``mongo_uri``'s server, dropped
    afterwards."""
    name = f"vaultstore_schema_{uuid.uuid4().hex[:12]}"
    try:
        yield with_database(mongo_uri, name)
    finally:
        client: pymongo.MongoClient[Any] = pymongo.MongoClient(mongo_uri)
        try:
            client.drop_database(name)
        finally:
            client.close()


@contextmanager
def open_database(uri: str) -> Iterator[Database[Any]]:
    client: pymongo.MongoClient[Any] = pymongo.MongoClient(uri)
    try:
        yield client.get_default_database(codec_options=CODEC_OPTIONS)
    finally:
        client.close()


@pytest.fixture
def fresh_uri(mongo_uri: str) -> Iterator[str]:
    """A database no migration ever touched."""
    with throwaway_database(mongo_uri) as uri:
        yield uri


@pytest.fixture
def fresh_db(fresh_uri: str) -> Iterator[Database[Any]]:
    with open_database(fresh_uri) as db:
        yield db


@pytest.fixture
def migrated_uri(fresh_uri: str) -> str:
    vaultstore.apply_migrations(fresh_uri)
    return fresh_uri


@pytest.fixture(scope="module")
def schema_uri(mongo_uri: str) -> Iterator[str]:
    """One migrated database for the validator and index tests, which only insert."""
    with throwaway_database(mongo_uri) as uri:
        vaultstore.apply_migrations(uri)
        yield uri


@pytest.fixture(scope="module")
def schema_db(schema_uri: str) -> Iterator[Database[Any]]:
    with open_database(schema_uri) as db:
        yield db


def validator_of(db: Database[Any], name: str) -> Any:
    (info,) = db.list_collections(filter={"name": name})
    return info["options"].get("validator")


def vaultstore_collections(db: Database[Any]) -> list[str]:
    return sorted(set(db.list_collection_names()) - {RECORD})


def index_information(db: Database[Any], collection: str) -> dict[str, dict[str, Any]]:
    """``index_information()`` without the index version, directions as ints."""
    return {
        name: {
            **{k: v for k, v in info.items() if k not in {"v", "key"}},
            "key": [(key, int(direction)) for key, direction in info["key"]],
        }
        for name, info in db[collection].index_information().items()
    }


def create_the_bucket_indexes_on_first_use(db: Database[Any]) -> None:
    """What vaultstore's documents repository did on its first put before step
    0002: pymongo's default names, from the keys."""
    db["documents.files"].create_index([("filename", 1), ("uploadDate", 1)])
    db["documents.files"].create_index(
        [("metadata.owner_type", 1), ("metadata.owner_id", 1), ("_id", 1)]
    )
    db["documents.chunks"].create_index([("files_id", 1), ("n", 1)], unique=True)


# -- applying, recording, rolling back ----------------------------------------------


def test_the_steps_create_the_seven_collections() -> None:
    assert sorted(COLLECTIONS) == [
        "agents",
        "audit_log",
        "credit_vaults",
        "liquidation_events",
        "market_data",
        "protection_rules",
        "risk_alerts",
    ]


def test_the_steps_are_the_collections_then_the_documents_indexes() -> None:
    assert STEP_IDS[:2] == ["0001.collections", DOCUMENTS_STEP_ID]


def test_the_documents_step_indexes_the_gridfs_bucket_without_creating_collections() -> None:
    step = STEPS[DOCUMENTS_STEP_ID]
    assert "collections" not in step
    assert sorted(step["indexes"]) == ["documents.chunks", "documents.files"]


def test_apply_migrations_applies_every_step_in_order(fresh_uri: str) -> None:
    assert vaultstore.apply_migrations(fresh_uri) == STEP_IDS


def test_apply_migrations_applies_nothing_the_second_time(migrated_uri: str) -> None:
    assert vaultstore.apply_migrations(migrated_uri) == []


def test_applying_twice_leaves_one_record_of_each_step(
    migrated_uri: str, fresh_db: Database[Any]
) -> None:
    vaultstore.apply_migrations(migrated_uri)
    assert [r["_id"] for r in fresh_db[RECORD].find().sort("_id")] == STEP_IDS


def test_pending_migrations_lists_every_step_on_a_fresh_database(fresh_uri: str) -> None:
    assert vaultstore.pending_migrations(fresh_uri) == STEP_IDS


def test_applied_migrations_is_empty_on_a_fresh_database(fresh_uri: str) -> None:
    assert vaultstore.applied_migrations(fresh_uri) == []


def test_applied_migrations_lists_the_applied_steps(migrated_uri: str) -> None:
    assert vaultstore.applied_migrations(migrated_uri) == STEP_IDS


def test_pending_migrations_is_empty_once_applied(migrated_uri: str) -> None:
    assert vaultstore.pending_migrations(migrated_uri) == []


def test_each_record_holds_the_checksum_of_its_step_file(
    migrated_uri: str, fresh_db: Database[Any]
) -> None:
    checksums = {r["_id"]: r["checksum"] for r in fresh_db[RECORD].find()}
    assert checksums == {
        path.stem: hashlib.sha256(path.read_bytes()).hexdigest() for path in STEP_FILES
    }


def test_each_record_holds_the_description_of_its_step(
    migrated_uri: str, fresh_db: Database[Any]
) -> None:
    descriptions = {r["_id"]: r["description"] for r in fresh_db[RECORD].find()}
    assert descriptions == {id: step["description"] for id, step in STEPS.items()}


def test_each_record_holds_when_its_step_was_applied(
    fresh_uri: str, fresh_db: Database[Any]
) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    vaultstore.apply_migrations(fresh_uri)
    after = datetime.now(UTC)
    records = list(fresh_db[RECORD].find())
    assert len(records) == len(STEP_IDS)
    for record in records:
        assert before <= record["applied_at"] <= after
        assert record["applied_at"].utcoffset().total_seconds() == 0


def test_apply_migrations_creates_the_collections_of_the_steps_and_the_bucket(
    migrated_uri: str, fresh_db: Database[Any]
) -> None:
    assert vaultstore_collections(fresh_db) == sorted(INDEXES)
    assert BUCKET_COLLECTIONS == ["documents.chunks", "documents.files"]


@pytest.mark.parametrize("collection", sorted(COLLECTIONS))
def test_every_collection_has_the_validator_of_the_step(
    migrated_uri: str, fresh_db: Database[Any], collection: str
) -> None:
    assert validator_of(fresh_db, collection) == VALIDATORS[collection]


@pytest.mark.parametrize("collection", sorted(INDEXES))
def test_every_collection_has_the_indexes_named_in_the_steps(
    migrated_uri: str, fresh_db: Database[Any], collection: str
) -> None:
    assert set(fresh_db[collection].index_information()) == set(INDEXES[collection]) | {"_id_"}


@pytest.mark.parametrize(
    ("collection", "index"),
    [(name, index) for name, indexes in sorted(INDEXES.items()) for index in indexes.values()],
    ids=lambda value: value if isinstance(value, str) else value["name"],
)
def test_every_index_has_the_keys_and_options_of_the_step(
    migrated_uri: str, fresh_db: Database[Any], collection: str, index: dict[str, Any]
) -> None:
    info = fresh_db[collection].index_information()[index["name"]]
    assert [(key, int(direction)) for key, direction in info["key"]] == list(index["keys"].items())
    assert info.get("unique", False) == index.get("unique", False)
    assert info.get("partialFilterExpression") == index.get("partialFilterExpression")


def test_rollback_migrations_rolls_back_every_step_newest_first(migrated_uri: str) -> None:
    assert vaultstore.rollback_migrations(migrated_uri) == list(reversed(STEP_IDS))


def test_rollback_migrations_drops_the_collections_and_leaves_the_bucket_bare(
    migrated_uri: str, fresh_db: Database[Any]
) -> None:
    vaultstore.rollback_migrations(migrated_uri)
    assert vaultstore_collections(fresh_db) == BUCKET_COLLECTIONS
    for name in BUCKET_COLLECTIONS:
        assert set(fresh_db[name].index_information()) == {"_id_"}


def test_rollback_migrations_removes_the_record(migrated_uri: str, fresh_db: Database[Any]) -> None:
    vaultstore.rollback_migrations(migrated_uri)
    assert list(fresh_db[RECORD].find()) == []


def test_rollback_migrations_leaves_every_step_pending(migrated_uri: str) -> None:
    vaultstore.rollback_migrations(migrated_uri)
    assert vaultstore.pending_migrations(migrated_uri) == STEP_IDS


def test_rollback_migrations_on_a_fresh_database_rolls_back_nothing(fresh_uri: str) -> None:
    assert vaultstore.rollback_migrations(fresh_uri) == []


def test_migrations_apply_again_after_a_rollback(migrated_uri: str) -> None:
    vaultstore.rollback_migrations(migrated_uri)
    assert vaultstore.apply_migrations(migrated_uri) == STEP_IDS


def test_applying_again_after_a_rollback_restores_validators_and_indexes(
    migrated_uri: str, fresh_db: Database[Any]
) -> None:
    vaultstore.rollback_migrations(migrated_uri)
    vaultstore.apply_migrations(migrated_uri)
    assert {name: validator_of(fresh_db, name) for name in VALIDATORS} == VALIDATORS
    assert {name: set(fresh_db[name].index_information()) for name in INDEXES} == {
        name: set(indexes) | {"_id_"} for name, indexes in INDEXES.items()
    }


def test_applying_sets_the_validator_of_a_collection_that_already_exists(
    fresh_uri: str, fresh_db: Database[Any]
) -> None:
    fresh_db.create_collection("agents")
    vaultstore.apply_migrations(fresh_uri)
    assert validator_of(fresh_db, "agents") == VALIDATORS["agents"]


# -- the documents' GridFS bucket (step 0002.documents) --------------------------------


@pytest.mark.parametrize("collection", sorted(GRIDFS_INDEXES))
def test_apply_migrations_gives_the_bucket_the_indexes_first_use_gave_it(
    migrated_uri: str, fresh_db: Database[Any], collection: str
) -> None:
    vaultstore.rollback_migrations(migrated_uri, count=len(AFTER_SHARD_KEYS))
    assert index_information(fresh_db, collection) == GRIDFS_INDEXES[collection]


def test_the_documents_step_leaves_a_bucket_indexed_on_first_use_unchanged(
    fresh_uri: str, fresh_db: Database[Any]
) -> None:
    create_the_bucket_indexes_on_first_use(fresh_db)
    before = {name: index_information(fresh_db, name) for name in GRIDFS_INDEXES}
    assert vaultstore.apply_migrations(fresh_uri) == STEP_IDS
    vaultstore.rollback_migrations(fresh_uri, count=len(AFTER_SHARD_KEYS))
    assert {name: index_information(fresh_db, name) for name in GRIDFS_INDEXES} == before


def test_rolling_back_the_documents_step_rolls_back_only_it_and_the_later_ones(
    migrated_uri: str,
) -> None:
    assert vaultstore.rollback_migrations(migrated_uri, count=len(SINCE_DOCUMENTS)) == list(
        reversed(SINCE_DOCUMENTS)
    )
    assert vaultstore.pending_migrations(migrated_uri) == SINCE_DOCUMENTS


def test_rolling_back_the_documents_step_drops_the_bucket_indexes(
    migrated_uri: str, fresh_db: Database[Any]
) -> None:
    vaultstore.rollback_migrations(migrated_uri, count=len(SINCE_DOCUMENTS))
    assert {name: index_information(fresh_db, name) for name in GRIDFS_INDEXES} == {
        name: {"_id_": {"key": [("_id", 1)]}} for name in GRIDFS_INDEXES
    }


def test_rolling_back_the_documents_step_keeps_the_other_collections_and_indexes(
    migrated_uri: str, fresh_db: Database[Any]
) -> None:
    vaultstore.rollback_migrations(migrated_uri, count=len(SINCE_DOCUMENTS))
    before = indexes_of(STEP_IDS[: STEP_IDS.index(DOCUMENTS_STEP_ID)])
    kept = [name for name in COLLECTIONS if name in before]  # not those of later steps
    assert kept
    assert {name: set(fresh_db[name].index_information()) for name in kept} == {
        name: set(before[name]) | {"_id_"} for name in kept
    }


def test_rolling_back_the_documents_step_keeps_the_stored_documents(
    migrated_uri: str, fresh_db: Database[Any]
) -> None:
    tenant = {"tenant_id": "acme"}
    fresh_db["documents.files"].insert_one({**tenant, "_id": "doc-1", "filename": "report.pdf"})
    fresh_db["documents.chunks"].insert_one({**tenant, "files_id": "doc-1", "n": 0, "data": b"x"})
    vaultstore.rollback_migrations(migrated_uri, count=len(SINCE_DOCUMENTS))
    assert fresh_db["documents.files"].count_documents({}) == 1
    assert fresh_db["documents.chunks"].count_documents({}) == 1


def test_rolling_back_the_documents_step_after_an_index_was_dropped_by_hand(
    migrated_uri: str, fresh_db: Database[Any]
) -> None:
    fresh_db["documents.chunks"].drop_index("files_id_1_n_1")
    assert vaultstore.rollback_migrations(migrated_uri, count=len(SINCE_DOCUMENTS)) == list(
        reversed(SINCE_DOCUMENTS)
    )
    for name in GRIDFS_INDEXES:
        assert set(fresh_db[name].index_information()) == {"_id_"}


def test_the_documents_step_applies_again_after_its_rollback(
    migrated_uri: str, fresh_db: Database[Any]
) -> None:
    vaultstore.rollback_migrations(migrated_uri, count=len(SINCE_DOCUMENTS))
    assert vaultstore.apply_migrations(migrated_uri) == SINCE_DOCUMENTS
    assert {name: set(fresh_db[name].index_information()) for name in GRIDFS_INDEXES} == {
        name: set(INDEXES[name]) | {"_id_"} for name in GRIDFS_INDEXES
    }


# -- the shard keys' unique indexes (step 0003) ----------------------------------------


def unique_indexes(db: Database[Any], name: str) -> dict[str, list[tuple[str, int]]]:
    return {
        index: info["key"]
        for index, info in db[name].index_information().items()
        if info.get("unique")
    }


def test_the_shard_key_step_replaces_the_unique_indexes_with_ones_starting_with_the_key(
    migrated_uri: str, fresh_db: Database[Any]
) -> None:
    assert unique_indexes(fresh_db, "liquidation_events") == {
        "liquidation_events_vault_id_tx_hash_key": [
            ("vault_id", 1),
            ("chain_id", 1),
            ("tx_hash", 1),
        ]
    }
    assert unique_indexes(fresh_db, "market_data") == {
        "market_data_token_chain_id_recorded_at_source_key": [
            ("token", 1),
            ("chain_id", 1),
            ("recorded_at", 1),
            ("source", 1),
        ]
    }


def test_rolling_back_the_shard_key_step_restores_the_unique_indexes_it_replaced(
    migrated_uri: str, fresh_db: Database[Any]
) -> None:
    since = [SHARD_KEYS_STEP_ID, *AFTER_SHARD_KEYS]
    assert vaultstore.rollback_migrations(migrated_uri, count=len(since)) == since[::-1]
    assert unique_indexes(fresh_db, "liquidation_events") == {
        "liquidation_events_tx_hash_key": [("chain_id", 1), ("tx_hash", 1), ("vault_id", 1)]
    }
    assert unique_indexes(fresh_db, "market_data") == {
        "market_data_recorded_key": [
            ("token", 1),
            ("chain_id", 1),
            ("source", 1),
            ("recorded_at", 1),
        ]
    }
    assert vaultstore.apply_migrations(migrated_uri) == since
    assert set(unique_indexes(fresh_db, "market_data")) == {
        "market_data_token_chain_id_recorded_at_source_key"
    }


# -- tenants (step 0004) ------------------------------------------------------------


def test_the_tenants_step_covers_every_owned_collection_and_not_market_data() -> None:
    step = STEPS[TENANTS_STEP_ID]
    assert sorted(c for c, fields in step["fields"].items() if "tenant_id" in fields) == (
        TENANT_OWNED
    )
    owned = {e.table for e in vaultstore.REGISTRY if not e.shared} | {
        "documents.files",
        "documents.chunks",
    }
    assert set(TENANT_OWNED) == owned


def test_the_tenants_step_gives_stored_documents_the_default_tenant(
    fresh_uri: str, fresh_db: Database[Any]
) -> None:
    vaultstore.apply_migrations(fresh_uri)
    vaultstore.rollback_migrations(fresh_uri, count=len(SINCE_TENANTS))
    document = {k: v for k, v in valid_document("agents").items() if k != "tenant_id"}
    fresh_db["agents"].insert_one(document)
    assert vaultstore.apply_migrations(fresh_uri) == SINCE_TENANTS
    stored = fresh_db["agents"].find_one({"_id": document["_id"]})
    assert stored is not None
    assert stored["tenant_id"] == "default"


@pytest.mark.parametrize("collection", TENANT_OWNED)
def test_the_validator_refuses_a_document_without_a_tenant(
    schema_db: Database[Any], collection: str
) -> None:
    document = changed(valid_document(collection), "tenant_id", MISSING)
    with pytest.raises(WriteError) as info:
        schema_db[collection].insert_one(document)
    assert info.value.code == VALIDATION_FAILED


def test_one_agent_name_in_two_tenants_is_no_duplicate(schema_db: Database[Any]) -> None:
    for tenant in ("acme", "globex"):
        document = {**valid_document("agents"), "tenant_id": tenant, "name": "same-in-both"}
        schema_db["agents"].insert_one(document)


def test_rolling_back_the_tenants_step_removes_tenant_id_its_validators_and_indexes(
    migrated_uri: str, fresh_db: Database[Any]
) -> None:
    fresh_db["agents"].insert_one(valid_document("agents"))
    assert vaultstore.rollback_migrations(migrated_uri, count=len(SINCE_TENANTS)) == list(
        reversed(SINCE_TENANTS)
    )
    assert fresh_db["agents"].count_documents({"tenant_id": {"$exists": True}}) == 0
    earlier = STEP_IDS.index(TENANTS_STEP_ID)
    before = validators_after(schema_steps()[:earlier])
    for name in TENANT_OWNED:
        assert validator_of(fresh_db, name) == before.get(name, {}), name
    assert {name: set(fresh_db[name].index_information()) for name in TENANT_OWNED} == {
        name: set(indexes) | {"_id_"}
        for name, indexes in indexes_of(STEP_IDS[:earlier]).items()
        if name in TENANT_OWNED
    }
    assert vaultstore.apply_migrations(migrated_uri) == SINCE_TENANTS


# -- validators ----------------------------------------------------------------------


def d(value: str) -> Decimal128:
    return Decimal128(value)


def tokens(token: str, amount: str, value_usd: str) -> dict[str, Any]:
    return {"token": token, "amount": d(amount), "value_usd": d(value_usd)}


def valid_document(collection: str) -> dict[str, Any]:
    """A document every rule of ``collection``'s validator (if it has one) accepts, with
    a fresh _id."""
    times = {"created_at": NOW, "updated_at": NOW}
    documents: dict[str, dict[str, Any]] = {
        "agents": {
            "name": "agent_123",
            "credibility_score": 720,
            "credibility_tier": "good",
        },
        "credit_vaults": {
            "agent_id": "01AGENT0000000000000000000",
            "chain_id": 1,
            "collateral": tokens("ETH", "10", "20000"),
            "debt": tokens("USDC", "10000", "10000"),
            "ltv": d("50"),
            "health_factor": d("2.0"),
            "max_ltv": d("70"),
            "liquidation_protection": {"enabled": True, "threshold": d("59.5"), "cooldown": 3600},
            "status": "active",
        },
        "risk_alerts": {
            "vault_id": "01VAULT0000000000000000000",
            "alert_type": "ltv_warning",
            "severity": "high",
            "message": "LTV 75%",
            "status": "open",
            "acknowledged_at": None,
            "resolved_at": None,
        },
        "liquidation_events": {
            "vault_id": "01VAULT0000000000000000000",
            "chain_id": 1,
            "collateral_seized": tokens("ETH", "1.5", "3000"),
            "debt_repaid": tokens("USDC", "2800", "2800"),
            "penalty_usd": d("200"),
            "ltv": d("86.1"),
            "health_factor": d("0.97"),
            "liquidator": "0xabc",
            "tx_hash": "0x01",
            "occurred_at": NOW,
        },
        "protection_rules": {
            "vault_id": "01VAULT0000000000000000000",
            "name": "repay",
            "conditions": {"ltv_gte": 85},
            "actions": [{"type": "repay"}],
            "enabled": True,
            "priority": 0,
            "cooldown": 3600,
            "last_triggered_at": None,
            "trigger_count": 0,
        },
        "market_data": {
            "token": "ETH",
            "chain_id": 1,
            "price_usd": d("2000.5"),
            "volume_24h_usd": None,
            "market_cap_usd": None,
            "source": "feed",
            "recorded_at": NOW,
        },
        "documents.files": {"length": 0, "chunkSize": 261120, "filename": "f", "metadata": {}},
        # A GridFS chunk: its validator requires files_id, n and tenant_id.
        "documents.chunks": {"files_id": "01DOC00000000000000000000", "n": 0, "data": b""},
        "audit_log": {
            "tenant_id": "acme",
            "written_at": NOW,
            "actor": "risk-engine",
            "operation_name": "vaults.update_metrics",
            "write_kind": "update",
            "entity_type": "vaults",
            "entity_id": "01VAULT0000000000000000000",
            "version_before": 1,
            "version_after": 2,
            "changes": {"ltv": {"old": d("50"), "new": d("61.25")}},
            "row_count": 1,
        },
    }
    tenant = {"tenant_id": "acme"} if collection in TENANT_OWNED else {}
    return {"_id": vaultstore.new_id(), **tenant, **copy.deepcopy(documents[collection]), **times}


def changed(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``document`` with the dotted ``path`` set to ``value`` (or removed)."""
    result = copy.deepcopy(document)
    *parents, last = path.split(".")
    target = result
    for part in parents:
        target = target[part]
    if value is MISSING:
        del target[last]
    else:
        target[last] = value
    return result


# The entity each collection holds: the repositories translate errors for it.
ENTITY_OF: dict[str, type] = {
    "agents": vaultstore.Agent,
    "credit_vaults": vaultstore.CreditVault,
    "risk_alerts": vaultstore.RiskAlert,
    "liquidation_events": vaultstore.LiquidationEvent,
    "protection_rules": vaultstore.ProtectionRule,
    "market_data": vaultstore.MarketData,
}


class BrokenRule(NamedTuple):
    collection: str
    path: str
    value: Any
    field: str
    """The field a ValidationError should name."""


BROKEN_RULES = [
    BrokenRule("credit_vaults", "collateral.amount", d("-1"), "collateral.amount"),
    BrokenRule("credit_vaults", "debt.value_usd", d("-0.01"), "debt.value_usd"),
    BrokenRule("credit_vaults", "ltv", d("-1"), "ltv"),
    BrokenRule("credit_vaults", "health_factor", d("-0.1"), "health_factor"),
    BrokenRule("credit_vaults", "max_ltv", d("101"), "max_ltv"),
    BrokenRule("credit_vaults", "max_ltv", d("0"), "max_ltv"),
    BrokenRule(
        "credit_vaults",
        "liquidation_protection.threshold",
        d("70.1"),
        "liquidation_protection.threshold",
    ),
    BrokenRule(
        "credit_vaults",
        "liquidation_protection.threshold",
        d("0"),
        "liquidation_protection.threshold",
    ),
    BrokenRule(
        "credit_vaults", "liquidation_protection.cooldown", -1, "liquidation_protection.cooldown"
    ),
    BrokenRule("credit_vaults", "chain_id", 0, "chain_id"),
    BrokenRule("credit_vaults", "status", "frozen", "status"),
    BrokenRule("credit_vaults", "ltv", MISSING, "ltv"),
    BrokenRule("credit_vaults", "agent_id", MISSING, "agent_id"),
    BrokenRule("credit_vaults", "ltv", 50.5, "ltv"),  # a double, not a decimal
    BrokenRule("credit_vaults", "chain_id", "1", "chain_id"),
    BrokenRule("credit_vaults", "created_at", "2026-01-01", "created_at"),
    BrokenRule("credit_vaults", "collateral.token", "", "collateral.token"),
    BrokenRule(
        "credit_vaults",
        "liquidation_protection.threshold",
        59.5,
        "liquidation_protection.threshold",
    ),
    BrokenRule("agents", "credibility_score", 1001, "credibility_score"),
    BrokenRule("agents", "credibility_score", -1, "credibility_score"),
    BrokenRule("agents", "credibility_tier", "legendary", "credibility_tier"),
    BrokenRule("agents", "name", MISSING, "name"),
    BrokenRule("agents", "name", "", "name"),
    BrokenRule("risk_alerts", "severity", "urgent", "severity"),
    BrokenRule("risk_alerts", "status", "snoozed", "status"),
    BrokenRule("risk_alerts", "status", "resolved", "resolved_at"),  # resolved_at still None
    BrokenRule("risk_alerts", "status", "acknowledged", "acknowledged_at"),  # none set
    BrokenRule("risk_alerts", "resolved_at", NOW, "resolved_at"),  # still open
    BrokenRule("liquidation_events", "penalty_usd", d("-1"), "penalty_usd"),
    BrokenRule(
        "liquidation_events", "collateral_seized.amount", d("-1"), "collateral_seized.amount"
    ),
    BrokenRule("liquidation_events", "tx_hash", MISSING, "tx_hash"),
    BrokenRule("protection_rules", "priority", 1001, "priority"),
    BrokenRule("protection_rules", "cooldown", -1, "cooldown"),
    BrokenRule("protection_rules", "trigger_count", -1, "trigger_count"),
    BrokenRule("protection_rules", "conditions", [], "conditions"),
    BrokenRule("protection_rules", "enabled", 1, "enabled"),
    BrokenRule("market_data", "price_usd", d("0"), "price_usd"),
    BrokenRule("market_data", "price_usd", d("-2000"), "price_usd"),
    BrokenRule("market_data", "price_usd", "2000.5", "price_usd"),
    BrokenRule("market_data", "volume_24h_usd", d("-1"), "volume_24h_usd"),
    BrokenRule("market_data", "market_cap_usd", d("-1"), "market_cap_usd"),
    BrokenRule("market_data", "chain_id", -1, "chain_id"),
]


def rule_id(rule: BrokenRule) -> str:
    value = "missing" if rule.value is MISSING else repr(rule.value)
    return f"{rule.collection}.{rule.path}={value}"


def refused(db: Database[Any], rule: BrokenRule) -> WriteError:
    """The WriteError pymongo raises for a document breaking ``rule``."""
    document = changed(valid_document(rule.collection), rule.path, rule.value)
    with pytest.raises(WriteError) as info:
        db[rule.collection].insert_one(document)
    return info.value


@pytest.mark.parametrize("collection", sorted(COLLECTIONS))
def test_the_validator_accepts_a_valid_raw_document(
    schema_db: Database[Any], collection: str
) -> None:
    document = valid_document(collection)
    if collection == "protection_rules":
        document["name"] = f"repay-{document['_id']}"  # the (vault_id, name) index is unique
    if collection == "market_data":
        document["source"] = document["_id"]  # so is (token, chain_id, source, recorded_at)
    if collection == "liquidation_events":
        document["tx_hash"] = document["_id"]  # and (chain_id, tx_hash, vault_id)
    if collection == "agents":
        document["name"] = document["_id"]  # and the agent's name
    schema_db[collection].insert_one(document)
    assert schema_db[collection].find_one({"_id": document["_id"]}) == document


@pytest.mark.parametrize("rule", BROKEN_RULES, ids=rule_id)
def test_the_validator_refuses_a_raw_document_breaking_one_rule(
    schema_db: Database[Any], rule: BrokenRule
) -> None:
    assert refused(schema_db, rule).code == VALIDATION_FAILED


@pytest.mark.parametrize("rule", BROKEN_RULES, ids=rule_id)
def test_a_validator_refusal_translates_to_a_validation_error_naming_the_field(
    schema_db: Database[Any], schema_uri: str, rule: BrokenRule
) -> None:
    error = translate(
        refused(schema_db, rule),
        settings=vaultstore.settings_from_url(schema_uri),
        entity=ENTITY_OF[rule.collection],
        clauses=collection_validators()[rule.collection],
    )
    assert isinstance(error, vaultstore.ValidationError)
    assert (error.field, error.code) == (rule.field, VALIDATION_FAILED)


def test_an_unknown_field_in_a_value_object_is_refused_naming_the_value_object(
    schema_db: Database[Any], schema_uri: str
) -> None:
    document = changed(valid_document("credit_vaults"), "collateral.note", "extra")
    with pytest.raises(WriteError) as info:
        schema_db["credit_vaults"].insert_one(document)
    error = translate(info.value, settings=vaultstore.settings_from_url(schema_uri))
    assert isinstance(error, vaultstore.ValidationError)
    assert error.field in {"collateral", "collateral.note"}


# -- unique indexes ---------------------------------------------------------------------


class UniqueKey(NamedTuple):
    collection: str
    index_name: str
    key: dict[str, Any]
    """Values of the indexed fields, the same in both documents."""


UNIQUE_KEYS = [
    UniqueKey("agents", "agents_tenant_id_name_key", {"tenant_id": "acme", "name": "twin"}),
    UniqueKey(
        "liquidation_events",
        "liquidation_events_vault_id_tx_hash_key",
        {"chain_id": 1, "tx_hash": "0xdup", "vault_id": "01VAULTDUP0000000000000000"},
    ),
    UniqueKey(
        "protection_rules",
        "protection_rules_name_key",
        {"vault_id": "01VAULTDUP0000000000000000", "name": "twin"},
    ),
    UniqueKey(
        "market_data",
        "market_data_token_chain_id_recorded_at_source_key",
        {"token": "DUP", "chain_id": 1, "source": "twin", "recorded_at": NOW},
    ),
    UniqueKey("documents.chunks", "files_id_1_n_1", {"files_id": "01DOCDUP", "n": 0}),
]


def test_every_unique_index_of_the_steps_is_tested() -> None:
    unique = {
        index["name"]
        for indexes in INDEXES.values()
        for index in indexes.values()
        if index.get("unique")
    }
    assert unique == {key.index_name for key in UNIQUE_KEYS}


def duplicate(db: Database[Any], unique: UniqueKey) -> DuplicateKeyError:
    """The error of inserting a second document with the same key (the first is inserted)."""
    first = {**valid_document(unique.collection), **unique.key}
    db[unique.collection].insert_one(first)
    second = {**valid_document(unique.collection), **unique.key}
    with pytest.raises(DuplicateKeyError) as info:
        db[unique.collection].insert_one(second)
    db[unique.collection].delete_one({"_id": first["_id"]})
    return info.value


@pytest.mark.parametrize("unique", UNIQUE_KEYS, ids=lambda u: u.index_name)
def test_a_second_document_with_a_unique_key_is_a_duplicate_key_error(
    schema_db: Database[Any], unique: UniqueKey
) -> None:
    error = duplicate(schema_db, unique)
    assert error.code == DUPLICATE_KEY


@pytest.mark.parametrize("unique", UNIQUE_KEYS, ids=lambda u: u.index_name)
def test_a_duplicate_key_error_translates_to_a_conflict_error(
    schema_db: Database[Any], schema_uri: str, unique: UniqueKey
) -> None:
    error = translate(
        duplicate(schema_db, unique), settings=vaultstore.settings_from_url(schema_uri)
    )
    assert isinstance(error, vaultstore.ConflictError)
    assert error.code == DUPLICATE_KEY


def test_the_same_transaction_on_another_vault_is_not_a_duplicate(
    schema_db: Database[Any],
) -> None:
    key = {"chain_id": 1, "tx_hash": "0xshared"}
    first = {**valid_document("liquidation_events"), **key, "vault_id": "01VAULTONE"}
    second = {**valid_document("liquidation_events"), **key, "vault_id": "01VAULTTWO"}
    schema_db["liquidation_events"].insert_many([first, second])
    assert schema_db["liquidation_events"].count_documents(key) == 2
