-- Statements of tests/test_batch_updates_at_scale.py: many vaults at once.

-- name: clone_vault(id, count)!
-- :count copies of vault :id, with ids 'clone_000001' ... (the same agent and tenant).
INSERT INTO credit_vaults (
    tenant_id, id, agent_id, chain_id, collateral_token, collateral_amount,
    collateral_value_usd, debt_token, debt_amount, debt_value_usd, ltv,
    health_factor, max_ltv, liquidation_protection_enabled,
    liquidation_protection_threshold, liquidation_protection_cooldown, status
)
SELECT
    tenant_id,
    'clone_' || lpad(cast(n AS text), 6, '0') AS id,
    agent_id,
    chain_id,
    collateral_token,
    collateral_amount,
    collateral_value_usd,
    debt_token,
    debt_amount,
    debt_value_usd,
    ltv,
    health_factor,
    max_ltv,
    liquidation_protection_enabled,
    liquidation_protection_threshold,
    liquidation_protection_cooldown,
    status
FROM credit_vaults, generate_series(1, :count) AS n
WHERE id = :id;
