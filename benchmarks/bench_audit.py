"""What the audit trail costs a write, the figures behind the README's "Audit trail":

    python benchmarks/bench_audit.py --database postgresql://postgres@127.0.0.1:5432/db
    python benchmarks/bench_audit.py --database mongodb://127.0.0.1:27017/db

On a migrated database, one vault (made here, in the tenant ``bench-audit``) has
its metrics recorded ``--calls`` times per round by ``update_vault_metrics``, on
the same store with the audit trail on and off (``store.scoped(audit=False)``),
the two interleaved round by round; the best round of each is kept, and the
ratio is on / off. On PostgreSQL the same is measured without vaultstore: the
statement of ``vaults.update_metrics``, prepared, run by psycopg with the audit
trigger on and off (``vaultstore.audit``), which is the trigger's own cost. On
MongoDB, pymongo alone runs the declared update by itself, in a transaction with
nothing else, and as vaultstore audits it (in a transaction, returning the
document before, with a record inserted): what a transaction costs this server.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import psycopg
import pymongo
from bson import Decimal128
from pymongo import ReturnDocument

import vaultstore
from vaultstore import ChainId, LiquidationProtection, TokenAmount
from vaultstore._async.adapter import AsyncQueryAdapter
from vaultstore._audit import record_document
from vaultstore._queries import load_mongodb_operations, load_queries

TENANT = "bench-audit"


def best(call: Callable[[int], object], calls: int, rounds: list[float]) -> None:
    start = time.perf_counter()
    for i in range(calls):
        call(i)
    rounds.append((time.perf_counter() - start) / calls * 1e6)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with vaultstore.connect(args.database, tenant=TENANT, actor="bench") as store:
        agent = store.agents.create(name=f"bench-audit-{time.time_ns()}", credibility_score=700)
        vault = store.vaults.create(
            agent_id=agent.id,
            chain_id=ChainId.ETHEREUM,
            collateral=TokenAmount(token="ETH", amount=10, value_usd=20000),
            debt=TokenAmount(token="USDC", amount=10000, value_usd=10000),
            ltv=50,
            health_factor=2,
            max_ltv=70,
            liquidation_protection=LiquidationProtection(enabled=True, threshold=60),
        )
        quiet = store.scoped(audit=False)
        ltvs = [Decimal(f"50.{i:04d}") for i in range(args.calls)]
        times: dict[str, list[float]] = {}
        calls: dict[str, Callable[[int], object]] = {
            "audit on": lambda i: store.vaults.update_vault_metrics(vault.id, ltvs[i], 2),
            "audit off": lambda i: quiet.vaults.update_vault_metrics(vault.id, ltvs[i], 2),
        }
        with ExitStack() as stack:
            if store.backend == "mongodb":  # interleaved with vaultstore's, round by round
                calls.update(stack.enter_context(raw_mongo(args, vault.id, ltvs)))
            for _ in range(args.rounds):
                for name, call in calls.items():
                    best(call, args.calls, times.setdefault(name, []))
        if store.backend == "postgresql":
            raw(args, vault.id, ltvs, times)
    figures = {name: min(rounds) for name, rounds in times.items()}
    print(f"update_vault_metrics, {store.backend}, best of {args.rounds} x {args.calls} calls")
    for name, micros in figures.items():
        print(f"  {name:<24} {micros:8.1f} us")
    print(f"  vaultstore: audit on / off {figures['audit on'] / figures['audit off']:6.2f}x")
    if "raw, trigger on" in figures:
        ratio = figures["raw, trigger on"] / figures["raw, trigger off"]
        print(f"  psycopg:    trigger on / off {ratio:4.2f}x")
    if "raw, alone" in figures:
        for name in ("raw, in a transaction", "raw, as audited"):
            print(f"  pymongo:    {name[5:]} / alone {figures[name] / figures['raw, alone']:4.2f}x")
    return 0


def raw(
    args: argparse.Namespace, id: str, ltvs: list[Decimal], times: dict[str, list[float]]
) -> None:
    statement = load_queries(AsyncQueryAdapter).vaults.update_metrics.sql
    with psycopg.connect(args.database, autocommit=True) as conn:
        cur = conn.cursor()
        cur.execute(
            "SELECT set_config('vaultstore.tenant', %s, false), "
            "set_config('vaultstore.actor', 'bench', false)",
            [TENANT],
        )
        on, off = times.setdefault("raw, trigger on", []), times.setdefault("raw, trigger off", [])
        for _ in range(args.rounds):
            for setting, rounds in (("on", on), ("off", off)):
                cur.execute("SELECT set_config('vaultstore.audit', %s, false)", [setting])

                def call(i: int) -> None:
                    cur.execute(
                        statement,
                        {"id": id, "ltv": ltvs[i], "health_factor": 2, "expected_version": None},
                        prepare=True,
                    )
                    cur.fetchone()

                best(call, args.calls, rounds)


@contextmanager
def raw_mongo(
    args: argparse.Namespace, id: str, ltvs: list[Decimal]
) -> Iterator[dict[str, Callable[[int], object]]]:
    """The declared update (``vaults.update_metrics``) by pymongo alone: by itself,
    in a transaction with nothing else, and as vaultstore audits it (in a
    transaction, returning the document before, with a record inserted)."""
    declared = load_mongodb_operations()["vaults"]["update_metrics"]
    assert declared.update is not None
    client: pymongo.MongoClient[Any] = pymongo.MongoClient(args.database)
    database = client.get_default_database("vaultstore")
    vaults, audit_log = database["credit_vaults"], database["audit_log"]

    def bound(i: int) -> tuple[Any, Any]:
        params = {
            "id": id,
            "ltv": {"$literal": Decimal128(ltvs[i])},
            "health_factor": {"$literal": Decimal128("2")},
            "expected_version": None,
            "now": datetime.now(UTC),
        }
        assert declared.update is not None
        return {"tenant_id": TENANT, **declared.filter(params)}, declared.update(params)

    def alone(i: int) -> None:
        filter, update = bound(i)
        vaults.find_one_and_update(filter, update, return_document=ReturnDocument.AFTER)

    def in_transaction(i: int) -> None:
        filter, update = bound(i)
        with client.start_session() as session, session.start_transaction():
            vaults.find_one_and_update(
                filter, update, return_document=ReturnDocument.AFTER, session=session
            )

    def as_audited(i: int) -> None:
        filter, update = bound(i)
        with client.start_session() as session, session.start_transaction():
            before = vaults.find_one_and_update(
                filter, update, return_document=ReturnDocument.BEFORE, session=session
            )
            assert before is not None
            record = {"ltv": {"old": before["ltv"], "new": Decimal128(ltvs[i])}}
            audit_log.insert_one(
                record_document(
                    tenant=TENANT,
                    actor="bench",
                    operation="vaults.update_metrics",
                    entity_type="vaults",
                    change={
                        "write_kind": "update",
                        "entity_id": id,
                        "version_before": before.get("version", 1),
                        "version_after": before.get("version", 1) + 1,
                        "changes": record,
                    },
                ),
                session=session,
            )

    try:
        yield {
            "raw, alone": alone,
            "raw, in a transaction": in_transaction,
            "raw, as audited": as_audited,
        }
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main())
