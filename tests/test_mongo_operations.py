"""MongoDB's declared operations (queries/<entity>.mongodb.json), read and bound to
parameters without a server: what the executor then sends."""

from __future__ import annotations

from typing import Any

import pytest

from vaultstore._mongo import containment_filter
from vaultstore._mongo_operations import DeclarationError, parse_operation, updated
from vaultstore._queries import load_mongodb_operations
from vaultstore._registry import REGISTRY

HIGH_RISK: dict[str, Any] = {
    "find": {"ltv": {"$gte": ":threshold"}},
    "sort": {"ltv": -1, "_id": -1},
    "after": {"ltv": ":after_ltv", "_id": ":after_id"},
    "limit": ":limit",
}


def test_placeholders_are_replaced_by_the_parameters() -> None:
    op = parse_operation("find_by_agent_id", {"find": {"agent_id": ":agent_id", "n": 1}})
    assert op.filter({"agent_id": "a1"}) == {"agent_id": "a1", "n": 1}
    assert op.parameters == {"agent_id"}


def test_the_first_page_is_a_plain_range() -> None:
    op = parse_operation("find_high_risk", HIGH_RISK)
    bound = op.filter({"threshold": 80, "after_ltv": 1e9, "after_id": ""})
    assert bound == {"ltv": {"$gte": 80}}


def test_a_later_page_starts_after_the_last_key_in_sort_order() -> None:
    op = parse_operation("find_high_risk", HIGH_RISK)
    assert op.filter({"threshold": 80, "after_ltv": 90, "after_id": "v9"}) == {
        "ltv": {"$gte": 80},
        "$or": [{"ltv": {"$lt": 90}}, {"ltv": 90, "_id": {"$lt": "v9"}}],
    }


def test_a_keyset_beside_an_or_of_the_filter_joins_it_with_and() -> None:
    spec = {**HIGH_RISK, "find": {"$or": [{"a": 1}, {"b": 2}]}, "sort": {"t": 1, "_id": 1}}
    spec["after"] = {"t": ":t", "_id": ":id"}
    bound = parse_operation("x", spec).filter({"t": 5, "id": "k"})
    assert bound == {
        "$and": [
            {"$or": [{"a": 1}, {"b": 2}]},
            {"$or": [{"t": {"$gt": 5}}, {"t": 5, "_id": {"$gt": "k"}}]},
        ]
    }


def test_containment_is_spelled_for_mongodb() -> None:
    op = parse_operation("find", {"find": {"conditions": {"@>": ":c"}, "_id": {"$gt": ":a"}}})
    conditions = {"ltv_above": 80, "tags": ["x"]}
    assert op.filter({"c": conditions, "a": ""}) == {
        "_id": {"$gt": ""},
        **containment_filter("conditions", conditions),
    }


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"find": {}, "find_one": {}}, "exactly one of"),
        ({"find": {}, "projection": {}}, "exactly one of"),
        ({"find_one": {}, "update": {}}, "'update' goes with find_one_and_update"),
        ({"find_one_and_update": {}}, "'update' goes with find_one_and_update"),
        ({"delete_one": {}, "sort": {"_id": 1}}, "sort, limit and after go with find"),
        ({"find": {}, "sort": {"a": 1}, "after": {"b": ":b"}}, "'after' names the fields"),
        ([], "expected an object"),
    ],
)
def test_a_declaration_vaultstore_cannot_run_is_refused(spec: Any, message: str) -> None:
    with pytest.raises(DeclarationError, match=message):
        parse_operation("bad", spec)


def test_every_entity_declares_its_operations() -> None:
    """And the audit trail's reads (queries/audit.mongodb.json) beside them."""
    declared = load_mongodb_operations()
    assert sorted(declared) == sorted([*(entity.name for entity in REGISTRY), "audit"])


UPDATE_METRICS = [
    {
        "$set": {
            "ltv": {"$literal": "51"},
            "version": {"$add": [{"$ifNull": ["$version", 1]}, 1]},
        }
    }
]


def test_updated_works_out_a_pipeline_of_sets() -> None:
    before = {"_id": "v1", "ltv": "50", "version": 4}
    assert updated(UPDATE_METRICS, before) == {"_id": "v1", "ltv": "51", "version": 5}
    assert before == {"_id": "v1", "ltv": "50", "version": 4}
    assert updated(UPDATE_METRICS, {"_id": "v1"}) == {"_id": "v1", "ltv": "51", "version": 2}


def test_updated_gives_each_stage_the_document_the_one_before_made() -> None:
    stages = [
        {"$set": {"version": {"$add": ["$version", 1]}, "was": "$version"}},
        {"$set": {"now": "$version", "gone": "$nothing"}},
    ]
    after = updated(stages, {"version": 1, "gone": 1})
    assert after == {"version": 2, "was": 1, "now": 2}


def test_updated_takes_an_update_documents_values_as_they_are() -> None:
    assert updated({"$set": {"x": "$y"}}, {"y": 1}) == {"y": 1, "x": "$y"}


@pytest.mark.parametrize(
    "update",
    [
        [{"$set": {"tier": {"$switch": {"branches": [], "default": "x"}}}}],
        [{"$set": {"a.b": 1}}],
        [{"$unset": "a"}],
        [{"$set": {"n": {"$add": ["$n", 0.5]}}}],
        [{"$set": {"n": {"$add": ["$n", 2**63]}}}],
        [{"$set": {"a": "$b.c"}}],
        [{"$set": {"a": {"k": 1}}}],
        {"$inc": {"n": 1}},
        {"$set": {"a.b": 1}},
    ],
)
def test_updated_leaves_what_it_does_not_know_to_the_server(update: Any) -> None:
    assert updated(update, {"n": 1, "b": {"c": 1}}) is None


def test_each_declared_update_is_worked_out_or_read_after() -> None:
    """Which declared updates an audited write works out itself (the rest cost a
    read): all but agents.update's $switch."""
    read_after = []
    for entity, operations in load_mongodb_operations().items():
        for name, op in operations.items():
            if op.call != "find_one_and_update" or op.update is None:
                continue
            bound = op.update(dict.fromkeys(op.parameters, 1) | {"changes": {"x": 1}})
            if updated(bound, {"_id": "x", "version": 1, "trigger_count": 0}) is None:
                read_after.append(f"{entity}.{name}")
    assert read_after == ["agents.update"]
