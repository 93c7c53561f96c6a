-- Liquidation events: what was seized and repaid when a vault was liquidated.
-- Time ranges are half-open, [since, until), keyset-paginated on
-- (occurred_at, id): the first page passes :after_at = since and :after_id = ''.

-- name: insert(id, vault_id, chain_id, collateral_seized_token, collateral_seized_amount, collateral_seized_value_usd, debt_repaid_token, debt_repaid_amount, debt_repaid_value_usd, penalty_usd, ltv, health_factor, liquidator, tx_hash, occurred_at, created_at, updated_at)<!
-- Store a liquidation. A repeated (chain_id, tx_hash, vault_id) fails on
-- liquidation_events_tx_hash_key; an unknown vault on liquidation_events_vault_id_fkey.
INSERT INTO liquidation_events (
    id, vault_id, chain_id,
    collateral_seized_token, collateral_seized_amount, collateral_seized_value_usd,
    debt_repaid_token, debt_repaid_amount, debt_repaid_value_usd,
    penalty_usd, ltv, health_factor, liquidator, tx_hash,
    occurred_at, created_at, updated_at
) VALUES (
    :id, :vault_id, :chain_id,
    :collateral_seized_token, :collateral_seized_amount, :collateral_seized_value_usd,
    :debt_repaid_token, :debt_repaid_amount, :debt_repaid_value_usd,
    :penalty_usd, :ltv, :health_factor, :liquidator, :tx_hash,
    :occurred_at, :created_at, :updated_at
)
RETURNING *;

-- name: find_by_id(id)^
-- One liquidation by id, or no row.
SELECT * FROM liquidation_events
WHERE id = :id;

-- name: list_after(after, limit)
-- All liquidations in creation order, one page after the id :after.
SELECT * FROM liquidation_events
WHERE id > :after
ORDER BY id
LIMIT :limit;

-- name: find_by_vault(vault_id, after_at, after_id, until, limit)
-- A vault's liquidations over a time range, oldest first
-- (index liquidation_events_vault_id_occurred_at_id_idx).
SELECT * FROM liquidation_events
WHERE
    vault_id = :vault_id
    AND (occurred_at, id) > (:after_at, :after_id)
    AND occurred_at < :until
ORDER BY occurred_at, id
LIMIT :limit;

-- name: find_between(after_at, after_id, until, limit)
-- Every liquidation over a time range, oldest first
-- (index liquidation_events_occurred_at_id_idx).
SELECT * FROM liquidation_events
WHERE (occurred_at, id) > (:after_at, :after_id) AND occurred_at < :until
ORDER BY occurred_at, id
LIMIT :limit;

-- name: lock_by_id(id)^
-- One liquidation, locked until the end of the transaction (read before an update).
SELECT * FROM liquidation_events
WHERE id = :id
FOR UPDATE;

-- name: update(id, collateral_seized_token, collateral_seized_amount, collateral_seized_value_usd, debt_repaid_token, debt_repaid_amount, debt_repaid_value_usd, penalty_usd, ltv, health_factor, liquidator)<!
-- Correct a recorded liquidation; updated_at is set by trigger.
UPDATE liquidation_events
SET
    collateral_seized_token = :collateral_seized_token,
    collateral_seized_amount = :collateral_seized_amount,
    collateral_seized_value_usd = :collateral_seized_value_usd,
    debt_repaid_token = :debt_repaid_token,
    debt_repaid_amount = :debt_repaid_amount,
    debt_repaid_value_usd = :debt_repaid_value_usd,
    penalty_usd = :penalty_usd,
    ltv = :ltv,
    health_factor = :health_factor,
    liquidator = :liquidator
WHERE id = :id
RETURNING *;

-- name: delete(id)!
-- Delete one liquidation record.
DELETE FROM liquidation_events
WHERE id = :id;
