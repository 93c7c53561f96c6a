-- Liquidation events: what was seized and repaid when a vault was liquidated.
-- Time ranges are half-open, [since, until), keyset-paginated on
-- (occurred_at, id): the first page passes :after_at = since and :after_id = ''.

-- name: insert(id, vault_id, chain_id, collateral_seized_token, collateral_seized_amount, collateral_seized_value_usd, debt_repaid_token, debt_repaid_amount, debt_repaid_value_usd, penalty_usd, ltv, health_factor, liquidator, tx_hash, occurred_at, created_at, updated_at, version)!
-- Store a liquidation. A repeated (chain_id, tx_hash, vault_id) fails on
-- liquidation_events_tx_hash_key; an unknown vault on liquidation_events_vault_id_fkey.
INSERT INTO liquidation_events (
    id, vault_id, chain_id,
    collateral_seized_token, collateral_seized_amount, collateral_seized_value_usd,
    debt_repaid_token, debt_repaid_amount, debt_repaid_value_usd,
    penalty_usd, ltv, health_factor, liquidator, tx_hash,
    occurred_at, created_at, updated_at, version
) VALUES (
    :id, :vault_id, :chain_id,
    :collateral_seized_token, :collateral_seized_amount, :collateral_seized_value_usd,
    :debt_repaid_token, :debt_repaid_amount, :debt_repaid_value_usd,
    :penalty_usd, :ltv, :health_factor, :liquidator, :tx_hash,
    :occurred_at, :created_at, :updated_at, :version
);

-- name: find_by_id(id)^
-- One liquidation by id, or no row.
SELECT * FROM liquidation_events
WHERE id = :id;

-- name: lock_by_id(id, vault_id)^
-- One row, locked against other writers until the end of the transaction
-- (store.transaction()'s repositories' lock(id)).
-- lock(id) reads the row first (find_by_id) for its vault_id, which never
-- changes: by it the lock goes to one shard on Citus (distributed by vault_id;
-- Citus takes row locks in single-shard statements only), a probe of
-- liquidation_events_pkey (id, vault_id). No row: it was deleted since it was read.
SELECT * FROM liquidation_events
WHERE
    id = :id
    AND vault_id = :vault_id
FOR UPDATE;

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

-- name: update(id, changed, collateral_seized_token, collateral_seized_amount, collateral_seized_value_usd, debt_repaid_token, debt_repaid_amount, debt_repaid_value_usd, penalty_usd, ltv, health_factor, liquidator, expected_version)<!
-- One statement: each column named in :changed (a text[]) takes its new value,
-- the others keep theirs. The CHECK constraints judge the row as a whole (the
-- rules across columns too); updated_at is set by trigger, version counts up. No
-- row: no such id, or it is not at :expected_version (when one is given).
UPDATE liquidation_events SET
    version = version + 1,
    collateral_seized_token = CASE
        WHEN 'collateral_seized_token' = any(:changed) THEN :collateral_seized_token
        ELSE collateral_seized_token
    END,
    collateral_seized_amount = CASE
        WHEN 'collateral_seized_amount' = any(:changed) THEN :collateral_seized_amount
        ELSE collateral_seized_amount
    END,
    collateral_seized_value_usd = CASE
        WHEN 'collateral_seized_value_usd' = any(:changed) THEN :collateral_seized_value_usd
        ELSE collateral_seized_value_usd
    END,
    debt_repaid_token = CASE
        WHEN 'debt_repaid_token' = any(:changed) THEN :debt_repaid_token
        ELSE debt_repaid_token
    END,
    debt_repaid_amount = CASE
        WHEN 'debt_repaid_amount' = any(:changed) THEN :debt_repaid_amount
        ELSE debt_repaid_amount
    END,
    debt_repaid_value_usd = CASE
        WHEN 'debt_repaid_value_usd' = any(:changed) THEN :debt_repaid_value_usd
        ELSE debt_repaid_value_usd
    END,
    penalty_usd = CASE
        WHEN 'penalty_usd' = any(:changed) THEN :penalty_usd
        ELSE penalty_usd
    END,
    ltv = CASE
        WHEN 'ltv' = any(:changed) THEN :ltv
        ELSE ltv
    END,
    health_factor = CASE
        WHEN 'health_factor' = any(:changed) THEN :health_factor
        ELSE health_factor
    END,
    liquidator = CASE
        WHEN 'liquidator' = any(:changed) THEN :liquidator
        ELSE liquidator
    END
WHERE
    id = :id
    AND (cast(:expected_version AS integer) IS NULL OR version = :expected_version)
RETURNING *;

-- name: delete(id, expected_version)!
-- Delete one liquidation record.
DELETE FROM liquidation_events
WHERE
    id = :id
    AND (cast(:expected_version AS integer) IS NULL OR version = :expected_version);

-- Whole datasets, as `vaultstore copy` moves them between databases.

-- name: copy_in(id, vault_id, chain_id, collateral_seized_token, collateral_seized_amount, collateral_seized_value_usd, debt_repaid_token, debt_repaid_amount, debt_repaid_value_usd, penalty_usd, ltv, health_factor, liquidator, tx_hash, occurred_at, created_at, updated_at, version)*!
-- Store whole rows of liquidation events as they are (restore(): ids, versions and
-- timestamps kept), a batch at a time inside a transaction, pipelined. Not a
-- COPY: PostgreSQL refuses COPY FROM into a table under row-level security.
INSERT INTO liquidation_events (
    id, vault_id, chain_id, collateral_seized_token, collateral_seized_amount,
    collateral_seized_value_usd, debt_repaid_token, debt_repaid_amount,
    debt_repaid_value_usd, penalty_usd, ltv, health_factor, liquidator, tx_hash,
    occurred_at, created_at, updated_at, version
) VALUES (
    :id, :vault_id, :chain_id, :collateral_seized_token, :collateral_seized_amount,
    :collateral_seized_value_usd, :debt_repaid_token, :debt_repaid_amount,
    :debt_repaid_value_usd, :penalty_usd, :ltv, :health_factor, :liquidator,
    :tx_hash, :occurred_at, :created_at, :updated_at, :version
);

-- name: count()
-- How many liquidation events are stored.
SELECT count(*) AS total FROM liquidation_events;

-- name: find_last()^
-- The liquidation event with the greatest id (the last one created), or no row.
SELECT * FROM liquidation_events
ORDER BY id DESC
LIMIT 1;
