"""Sample data for a demo or a development database: one agent in each credibility
tier, a realistic vault for each, alerts and prices. Never loaded by a migration;
``vaultstore seed`` loads it on request, and loading it twice changes nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from .. import Repositories
from .._entities import (
    AlertSeverity,
    AlertType,
    ChainId,
    LiquidationProtection,
    TokenAmount,
    VaultStatus,
)
from .._values import utc_now

# name, score, chain, collateral (token, amount, usd), debt (token, amount, usd), ltv, hf, max ltv
_AGENTS = [
    (
        "sample_agent_excellent",
        910,
        ChainId.ETHEREUM,
        ("ETH", "25", "50000"),
        ("USDC", "15000", "15000"),
        "30",
        "2.75",
        "75",
    ),
    (
        "sample_agent_good",
        720,
        ChainId.ARBITRUM,
        ("ETH", "10", "20000"),
        ("USDC", "11000", "11000"),
        "55",
        "1.5",
        "70",
    ),
    (
        "sample_agent_fair",
        480,
        ChainId.BASE,
        ("WBTC", "0.5", "30000"),
        ("USDC", "24600", "24600"),
        "82",
        "1.04",
        "85",
    ),
    (
        "sample_agent_poor",
        250,
        ChainId.POLYGON,
        ("MATIC", "40000", "18000"),
        ("USDT", "16200", "16200"),
        "90",
        "0.94",
        "80",
    ),
]


def load_sample_data(store: Repositories) -> int:
    """Add the sample agents and their vaults unless they are there; return how many
    agents were added. Runs in one transaction."""
    added = 0
    with store.transaction() as tx:
        for name, score, chain, coll, debt, ltv, hf, max_ltv in _AGENTS:
            if tx.agents.find_by_name(name) is not None:
                continue
            agent = tx.agents.create(name=name, credibility_score=score)
            vault = tx.vaults.create(
                agent_id=agent.id,
                chain_id=chain,
                collateral=TokenAmount(token=coll[0], amount=coll[1], value_usd=coll[2]),
                debt=TokenAmount(token=debt[0], amount=debt[1], value_usd=debt[2]),
                ltv=ltv,
                health_factor=hf,
                max_ltv=max_ltv,
                liquidation_protection=LiquidationProtection(
                    enabled=True, threshold=min(Decimal(max_ltv), Decimal(75)), cooldown=3600
                ),
                status=VaultStatus.AT_RISK if Decimal(ltv) >= 80 else VaultStatus.ACTIVE,
            )
            if Decimal(ltv) >= 80:
                tx.alerts.create(
                    vault_id=vault.id,
                    alert_type=AlertType.LTV_CRITICAL,
                    severity=AlertSeverity.CRITICAL if Decimal(ltv) >= 90 else AlertSeverity.HIGH,
                    message=f"LTV {ltv}% is at or above 80%",
                )
                tx.protection_rules.create(
                    vault_id=vault.id,
                    name="repay at 85% LTV",
                    conditions={"ltv_gte": 85},
                    actions=[{"type": "repay", "percent": 25}],
                )
            added += 1
        if added:
            now = utc_now()
            tx.market_data.bulk_insert(
                [
                    {
                        "token": token,
                        "chain_id": ChainId.ETHEREUM,
                        "price_usd": price,
                        "source": "sample",
                        "recorded_at": now - timedelta(minutes=minutes),
                    }
                    for token, price in (("ETH", "2000"), ("WBTC", "60000"), ("USDC", "1"))
                    for minutes in (0, 5, 10)
                ]
            )
    return added
