"""How vaultstore's data spreads over a distributed engine, declared once: for
Citus, each table distributed (by which column, co-located with which table), a
reference table (small, a copy on every node) or local to the coordinator; for a
sharded MongoDB cluster, each collection's shard key. docs/scaling.md explains the
choices. An entity table's distribution column and ranged shard key are the fields
its registry entry locates a row by (``EntityType.located_by``), which ``lock()``
pins too: one declaration for the design and the runtime.

From this design come:

* :func:`postgres_problems` / :func:`mongodb_problems`: what breaks the engines'
  rules, read off a migrated database's catalog and off the MongoDB schema steps
  (``vaultstore check`` runs both);
* :func:`sql_routing` / :func:`mongodb_routing`: whether a statement goes to one
  shard or fans out (``vaultstore queries``);
* :func:`citus_calls` / :func:`mongodb_calls`: the calls that distribute a
  migrated database (``vaultstore distribution [--mongodb]``).

The rules (Citus's documentation; MongoDB's "Shard Key Indexes"):

* every PRIMARY KEY, UNIQUE and EXCLUDE constraint, and every unique index, of a
  distributed table includes its distribution column;
* a foreign key runs between co-located tables, pairing their distribution
  columns, or to a reference table; a reference table refers only to reference
  tables; local tables and distributed ones do not refer to each other;
* a partitioned table can only be hash-distributed (Citus refuses to make it a
  reference table: citusdata/citus#4177);
* a distribution column is NOT NULL, and co-located tables' columns share a type;
* a trigger on a distributed or reference table runs on each shard: its
  function may touch only the row it fires for (``citus.enable_unsafe_triggers``);
* a sharded collection's unique indexes start with the shard key.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import attrs

from .._registry import REGISTRY
from .._resources import SchemaStep, schema_steps, validators_after

if TYPE_CHECKING:
    from .._settings import Settings
    from .catalog import Statement

Kind = Literal["distributed", "reference", "local"]
Routing = Literal["one shard", "by row", "fans out", "reference", "local"]
MongoRouting = Literal["one shard", "by row", "fans out", "unsharded"]


@attrs.frozen
class Placement:
    """Where one table lives on a Citus cluster."""

    table: str
    kind: Kind
    column: str | None = None
    """The distribution column of a distributed table."""
    colocate_with: str | None = None
    """The table whose shards this one's sit beside (same hash ranges); None
    starts a co-location group of its own."""
    why: str = ""


@attrs.frozen
class ShardKey:
    """How one collection is sharded on MongoDB; ``key`` None: not sharded (it
    lives on the database's primary shard)."""

    collection: str
    key: Mapping[str, int | str] | None
    why: str = ""

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.key or ())

    @property
    def hashed(self) -> bool:
        return any(value == "hashed" for value in (self.key or {}).values())


@attrs.frozen
class TriggerFunction:
    """A trigger function and whether it touches only the row it fires for (safe
    on the shards of a distributed table)."""

    name: str
    row_local: bool
    why: str = ""
    citus_gap: str = ""
    """For a function that is not row-local but that vaultstore keeps on one
    server: what distributing the schema must first do about it. ``vaultstore
    distribution`` lists it before its calls, and ``vaultstore check`` does not
    report it (the choice is made and written down, in docs/scaling.md)."""


def _column(table: str) -> str:
    """The distribution column of an entity's table: the first field its registry
    entry locates a row by (``EntityType.located_by``, which ``lock()`` reads too),
    else its id."""
    located_by = REGISTRY.by_table(table).located_by
    return located_by[0] if located_by else "id"


def _ranged_key(collection: str) -> dict[str, int | str]:
    """The ranged MongoDB shard key of an entity's collection: the fields its
    registry entry locates a document by, in order."""
    return dict.fromkeys(REGISTRY.by_table(collection).located_by, 1)


CITUS: tuple[Placement, ...] = (
    Placement(
        "agents",
        "reference",
        why="small and read with every vault (the foreign key credit_vaults_agent_id_fkey); "
        "a reference table keeps UNIQUE (name) checked cluster-wide",
    ),
    Placement(
        "credit_vaults",
        "distributed",
        _column("credit_vaults"),
        why="the unit of work: a vault and everything raised on it sit on one shard",
    ),
    Placement(
        "risk_alerts",
        "distributed",
        _column("risk_alerts"),
        "credit_vaults",
        why="read per vault (find_by_vault, find_open_by_vault); deleted with its vault",
    ),
    Placement(
        "liquidation_events",
        "distributed",
        _column("liquidation_events"),
        "credit_vaults",
        why="read per vault over time (find_by_vault)",
    ),
    Placement(
        "protection_rules",
        "distributed",
        _column("protection_rules"),
        "credit_vaults",
        why="read per vault (find_enabled_for_vault); UNIQUE (vault_id, name)",
    ),
    Placement(
        "market_data",
        "distributed",
        _column("market_data"),
        why="the largest table and partitioned by month, so it cannot be a reference table; "
        "latest_price and history filter on token (and chain_id)",
    ),
    Placement(
        "documents",
        "distributed",
        "id",
        why="large content, read by document id; its owner is a vault or an agent, so no "
        "owner column can co-locate it",
    ),
    Placement(
        "document_chunks",
        "distributed",
        "document_id",
        "documents",
        why="a document's chunks sit with its row (document_chunks_document_id_fkey)",
    ),
    Placement(
        "audit_log",
        "distributed",
        "tenant_id",
        why="append-only and read per tenant (store.audit.history, by_actor); a "
        "co-location group of its own",
    ),
    Placement(
        "change_feed",
        "distributed",
        "tenant_id",
        why="append-only, read by position per tenant (store.watch); a co-location group "
        "of its own, like audit_log",
    ),
    Placement(
        "change_feed_pruned",
        "reference",
        why="one row: how far the change feed was pruned",
    ),
    Placement(
        "vaultstore_migration_checksums",
        "local",
        why="bookkeeping of the migrations, read by vaultstore check on the coordinator",
    ),
    Placement("_yoyo_migration", "local", why="yoyo's bookkeeping, on the coordinator"),
    Placement("_yoyo_log", "local", why="yoyo's bookkeeping"),
    Placement("_yoyo_version", "local", why="yoyo's bookkeeping"),
    Placement("yoyo_lock", "local", why="yoyo's lock"),
)
"""The Citus design, in the order the calls must run: reference tables, then each
co-location group's first table before the tables co-located with it."""

TRIGGER_FUNCTIONS: tuple[TriggerFunction, ...] = (
    TriggerFunction(
        "vaultstore_touch_updated_at", row_local=True, why="sets NEW.updated_at, nothing else"
    ),
    TriggerFunction(
        "vaultstore_delete_owned_documents",
        row_local=False,
        why="deleted a vault's or agent's documents from documents, another distributed "
        "table (migration 0011); migration 0014 drops it: the owner's delete() deletes "
        "them in its transaction (queries/documents.sql delete_by_owner)",
    ),
    TriggerFunction(
        "vaultstore_audit",
        row_local=False,
        why="appends a row to audit_log, another table, in the transaction of each write "
        "(migration 0016)",
        citus_gap="the audit triggers (vaultstore_audit) append to audit_log from the "
        "shard a row is written on, which Citus refuses: before distributing, the audit "
        "trail must be written another way (docs/scaling.md, 'The audit trail')",
    ),
    TriggerFunction(
        "vaultstore_change_feed",
        row_local=False,
        why="appends a row to change_feed, another table, in the transaction of each "
        "write, and notifies its listeners (migration 0017)",
        citus_gap="the change feed triggers (vaultstore_change_feed) append to change_feed "
        "from the shard a row is written on, which Citus refuses, and its positions "
        "come from one sequence: before distributing, the feed must be read another "
        "way (logical decoding, or one outbox per shard)",
    ),
)
"""Every function a trigger runs or ran; a trigger running an unlisted one is
reported, so that each new trigger is judged for the shards, and so is one whose
function touches other rows (Citus refuses it on a distributed or reference
table)."""

MONGODB: tuple[ShardKey, ...] = (
    ShardKey("agents", None, why="small: unsharded, so agents_name_key stays unique"),
    ShardKey(
        "credit_vaults",
        {"_id": "hashed"},
        why="ids are time-ordered ULIDs: hashed, or every new vault lands on the last chunk",
    ),
    ShardKey(
        "risk_alerts",
        _ranged_key("risk_alerts"),
        why="read per vault; ranged, like the other vault children, so a unique index may "
        "start with vault_id",
    ),
    ShardKey(
        "liquidation_events",
        _ranged_key("liquidation_events"),
        why="read per vault; liquidation_events_vault_id_tx_hash_key starts with vault_id",
    ),
    ShardKey(
        "protection_rules",
        _ranged_key("protection_rules"),
        why="read per vault; protection_rules_name_key starts with vault_id",
    ),
    ShardKey(
        "market_data",
        _ranged_key("market_data"),
        why="latest_price and history pin token and chain_id; recorded_at lets one "
        "token's prices split into chunks by time",
    ),
    ShardKey("documents.files", None, why="one small document per stored file"),
    ShardKey(
        "documents.chunks",
        {"files_id": 1, "n": 1},
        why="the key MongoDB advises for GridFS chunks; files_id_1_n_1 is unique on it",
    ),
    ShardKey("vaultstore_migrations", None, why="the schema steps' record"),
    ShardKey(
        "audit_log",
        {"tenant_id": 1},
        why="append-only and read per tenant (history, by_actor: both indexes start "
        "with tenant_id)",
    ),
)
"""The MongoDB design."""

DESIGN_FILE = "vaultstore/admin/distribution.py"


def placement(table: str, design: Sequence[Placement] = CITUS) -> Placement | None:
    return next((p for p in design if p.table == table), None)


def shard_key(collection: str, design: Sequence[ShardKey] = MONGODB) -> ShardKey | None:
    return next((k for k in design if k.collection == collection), None)


def _group(table: Placement, design: Sequence[Placement]) -> str:
    """The first table of ``table``'s co-location group."""
    seen = {table.table}
    while table.colocate_with is not None:
        parent = placement(table.colocate_with, design)
        if parent is None or parent.table in seen:
            return table.colocate_with
        seen.add(parent.table)
        table = parent
    return table.table


# -- the rules, on a database's catalog --------------------------------------------


@attrs.frozen
class SchemaFacts:
    """What the distribution check reads off a migrated database (the rows of
    ``vaultstore/admin/sql/distribution.sql``)."""

    tables: Mapping[str, str]
    """table -> relkind ('r', 'p')"""
    columns: Mapping[tuple[str, str], tuple[str, bool]]
    """(table, column) -> (type, not null)"""
    unique_keys: Sequence[Mapping[str, Any]]
    foreign_keys: Sequence[Mapping[str, Any]]
    triggers: Sequence[Mapping[str, Any]]


def _problem(table: str, message: str) -> str:
    return f"{DESIGN_FILE} {table}: {message}"


def _table_problems(facts: SchemaFacts, design: Sequence[Placement]) -> list[str]:
    problems: list[str] = []
    declared = {p.table for p in design}
    problems.extend(
        _problem(t, "not in the distribution design: declare it distributed, reference or local")
        for t in sorted(set(facts.tables) - declared)
    )
    for table in design:
        if table.table not in facts.tables:
            continue
        if facts.tables[table.table] == "p" and table.kind != "distributed":
            problems.append(
                _problem(
                    table.table,
                    f"is partitioned and declared {table.kind}: Citus distributes a "
                    "partitioned table only by hash (create_distributed_table)",
                )
            )
        if table.kind != "distributed":
            continue
        column = facts.columns.get((table.table, table.column or ""))
        if column is None:
            problems.append(
                _problem(table.table, f"has no column {table.column} to be distributed by")
            )
            continue
        if not column[1]:
            problems.append(
                _problem(
                    table.table,
                    f"distribution column {table.column} may be null: Citus refuses "
                    "rows without one",
                )
            )
        if table.colocate_with is not None:
            other = placement(table.colocate_with, design)
            other_column = (
                facts.columns.get((other.table, other.column or ""))
                if other is not None and other.kind == "distributed"
                else None
            )
            if other_column is None:
                problems.append(
                    _problem(
                        table.table,
                        f"co-located with {table.colocate_with}, which is not a distributed table",
                    )
                )
            elif other_column[0] != column[0]:
                problems.append(
                    _problem(
                        table.table,
                        f"co-located with {table.colocate_with}, but {table.column} is "
                        f"{column[0]} and {other.column if other else '?'} is "
                        f"{other_column[0]}",
                    )
                )
    return problems


def _key_problems(facts: SchemaFacts, design: Sequence[Placement]) -> list[str]:
    problems = []
    for key in facts.unique_keys:
        table = placement(key["table_name"], design)
        if table is None or table.kind != "distributed":
            continue
        columns = list(key["key_columns"])
        if table.column not in columns:
            problems.append(
                _problem(
                    table.table,
                    f"{key['key_kind']} {key['key_name']} ({', '.join(map(str, columns))}) "
                    f"does not include the distribution column {table.column}: Citus "
                    "checks uniqueness on each shard only",
                )
            )
    return problems


def _foreign_key_problems(facts: SchemaFacts, design: Sequence[Placement]) -> list[str]:
    problems = []
    for key in facts.foreign_keys:
        source = placement(key["table_name"], design)
        target = placement(key["referenced_table"], design)
        if source is None or target is None:
            continue  # reported as undeclared tables
        name = f"FOREIGN KEY {key['key_name']} -> {target.table}"
        if source.kind == "local" or target.kind == "local":
            if source.kind != target.kind:
                problems.append(
                    _problem(
                        source.table,
                        f"{name} joins a {source.kind} table to a {target.kind} one: "
                        "Citus keeps foreign keys within one kind",
                    )
                )
            continue
        if target.kind == "reference":
            continue  # to a reference table: a copy sits beside every shard
        if source.kind == "reference":
            problems.append(
                _problem(
                    source.table,
                    f"{name}: a reference table may refer only to reference tables",
                )
            )
            continue
        pairs = list(zip(key["key_columns"], key["referenced_columns"], strict=True))
        if _group(source, design) != _group(target, design):
            problems.append(
                _problem(
                    source.table,
                    f"{name}: the tables are not co-located (a foreign key between "
                    "distributed tables must stay within one shard)",
                )
            )
        elif (source.column, target.column) not in pairs:
            problems.append(
                _problem(
                    source.table,
                    f"{name} does not pair the distribution columns "
                    f"{source.column} -> {target.column}",
                )
            )
    return problems


def _trigger_problems(
    facts: SchemaFacts, design: Sequence[Placement], functions: Sequence[TriggerFunction]
) -> list[str]:
    problems = []
    known = {f.name: f for f in functions}
    for trigger in facts.triggers:
        table = placement(trigger["table_name"], design)
        if table is None or table.kind == "local":
            continue
        label = f"trigger {trigger['trigger_name']} ({trigger['function_name']})"
        gap = known.get(trigger["function_name"])
        if not trigger["for_each_row"] and not (gap is not None and gap.citus_gap):
            # (A function whose gap is declared must be replaced before distributing
            # anyway; its gap says how.)
            problems.append(
                _problem(table.table, f"{label} fires per statement: Citus would fire it per shard")
            )
        elif trigger["function_name"] not in known:
            problems.append(
                _problem(
                    table.table,
                    f"{label}: its function is not in TRIGGER_FUNCTIONS; declare whether it "
                    "touches only the row it fires for (safe on shards)",
                )
            )
        elif not (function := known[trigger["function_name"]]).row_local and not (
            function.citus_gap
        ):
            problems.append(
                _problem(
                    table.table,
                    f"{label} touches other rows than its own, which Citus refuses in a "
                    f"trigger: {function.why}",
                )
            )
    return problems


def postgres_problems(
    facts: SchemaFacts,
    design: Sequence[Placement] = CITUS,
    functions: Sequence[TriggerFunction] = TRIGGER_FUNCTIONS,
) -> list[str]:
    """A line per broken Citus rule, naming the table and the constraint, index or
    trigger; [] when the schema can be distributed as designed."""
    return [
        *_table_problems(facts, design),
        *_key_problems(facts, design),
        *_foreign_key_problems(facts, design),
        *_trigger_problems(facts, design, functions),
    ]


def read_facts(settings: Settings) -> SchemaFacts:
    """The catalog facts of the (migrated) database of ``settings``."""
    from .schema import admin_connection, catalog_queries  # noqa: PLC0415 - I/O kept apart

    queries = catalog_queries("distribution")
    with admin_connection(settings) as conn:
        tables = {row["table_name"]: row["kind"] for row in queries.tables(conn)}
        columns = {
            (row["table_name"], row["column_name"]): (row["column_type"], row["not_null"])
            for row in queries.columns(conn)
        }
        unique_keys = list(queries.unique_keys(conn))
        foreign_keys = list(queries.foreign_keys(conn))
        triggers = list(queries.triggers(conn))
    return SchemaFacts(tables, columns, unique_keys, foreign_keys, triggers)


# -- the rules, on the MongoDB schema steps ----------------------------------------


def declared_indexes(steps: Iterable[SchemaStep]) -> dict[str, dict[str, Mapping[str, Any]]]:
    """Every index the steps leave, by collection and name."""
    indexes: dict[str, dict[str, Mapping[str, Any]]] = {}
    for step in steps:
        for name, spec in step.collections.items():
            indexes.setdefault(name, {}).update({i["name"]: i for i in spec.get("indexes", ())})
        for name, made in step.indexes.items():
            indexes.setdefault(name, {}).update({i["name"]: i for i in made})
        for name, dropped in step.drop_indexes.items():
            for index in dropped:
                indexes.get(name, {}).pop(index["name"], None)
    return indexes


def _required(validator: Any) -> set[str]:
    """The fields a validator's ``$jsonSchema`` requires (at its top level or in an
    ``$and``)."""
    if not isinstance(validator, Mapping):
        return set()
    required = set(validator.get("$jsonSchema", {}).get("required", ()))
    for clause in validator.get("$and", ()):
        required |= _required(clause)
    return required


def mongodb_problems(
    steps: Sequence[SchemaStep], design: Sequence[ShardKey] = MONGODB
) -> list[str]:
    """A line per broken sharding rule in the schema steps, naming the collection
    and the index: a unique index of a sharded collection that does not start with
    the shard key, a ranged shard key without an index starting with it, a shard key
    field the collection's validator does not require, a collection not in the
    design."""
    indexes = declared_indexes(steps)
    validators = validators_after(steps)
    declared = {k.collection for k in design}
    problems = [
        _problem(name, "not in the MongoDB design: declare its shard key, or None")
        for name in sorted(set(indexes) - declared)
    ]
    for key in design:
        if key.key is None or key.collection not in indexes:
            continue  # unsharded, or not made by these steps (an earlier schema's)
        fields = key.fields
        collection = indexes[key.collection]
        for index in collection.values():
            leading = tuple(index["keys"])[: len(fields)]
            if index.get("unique") and leading != fields:
                problems.append(
                    _problem(
                        key.collection,
                        f"unique index {index['name']} ({', '.join(index['keys'])}) does not "
                        f"start with the shard key ({', '.join(fields)})",
                    )
                )
        if not key.hashed and fields != ("_id",):
            supported = any(tuple(i["keys"])[: len(fields)] == fields for i in collection.values())
            if not supported:
                problems.append(
                    _problem(
                        key.collection,
                        f"no index starts with the shard key ({', '.join(fields)})",
                    )
                )
        if key.collection in validators:
            missing = set(fields) - {"_id"} - _required(validators[key.collection])
            problems.extend(
                _problem(
                    key.collection,
                    f"shard key field {field} is not required by the collection's validator",
                )
                for field in sorted(missing)
            )
    return problems


def mongodb_step_problems(folder: Path | None = None) -> list[str]:
    """:func:`mongodb_problems` of the steps in ``folder`` (``migrations/mongodb``)."""
    return mongodb_problems(schema_steps(folder))


# -- routing: one shard, or every shard ---------------------------------------------

_COMMENT = re.compile(r"--[^\n]*")
_TABLE = re.compile(r"\b(?:from|into|update|join|copy)\s+([a-z_][a-z0-9_]*)\b(?!\()", re.IGNORECASE)
_WHERE_END = re.compile(
    r"\b(?:order\s+by|group\s+by|limit|returning|for\s+(?:no\s+key\s+)?update|"
    r"for\s+(?:key\s+)?share)\b|;",
    re.IGNORECASE,
)
_LOCKS = re.compile(r"\bfor\s+(?:no\s+key\s+)?update\b|\bfor\s+(?:key\s+)?share\b", re.IGNORECASE)


def _top_level(text: str, separator: re.Pattern[str]) -> list[str]:
    """``text`` split at the matches of ``separator`` outside parentheses."""
    parts, depth, start = [], 0, 0
    i = 0
    while i < len(text):
        char = text[i]
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif depth == 0 and (match := separator.match(text, i)):
            parts.append(text[start:i])
            start = i = match.end()
            continue
        i += 1
    parts.append(text[start:])
    return [part.strip() for part in parts]


def _where(sql: str) -> str | None:
    """The top-level WHERE clause of ``sql``, or None."""
    parts = _top_level(sql, re.compile(r"\bwhere\b", re.IGNORECASE))
    if len(parts) < 2:
        return None
    return _WHERE_END.split(parts[1], maxsplit=1)[0]


def _pins(where: str | None, column: str) -> bool:
    """Whether a top-level conjunct of ``where`` is ``column = :param``."""
    if where is None:
        return False
    pinned = re.compile(rf"^\(*\s*(?:\w+\.)?{column}\s*=\s*:\w+\s*\)*$", re.IGNORECASE)
    conjuncts = _top_level(where, re.compile(r"\band\b", re.IGNORECASE))
    if len(_top_level(where, re.compile(r"\bor\b", re.IGNORECASE))) > 1:
        return False
    return any(pinned.match(conjunct) for conjunct in conjuncts)


def _inserts(sql: str, column: str) -> bool:
    """Whether an INSERT ... VALUES gives ``column`` a parameter."""
    match = re.search(
        r"\binsert\s+into\s+\w+\s*\(([^)]*)\)\s*values\s*\(([^)]*)\)", sql, re.IGNORECASE
    )
    if match is None:
        return False
    columns = [c.strip() for c in match.group(1).split(",")]
    values = [v.strip() for v in match.group(2).split(",")]
    return column in columns and values[columns.index(column)].startswith(":")


def tables_of(sql: str, design: Sequence[Placement] = CITUS) -> list[Placement]:
    """The tables of the design that ``sql`` names, in order of first mention."""
    names = dict.fromkeys(m.group(1).lower() for m in _TABLE.finditer(_COMMENT.sub("", sql)))
    return [p for name in names if (p := placement(name, design)) is not None]


def sql_routing(sql: str, design: Sequence[Placement] = CITUS) -> Routing:
    """Where a statement runs on Citus: ``one shard`` (it pins the distribution
    column of every distributed table it reads to a parameter, or inserts one row),
    ``by row`` (COPY: each row to its shard), ``fans out`` (every shard),
    ``reference`` (reference tables only: any node's copy, or every copy for a
    write), ``local`` (the coordinator's own tables, or none)."""
    sql = _COMMENT.sub("", sql)
    tables = tables_of(sql, design)
    distributed = [t for t in tables if t.kind == "distributed"]
    if distributed:
        if re.match(r"\s*copy\b", sql, re.IGNORECASE):
            return "by row"
        if re.match(r"\s*insert\b", sql, re.IGNORECASE):
            return "one shard" if _inserts(sql, distributed[0].column or "") else "fans out"
        where = _where(sql)
        return "one shard" if all(_pins(where, t.column or "") for t in distributed) else "fans out"
    if any(t.kind == "reference" for t in tables):
        return "reference"
    return "local"


def sql_routing_note(sql: str, design: Sequence[Placement] = CITUS) -> str | None:
    """What Citus would refuse in a statement as written, or None: a row lock
    (``FOR UPDATE``, ``FOR KEY SHARE``) that fans out."""
    if _LOCKS.search(_COMMENT.sub("", sql)) and sql_routing(sql, design) == "fans out":
        return (
            "Citus takes row locks (FOR UPDATE/SHARE) in single-shard statements only: "
            "this one needs the distribution column"
        )
    return None


_FILTER_CALLS = ("find_one", "find", "find_one_and_update", "delete_one")


def _mongodb_filter(call: str, template: Any) -> Mapping[str, Any] | None:
    if call in _FILTER_CALLS and isinstance(template, Mapping):
        return template
    if call == "aggregate" and isinstance(template, list) and template:
        first = template[0]
        match = first.get("$match") if isinstance(first, Mapping) else None
        if isinstance(match, Mapping):
            return match
    return None


def mongodb_routing(
    collection: str, call: str, template: Any, design: Sequence[ShardKey] = MONGODB
) -> MongoRouting:
    """Where a declared MongoDB operation runs on a sharded cluster: ``one shard``
    (its filter pins the shard key's first field to a parameter: a hashed key's
    value, or a ranged key's prefix), ``by row`` (an insert_many or a bulk_update:
    each document to its shard, when keyed by the shard key), ``fans out``, or
    ``unsharded``."""
    key = shard_key(collection, design)
    if key is None or key.key is None:
        return "unsharded"
    first = key.fields[0]
    if call == "insert_one":
        return "one shard"
    if call == "insert_many":
        return "by row"
    if call == "bulk_update":
        return "by row" if _pinned(template, first) else "fans out"
    return "one shard" if _pinned(_mongodb_filter(call, template), first) else "fans out"


def _pinned(document: Any, field: str) -> bool:
    if not isinstance(document, Mapping):
        return False
    value = document.get(field)
    return isinstance(value, str) and value.startswith(":")


def statement_mongodb_routing(statement: Statement) -> MongoRouting | None:
    """Where an entity's statement's MongoDB twin runs (None without a twin): on
    the collection named as its table."""
    twin = statement.mongodb
    tables = tables_of(statement.sql)
    if twin is None or not tables:
        return None
    return mongodb_routing(tables[0].table, twin.call, twin.declared)


# -- the calls that distribute a database -------------------------------------------


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def citus_calls(design: Sequence[Placement] = CITUS) -> list[str]:
    """The SQL, run once on the Citus coordinator of a migrated database, that
    distributes it as designed: reference tables first, then each co-location
    group's first table before the tables co-located with it."""
    lines = []
    for table in design:
        if table.kind == "reference":
            lines.append(f"SELECT create_reference_table({_literal(table.table)});")
        elif table.kind == "distributed":
            colocate = table.colocate_with or "none"
            lines.append(
                f"SELECT create_distributed_table({_literal(table.table)}, "
                f"{_literal(table.column or '')}, colocate_with => {_literal(colocate)});"
            )
    return lines


def _js(value: Mapping[str, int | str]) -> str:
    return (
        "{ "
        + ", ".join(f"{k}: {v!r}" if isinstance(v, str) else f"{k}: {v}" for k, v in value.items())
        + " }"
    )


def mongodb_calls(database: str, design: Sequence[ShardKey] = MONGODB) -> list[str]:
    """The mongosh calls that shard a migrated database as designed (a hashed key's
    index is made first: the steps make the ranged keys' indexes)."""
    lines = [f"sh.enableSharding({database!r})"]
    for key in design:
        if key.key is None:
            continue
        if key.hashed:
            lines.append(
                f"db.getSiblingDB({database!r})[{key.collection!r}].createIndex({_js(key.key)})"
            )
        lines.append(f"sh.shardCollection({f'{database}.{key.collection}'!r}, {_js(key.key)})")
    return lines


def citus_script(
    design: Sequence[Placement] = CITUS,
    functions: Sequence[TriggerFunction] = TRIGGER_FUNCTIONS,
) -> str:
    """:func:`citus_calls` with what to check first and the setting the triggers
    need, as comments."""
    lines = [
        "-- Distribute a migrated vaultstore database on a Citus coordinator",
        "-- (vaultstore distribution; docs/scaling.md), once vaultstore check reports",
        "-- nothing against it. Local tables stay on the coordinator:",
        *(f"--   {p.table}" for p in design if p.kind == "local"),
        *(f"-- BEFORE DISTRIBUTING: {f.citus_gap}." for f in functions if f.citus_gap),
        "-- Triggers run on each shard; their functions touch only their row:",
        "SET citus.enable_unsafe_triggers TO on;",
        *citus_calls(design),
    ]
    return "\n".join(lines) + "\n"


def mongodb_script(database: str, design: Sequence[ShardKey] = MONGODB) -> str:
    """:func:`mongodb_calls` for mongosh, with the unsharded collections named."""
    unsharded = ", ".join(k.collection for k in design if k.key is None)
    lines = [
        f"// Shard a migrated vaultstore database ({database}) from mongosh",
        "// (vaultstore distribution --mongodb; docs/scaling.md).",
        f"// Unsharded, on the database's primary shard: {unsharded}.",
        *mongodb_calls(database, design),
    ]
    return "\n".join(lines) + "\n"


def distribution_check(settings: Settings, migrations: Path) -> list[str]:
    """Both designs judged: the Citus rules on the migrated database of
    ``settings``, the sharding rules on the MongoDB steps of ``migrations``."""
    return [
        *postgres_problems(read_facts(settings)),
        *mongodb_step_problems(migrations / "mongodb"),
    ]
