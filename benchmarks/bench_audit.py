"""What the audit trail costs a write on MongoDB, the figure behind the README's
audit section:

    python benchmarks/bench_audit.py --database mongodb://127.0.0.1:27017/db

``store.vaults.update_vault_metrics`` of one vault, ``--calls`` calls per round
(2,000 by default), on a store that audits (the write in a transaction of its
own: the document read, written and its record appended) and on the same store
``scoped(audit=False)`` (one ``find_one_and_update``), in interleaved rounds so
that the server's warm-up and noise fall on both alike. Prints each round's
seconds, the best and median of each, and the ratio of the medians. The database
must be migrated (``vaultstore migrate``); the run adds an agent and a vault, and
their audit records.
"""

from __future__ import annotations

import argparse
import statistics
import time
from decimal import Decimal

import vaultstore
from vaultstore import ChainId, LiquidationProtection, TokenAmount
from vaultstore._sync.contracts import Store


def timed(store: Store, id: str, calls: int) -> float:
    start = time.perf_counter()
    for i in range(calls):
        store.vaults.update_vault_metrics(
            id, ltv=Decimal(40) + Decimal(i % 100) / 10, health_factor=Decimal("1.5")
        )
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with vaultstore.connect(args.database) as store:
        agent = store.agents.create(name=f"bench_audit_{time.time_ns()}", credibility_score=700)
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
        stores = {"audit": store.scoped(actor="bench"), "no audit": store.scoped(audit=False)}
        timed(stores["audit"], vault.id, 100)  # warm-up
        timed(stores["no audit"], vault.id, 100)
        seconds: dict[str, list[float]] = {name: [] for name in stores}
        for round in range(1, args.rounds + 1):
            order = list(stores) if round % 2 else list(reversed(stores))
            for name in order:
                seconds[name].append(timed(stores[name], vault.id, args.calls))
            print(
                f"round {round}: "
                + ", ".join(f"{name} {seconds[name][-1]:.2f} s" for name in stores)
            )
    for name, values in seconds.items():
        per_call = statistics.median(values) / args.calls * 1e3
        print(
            f"{name:>8}: best {min(values):.2f} s, median {statistics.median(values):.2f} s "
            f"({per_call:.2f} ms a call)"
        )
    ratio = statistics.median(seconds["audit"]) / statistics.median(seconds["no audit"])
    print(f"audit / no audit (medians): {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
