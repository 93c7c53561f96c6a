"""The hot-path statements plan on indexes once the tables are large.

PostgreSQL: 100k vaults of 20k agents, 200k alerts, 50k liquidations, 100k
protection rules and 1M prices are loaded with COPY into a database of this
module's own, ANALYZEd, and each statement of ``queries/`` that a hot path runs is
EXPLAINed with realistic parameters: no node may be a sequential scan. MongoDB:
the same repositories run on a smaller load (what SecantusDB takes in seconds),
and the ``find`` each one sends is explained: an index scan, no collection scan.
"""

from __future__ import annotations

import itertools
import json
import random
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiosql
import psycopg
import pymongo
import pytest
from psycopg import sql
from psycopg.types.json import Jsonb
from pymongo import monitoring

import vaultstore
from vaultstore._entities import (
    Agent,
    CreditVault,
    LiquidationEvent,
    MarketData,
    ProtectionRule,
    RiskAlert,
)
from vaultstore._mongo import CODEC_OPTIONS, MongoConverter
from vaultstore._queries import load_mongodb_operations, load_queries
from vaultstore._scope import DEFAULT_TENANT
from vaultstore._settings import resolve_settings
from vaultstore._sync.adapter import QueryAdapter
from vaultstore._sync.mongo import MongoExecutor
from vaultstore._sync.store import VaultStore
from vaultstore.admin.partitions import create_partitions
from vaultstore.admin.schema import dump_schema

from .databases import fresh_database, triggers_off

pytestmark = pytest.mark.slow

PLANS = aiosql.from_path(Path(__file__).parent / "sql" / "plans.sql", "psycopg")
QUERIES = load_queries(QueryAdapter)
# The one statement composed here: a statement of queries/, planned instead of run.
EXPLAIN = "EXPLAIN (FORMAT JSON) "

CHAINS = (1, 10, 137, 8453, 42161)
TOKENS: tuple[str, ...] = ("ETH", "WBTC", "USDC", "USDT", "DAI", "LINK", "UNI", "AAVE", "ARB")
TOKENS += tuple(f"TK{i}" for i in range(11))
AGENTS, VAULTS, ALERTS, LIQUIDATIONS = 20_000, 100_000, 200_000, 50_000
MINUTES = 10_000  # prices: 20 tokens x 5 chains x 10,000 minutes = 1,000,000 rows
START = datetime(2026, 1, 1, tzinfo=UTC)
SEVERITIES = ("low", "medium", "high", "critical")
ALERT_TYPES = ("ltv_warning", "ltv_critical", "health_factor_low", "price_drop")


def vault_id(i: int) -> str:
    return f"V{i:07d}"


def agent_id(i: int) -> str:
    return f"A{i:07d}"


def chunks(lines: Iterator[str], size: int = 20_000) -> Iterator[str]:
    """COPY text in chunks of ``size`` lines: fewer, larger writes."""
    while chunk := "".join(itertools.islice(lines, size)):
        yield chunk


def copy(conn: psycopg.Connection[Any], statement: Any, lines: Iterator[str]) -> None:
    with conn.cursor() as cur, cur.copy(statement.sql) as target:
        for chunk in chunks(lines):
            target.write(chunk)


def copy_on(url: str, statement: Any, lines: Iterator[str]) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        PLANS.act_for_tenant(conn, tenant=DEFAULT_TENANT)
        triggers_off(conn)
        copy(conn, statement, lines)


def audit_lines() -> Iterator[str]:
    """The trail of every vault's insert, then of a quarter of them taking new
    metrics (by risk-engine), a minute apart over the year's first months."""
    for i in range(VAULTS):
        at = (START + timedelta(minutes=i)).isoformat()
        yield (
            f"{DEFAULT_TENANT}\t{at}\tloader\tvaults.insert\tinsert\tvaults\t"
            f"{vault_id(i)}\t\\N\t1\n"
        )
    for i in range(0, VAULTS, 4):
        at = (START + timedelta(minutes=VAULTS + i)).isoformat()
        yield (
            f"{DEFAULT_TENANT}\t{at}\trisk-engine\tvaults.update_metrics\tupdate\tvaults\t"
            f"{vault_id(i)}\t1\t2\n"
        )


def agent_lines() -> Iterator[str]:
    for i in range(AGENTS):
        yield f"{agent_id(i)}\tplan-agent-{i}\t{i % 1001}\n"


def vault_lines(rng: random.Random) -> Iterator[str]:
    for i in range(VAULTS):
        ltv = rng.randrange(0, 10_000)
        yield (
            f"{vault_id(i)}\t{agent_id(i % AGENTS)}\t{CHAINS[i % len(CHAINS)]}\t"
            f"ETH\t{rng.randrange(1, 10**6)}\t{rng.randrange(1, 10**7)}\t"
            f"USDC\t{rng.randrange(1, 10**7)}\t{rng.randrange(1, 10**7)}\t"
            f"{ltv // 100}.{ltv % 100:02d}\t{rng.randrange(50, 400) / 100}\t85\tt\t80\n"
        )


def alert_lines(rng: random.Random) -> Iterator[str]:
    """Two alerts per vault; about one in ten unresolved, as in a monitor that keeps up."""
    for i in range(ALERTS):
        roll = rng.random()
        status, acknowledged, resolved = "resolved", r"\N", "2026-01-02 00:00:00+00"
        if roll < 0.05:
            status, resolved = "open", r"\N"
        elif roll < 0.1:
            status, acknowledged, resolved = "acknowledged", "2026-01-02 00:00:00+00", r"\N"
        yield (
            f"L{i:07d}\t{vault_id(i % VAULTS)}\t{rng.choice(ALERT_TYPES)}\t"
            f"{rng.choice(SEVERITIES)}\tLTV above threshold\t{status}\t{acknowledged}\t{resolved}\n"
        )


def liquidation_lines(rng: random.Random) -> Iterator[str]:
    """Liquidations spread over a year, one in 20 vaults liquidated ten times."""
    for i in range(LIQUIDATIONS):
        vault = (i % (VAULTS // 20)) * 20
        at = START + timedelta(seconds=rng.randrange(365 * 86_400))
        yield (
            f"Q{i:07d}\t{vault_id(vault)}\t{CHAINS[vault % len(CHAINS)]}\t"
            f"ETH\t1.5\t3000\tUSDC\t2800\t2800\t91.5\t0.98\t0xliquidator\t0x{i:064x}\t"
            f"{at.isoformat()}\n"
        )


def rule_lines(rng: random.Random) -> Iterator[str]:
    """One rule per vault, four in five enabled, conditions on one LTV level each."""
    for i in range(VAULTS):
        conditions = json.dumps({"ltv_above": rng.randrange(50, 96), "chain": i % len(CHAINS)})
        enabled = "t" if rng.random() < 0.8 else "f"
        yield (
            f"R{i:07d}\t{vault_id(i)}\tprotect\t{conditions}\t"
            f'[{{"type": "notify"}}]\t{enabled}\t{rng.randrange(0, 1001)}\n'
        )


def market_lines() -> Iterator[str]:
    """A price a minute for every token on every chain, written minute by minute as
    a feed would; 1,000,000 lines."""
    n = 0
    for minute in range(MINUTES):
        at = (START + timedelta(minutes=minute)).isoformat()
        for t, token in enumerate(TOKENS):
            for chain in CHAINS:
                yield f"M{n:08d}\t{token}\t{chain}\t{1000 + t + minute % 97}.25\tfeed\t{at}\n"
                n += 1


@pytest.fixture(scope="module")
def loaded(postgres_url: str) -> Iterator[dict[str, Any]]:
    """A migrated database of this module's own holding the large tables, loaded as
    pg_restore would: rows first, then the indexes; yields its URL, how long the
    load took (1.5M rows and their indexes), and its schema before and after."""
    rng = random.Random(4)
    role = f"vaultstore_plans_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {}").format(sql.Identifier(role)))
    try:
        with fresh_database(postgres_url) as url:
            yield from _load(url, rng, role)
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def _load(url: str, rng: random.Random, role: str) -> Iterator[dict[str, Any]]:
    """Migrate ``url``, load it, and grant ``role`` (the application, to plan as)
    the reading of every table."""
    vaultstore.apply_migrations(url)
    create_partitions(url, [START.date()])
    schema_before = dump_schema(url)
    with psycopg.connect(url, autocommit=True) as conn:
        PLANS.more_memory_for_index_builds(conn)
        PLANS.act_for_tenant(conn, tenant=DEFAULT_TENANT)  # the rows' tenant_id
        triggers_off(conn)  # pg_restore --disable-triggers: no change-feed rows
        # Foreign keys first: they rely on the unique indexes.
        deferred = list(PLANS.deferred_foreign_keys(conn))
        deferred += list(PLANS.deferred_indexes(conn))
        for drop, _ in deferred:
            conn.execute(drop)
        start = time.perf_counter()
        # The prices on a second connection meanwhile: the server has a core free.
        with ThreadPoolExecutor(1) as other:
            prices = other.submit(copy_on, url, PLANS.copy_market_data, market_lines())
            copy(conn, PLANS.copy_agents, agent_lines())
            copy(conn, PLANS.copy_vaults, vault_lines(rng))
            copy(conn, PLANS.copy_alerts, alert_lines(rng))
            copy(conn, PLANS.copy_liquidations, liquidation_lines(rng))
            copy(conn, PLANS.copy_rules, rule_lines(rng))
            copy(conn, PLANS.copy_audit, audit_lines())
            prices.result()
        for _, create in reversed(deferred):
            conn.execute(create)
        load_seconds = time.perf_counter() - start
        PLANS.analyze(conn)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(
                sql.Identifier(role)
            )
        )
    yield {
        "url": url,
        "role": role,
        "load_seconds": load_seconds,
        "schema_before": schema_before,
        "schema_after": dump_schema(url),
    }


def seq_scans(plan: dict[str, Any]) -> list[str]:
    """The relations a plan (EXPLAIN's JSON node) reads with a sequential scan."""
    found = [plan["Relation Name"]] if plan["Node Type"] == "Seq Scan" else []
    for child in plan.get("Plans", ()):
        found += seq_scans(child)
    return found


MID = START + timedelta(days=120)
# (file, statement, parameters): the statements of the hot paths, with parameters
# as the repositories pass them (first pages: after '' or Infinity, limit + 1).
HOT_PATHS = [
    ("vaults", "find_by_id", {"id": vault_id(4321)}),
    ("vaults", "find_by_agent_id", {"agent_id": agent_id(77), "after": "", "limit": 101}),
    ("vaults", "find_by_chain_id", {"chain_id": 137, "after": "", "limit": 101}),
    (
        "vaults",
        "find_high_risk",
        {
            "threshold": Decimal(80),
            "after_ltv": Decimal("Infinity"),
            "after_id": "",
            "limit": 101,
        },
    ),
    ("alerts", "find_open_by_vault", {"vault_id": vault_id(555), "after": "", "limit": 101}),
    ("alerts", "find_open_by_severity", {"severity": "critical", "after": "", "limit": 101}),
    (
        "liquidations",
        "find_by_vault",
        {
            "vault_id": vault_id(40),
            "after_at": datetime(1970, 1, 1, tzinfo=UTC),
            "after_id": "",
            "until": datetime(9999, 12, 31, tzinfo=UTC),
            "limit": 101,
        },
    ),
    (
        "liquidations",
        "find_between",
        {"after_at": MID, "after_id": "", "until": MID + timedelta(days=1), "limit": 101},
    ),
    ("market_data", "latest_price", {"token": "ETH", "chain_id": 1}),
    (
        "market_data",
        "history",
        {
            "token": "WBTC",
            "chain_id": 8453,
            "after_at": START + timedelta(days=3),
            "after_id": "",
            "until": START + timedelta(days=3, hours=6),
            "limit": 101,
        },
    ),
    ("protection_rules", "find_enabled_for_vault", {"vault_id": vault_id(9876)}),
    (
        "audit",
        "history",
        {
            "entity_type": "vaults",
            "entity_id": vault_id(4321),
            "after_at": datetime(1970, 1, 1, tzinfo=UTC),
            "after_id": "",
            "limit": 101,
        },
    ),
    (
        "audit",
        "by_actor",
        {
            "actor": "risk-engine",
            "after_at": MID,
            "after_id": "",
            "until": MID + timedelta(days=1),
            "limit": 101,
        },
    ),
    (
        "protection_rules",
        "find_by_conditions",
        {"conditions": Jsonb({"ltv_above": 90}), "after": "", "limit": 101},
    ),
]


@pytest.mark.parametrize(
    ("file", "name", "params"), HOT_PATHS, ids=[f"{f}.{n}" for f, n, _ in HOT_PATHS]
)
def test_hot_path_statement_plans_without_a_sequential_scan(
    loaded: dict[str, Any], file: str, name: str, params: dict[str, Any]
) -> None:
    """Planned as the application plans them: an ordinary role, subject to the
    tenants' row-level security, acting for the tenant the rows belong to."""
    statement = getattr(getattr(QUERIES, file), name).sql
    with psycopg.connect(loaded["url"]) as conn:
        PLANS.act_for_tenant(conn, tenant=DEFAULT_TENANT)
        # An ordinary role, subject to row-level security (a superuser bypasses
        # it, and would be planned without the tenant's condition).
        conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(loaded["role"])))
        ((plan,),) = conn.execute(EXPLAIN + statement, params).fetchall()
        empty = {row[0] for row in PLANS.empty_partitions(conn)}
    assert [r for r in seq_scans(plan[0]["Plan"]) if r not in empty] == [], json.dumps(
        plan, indent=1
    )


@pytest.mark.parametrize(
    ("table", "rows"),
    [
        ("agents", AGENTS),
        ("credit_vaults", VAULTS),
        ("risk_alerts", ALERTS),
        ("liquidation_events", LIQUIDATIONS),
        ("protection_rules", VAULTS),
        ("market_data", MINUTES * len(TOKENS) * len(CHAINS)),
    ],
)
def test_the_planner_sees_the_loaded_rows(loaded: dict[str, Any], table: str, rows: int) -> None:
    with psycopg.connect(loaded["url"]) as conn:
        assert PLANS.row_count(conn, table_name=table) == rows


def test_a_million_prices_and_the_rest_load_in_seconds_not_minutes(
    loaded: dict[str, Any],
) -> None:
    assert loaded["load_seconds"] < 60


def test_loading_indexes_after_the_rows_leaves_the_schema_as_migrated(
    loaded: dict[str, Any],
) -> None:
    assert loaded["schema_after"] == loaded["schema_before"]


# -- MongoDB -------------------------------------------------------------------------

MONGO_AGENTS, MONGO_VAULTS, MONGO_PRICES_PER_SERIES = 1_000, 5_000, 600
MONGO_TOKENS, MONGO_CHAINS = ("ETH", "WBTC"), (1, 8453)
# What an explain may show instead of a plain index scan for an _id lookup.
INDEX_STAGES = {"IXSCAN", "EXPRESS_IXSCAN", "IDHACK", "EXPRESS_IDHACK"}


def mongo_documents(rng: random.Random) -> dict[str, list[dict[str, Any]]]:
    """Documents for each collection, built by the converter the repositories use:
    5k vaults of 1k agents, an alert and half a rule per vault, liquidations of one
    vault in eight, and 2,400 prices (2 tokens x 2 chains x 600 minutes): what
    SecantusDB stores in about ten seconds (its planner does not weigh data)."""
    converter = MongoConverter()

    def new(cls: type, fields: dict[str, Any]) -> dict[str, Any]:
        return converter.document(converter.new(cls, fields, fields.keys()))

    agents = [
        new(Agent, {"name": f"plan-agent-{i}", "credibility_score": i % 1001})
        for i in range(MONGO_AGENTS)
    ]
    vaults = []
    for i in range(MONGO_VAULTS):
        vaults.append(
            new(
                CreditVault,
                {
                    "agent_id": agents[i % MONGO_AGENTS]["_id"],
                    "chain_id": CHAINS[i % len(CHAINS)],
                    "collateral": {"token": "ETH", "amount": 10, "value_usd": 30000},
                    "debt": {"token": "USDC", "amount": 15000, "value_usd": 15000},
                    "ltv": Decimal(rng.randrange(0, 10_000)) / 100,
                    "health_factor": Decimal("1.5"),
                    "max_ltv": 85,
                    "liquidation_protection": {"enabled": True, "threshold": 80, "cooldown": 60},
                },
            )
        )
    alerts = []
    for vault in vaults:
        alert = new(
            RiskAlert,
            {
                "vault_id": vault["_id"],
                "alert_type": "ltv_warning",
                "severity": rng.choice(SEVERITIES),
                "message": "LTV above threshold",
            },
        )
        if rng.random() < 0.9:
            alert.update(status="resolved", resolved_at=alert["created_at"])
        alerts.append(alert)
    liquidations = [
        new(
            LiquidationEvent,
            {
                "vault_id": vault["_id"],
                "chain_id": vault["chain_id"],
                "collateral_seized": {"token": "ETH", "amount": 1, "value_usd": 3000},
                "debt_repaid": {"token": "USDC", "amount": 2800, "value_usd": 2800},
                "ltv": 91,
                "health_factor": Decimal("0.98"),
                "liquidator": "0xliquidator",
                "tx_hash": f"0x{i:064x}",
                "occurred_at": START + timedelta(seconds=rng.randrange(365 * 86_400)),
            },
        )
        for i, vault in enumerate(vaults[::8])
    ]
    rules = [
        new(
            ProtectionRule,
            {
                "vault_id": vault["_id"],
                "name": "protect",
                "conditions": {"ltv_above": rng.randrange(50, 96)},
                "actions": [{"type": "notify"}],
                "enabled": rng.random() < 0.8,
                "priority": rng.randrange(0, 1001),
            },
        )
        for vault in vaults[::2]
    ]
    prices = [
        new(
            MarketData,
            {
                "token": token,
                "chain_id": chain,
                "price_usd": 1000 + minute % 97,
                "source": "feed",
                "recorded_at": START + timedelta(minutes=minute),
            },
        )
        for minute in range(MONGO_PRICES_PER_SERIES)
        for token in MONGO_TOKENS
        for chain in MONGO_CHAINS
    ]
    return {
        "agents": agents,
        "credit_vaults": vaults,
        "risk_alerts": alerts,
        "liquidation_events": liquidations,
        "protection_rules": rules,
        "market_data": prices,
    }


class FindRecorder(monitoring.CommandListener):
    """The ``find`` commands a client sends, as sent."""

    def __init__(self) -> None:
        self.finds: list[dict[str, Any]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "find":
            self.finds.append(dict(event.command))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@pytest.fixture(scope="module")
def mongo_plans(
    mongo_uri: str,
) -> Iterator[tuple[VaultStore, FindRecorder, Any, dict[str, Any]]]:
    """A MongoDB database of this module's own, migrated and loaded; yields a store
    on it whose client records every ``find`` it sends, the database, and a vault
    document that has an alert, rules and liquidations."""
    uri = urlsplit(mongo_uri)._replace(path="/vaultstore_plans_test").geturl()
    vaultstore.apply_migrations(uri)
    recorder = FindRecorder()
    client: pymongo.MongoClient[Any] = pymongo.MongoClient(
        uri, event_listeners=[recorder], tz_aware=True, tzinfo=UTC
    )
    database = client.get_database("vaultstore_plans_test", codec_options=CODEC_OPTIONS)
    documents = mongo_documents(random.Random(4))
    for collection, batch in documents.items():
        # Built by vaultstore's converter; the validators would double the load time.
        database[collection].insert_many(batch, bypass_document_validation=True)
    executor = MongoExecutor(
        client,
        resolve_settings(uri, None),
        vaultstore.REGISTRY,
        load_mongodb_operations(),
        MongoConverter(),
    )
    store = VaultStore(executor)
    try:
        yield store, recorder, database, documents["credit_vaults"][0]
    finally:
        client.drop_database("vaultstore_plans_test")
        client.close()


def stages(plan: dict[str, Any]) -> list[str]:
    """Every stage of an explain's plan, outermost first."""
    found = [plan["stage"]] if "stage" in plan else []
    for key in ("inputStage", "queryPlan"):
        if key in plan:
            found += stages(plan[key])
    for child in plan.get("inputStages", ()):
        found += stages(child)
    return found


MONGO_HOT_PATHS: list[tuple[str, Callable[[VaultStore, dict[str, Any]], object]]] = [
    ("vaults.find_by_id", lambda s, v: s.vaults.find_by_id(v["_id"])),
    ("vaults.find_by_agent_id", lambda s, v: s.vaults.find_by_agent_id(v["agent_id"])),
    ("vaults.find_by_chain_id", lambda s, v: s.vaults.find_by_chain_id(137)),
    ("vaults.find_high_risk_vaults", lambda s, v: s.vaults.find_high_risk_vaults(80)),
    ("alerts.find_open_by_vault", lambda s, v: s.alerts.find_open_by_vault(v["_id"])),
    ("alerts.find_open_by_severity", lambda s, v: s.alerts.find_open_by_severity("critical")),
    ("liquidations.find_by_vault", lambda s, v: s.liquidations.find_by_vault(v["_id"])),
    (
        "liquidations.find_between",
        lambda s, v: s.liquidations.find_between(MID, MID + timedelta(days=1)),
    ),
    ("market_data.latest_price", lambda s, v: s.market_data.latest_price("ETH", 1)),
    (
        "market_data.history",
        lambda s, v: s.market_data.history(
            "WBTC", 8453, since=START + timedelta(hours=5), until=START + timedelta(hours=9)
        ),
    ),
    (
        "protection_rules.find_enabled_for_vault",
        lambda s, v: s.protection_rules.find_enabled_for_vault(v["_id"]),
    ),
    (
        "protection_rules.find_by_conditions",
        lambda s, v: s.protection_rules.find_by_conditions({"ltv_above": 90}),
    ),
]


@pytest.mark.parametrize(
    ("name", "call"), MONGO_HOT_PATHS, ids=[name for name, _ in MONGO_HOT_PATHS]
)
def test_hot_path_find_uses_an_index_on_mongodb(
    mongo_plans: tuple[VaultStore, FindRecorder, Any, dict[str, Any]],
    name: str,
    call: Callable[[VaultStore, dict[str, Any]], object],
) -> None:
    store, recorder, database, vault = mongo_plans
    recorder.finds.clear()
    call(store, vault)
    (find,) = recorder.finds
    command = {k: v for k, v in find.items() if k in {"find", "filter", "sort", "limit", "hint"}}
    explained = database.command({"explain": command, "verbosity": "queryPlanner"})
    plan = stages(explained["queryPlanner"]["winningPlan"])
    assert "COLLSCAN" not in plan, explained
    assert INDEX_STAGES & set(plan), explained
