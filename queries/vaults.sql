-- Credit vaults: collateral, debt and risk metrics of an agent on one chain.
-- Nested values are stored flat: collateral.amount is collateral_amount.
-- Every statement returns whole rows, mapped to CreditVault by column name.

-- name: insert(id, agent_id, chain_id, collateral_token, collateral_amount, collateral_value_usd, debt_token, debt_amount, debt_value_usd, ltv, health_factor, max_ltv, liquidation_protection_enabled, liquidation_protection_threshold, liquidation_protection_cooldown, status, created_at, updated_at, version)!
-- Store a new vault. An unknown agent_id fails on credit_vaults_agent_id_fkey.
INSERT INTO credit_vaults (
    id, agent_id, chain_id,
    collateral_token, collateral_amount, collateral_value_usd,
    debt_token, debt_amount, debt_value_usd,
    ltv, health_factor, max_ltv,
    liquidation_protection_enabled,
    liquidation_protection_threshold,
    liquidation_protection_cooldown,
    status, created_at, updated_at, version
) VALUES (
    :id, :agent_id, :chain_id,
    :collateral_token, :collateral_amount, :collateral_value_usd,
    :debt_token, :debt_amount, :debt_value_usd,
    :ltv, :health_factor, :max_ltv,
    :liquidation_protection_enabled,
    :liquidation_protection_threshold,
    :liquidation_protection_cooldown,
    :status, :created_at, :updated_at, :version
);

-- name: find_by_id(id)^
-- One vault by id, or no row. The hottest statement: a primary key lookup.
SELECT * FROM credit_vaults
WHERE id = :id;

-- name: lock_by_id(id)^
-- One row, locked against other writers until the end of the transaction
-- (store.transaction()'s repositories' lock(id)).
SELECT * FROM credit_vaults
WHERE id = :id
FOR UPDATE;

-- name: list_after(after, limit)
-- All vaults in creation order, one page after the id :after ('' for the first).
SELECT * FROM credit_vaults
WHERE id > :after
ORDER BY id
LIMIT :limit;

-- name: find_by_agent_id(agent_id, after, limit)
-- An agent's vaults in creation order (index credit_vaults_agent_id_id_idx).
SELECT * FROM credit_vaults
WHERE agent_id = :agent_id AND id > :after
ORDER BY id
LIMIT :limit;

-- name: find_by_chain_id(chain_id, after, limit)
-- The vaults on one chain in creation order (index credit_vaults_chain_id_id_idx).
SELECT * FROM credit_vaults
WHERE chain_id = :chain_id AND id > :after
ORDER BY id
LIMIT :limit;

-- name: find_high_risk(threshold, after_ltv, after_id, limit)
-- Vaults whose LTV is at or above :threshold, riskiest first, one page after the
-- vault (:after_ltv, :after_id); the first page passes 'Infinity' and ''.
-- Walks credit_vaults_ltv_id_idx backwards and stops after :limit rows.
SELECT * FROM credit_vaults
WHERE ltv >= :threshold AND (ltv, id) < (:after_ltv, :after_id)
ORDER BY ltv DESC, id DESC
LIMIT :limit;

-- name: update(id, changed, collateral_token, collateral_amount, collateral_value_usd, debt_token, debt_amount, debt_value_usd, ltv, health_factor, max_ltv, liquidation_protection_enabled, liquidation_protection_threshold, liquidation_protection_cooldown, status, expected_version)<!
-- One statement: each column named in :changed (a text[]) takes its new value,
-- the others keep theirs. The CHECK constraints judge the row as a whole (the
-- rules across columns too); updated_at is set by trigger, version counts up. No
-- row: no such id, or it is not at :expected_version (when one is given).
UPDATE credit_vaults SET
    version = version + 1,
    collateral_token = CASE
        WHEN 'collateral_token' = any(:changed) THEN :collateral_token
        ELSE collateral_token
    END,
    collateral_amount = CASE
        WHEN 'collateral_amount' = any(:changed) THEN :collateral_amount
        ELSE collateral_amount
    END,
    collateral_value_usd = CASE
        WHEN 'collateral_value_usd' = any(:changed) THEN :collateral_value_usd
        ELSE collateral_value_usd
    END,
    debt_token = CASE
        WHEN 'debt_token' = any(:changed) THEN :debt_token
        ELSE debt_token
    END,
    debt_amount = CASE
        WHEN 'debt_amount' = any(:changed) THEN :debt_amount
        ELSE debt_amount
    END,
    debt_value_usd = CASE
        WHEN 'debt_value_usd' = any(:changed) THEN :debt_value_usd
        ELSE debt_value_usd
    END,
    ltv = CASE
        WHEN 'ltv' = any(:changed) THEN :ltv
        ELSE ltv
    END,
    health_factor = CASE
        WHEN 'health_factor' = any(:changed) THEN :health_factor
        ELSE health_factor
    END,
    max_ltv = CASE
        WHEN 'max_ltv' = any(:changed) THEN :max_ltv
        ELSE max_ltv
    END,
    liquidation_protection_enabled = CASE
        WHEN 'liquidation_protection_enabled' = any(:changed) THEN :liquidation_protection_enabled
        ELSE liquidation_protection_enabled
    END,
    liquidation_protection_threshold = CASE
        WHEN 'liquidation_protection_threshold' = any(:changed)
            THEN :liquidation_protection_threshold
        ELSE liquidation_protection_threshold
    END,
    liquidation_protection_cooldown = CASE
        WHEN 'liquidation_protection_cooldown' = any(:changed) THEN :liquidation_protection_cooldown
        ELSE liquidation_protection_cooldown
    END,
    status = CASE
        WHEN 'status' = any(:changed) THEN :status
        ELSE status
    END
WHERE
    id = :id
    AND (cast(:expected_version AS integer) IS NULL OR version = :expected_version)
RETURNING *;

-- name: update_metrics(id, ltv, health_factor, expected_version)<!
-- Record a vault's latest LTV and health factor in one statement.
UPDATE credit_vaults
SET version = version + 1, ltv = :ltv, health_factor = :health_factor
WHERE
    id = :id
    AND (cast(:expected_version AS integer) IS NULL OR version = :expected_version)
RETURNING *;

-- name: update_metrics_many(ids, ltvs, health_factors)
-- Many vaults' latest LTV and health factor in one statement
-- (vaults.update_metrics_many, a batch at a time): the three arrays are read in
-- step, each vault's version counts up as update_metrics counts it. Returns the
-- ids it updated; an id it does not return names no vault.
UPDATE credit_vaults AS vault
SET
    version = vault.version + 1,
    ltv = metrics.ltv,
    health_factor = metrics.health_factor
FROM
    unnest(
        cast(:ids AS text[]),
        cast(:ltvs AS numeric[]),
        cast(:health_factors AS numeric[])
    ) AS metrics (id, ltv, health_factor)
WHERE vault.id = metrics.id
RETURNING vault.id;

-- name: delete(id, expected_version)!
-- Delete one vault with its alerts and rules; refused while it has liquidations.
DELETE FROM credit_vaults
WHERE
    id = :id
    AND (cast(:expected_version AS integer) IS NULL OR version = :expected_version);

-- name: risk_summary_by_chain(threshold)
-- Per chain: vault count, total collateral and debt in USD, the sum of LTVs (the
-- average is divided in Python, the same way as on MongoDB), and how many vaults
-- have an LTV at or above :threshold. Reads every vault.
SELECT
    chain_id,
    count(*) AS vault_count,
    sum(collateral_value_usd) AS total_collateral_usd,
    sum(debt_value_usd) AS total_debt_usd,
    sum(ltv) AS ltv_total,
    count(*) FILTER (WHERE ltv >= :threshold) AS at_risk_count
FROM credit_vaults
GROUP BY chain_id
ORDER BY chain_id;

-- Whole datasets, as `vaultstore copy` moves them between databases.

-- name: copy_in(id, agent_id, chain_id, collateral_token, collateral_amount, collateral_value_usd, debt_token, debt_amount, debt_value_usd, ltv, health_factor, max_ltv, liquidation_protection_enabled, liquidation_protection_threshold, liquidation_protection_cooldown, status, created_at, updated_at, version)*!
-- Store whole rows of credit vaults as they are (restore(): ids, versions and
-- timestamps kept), a batch at a time inside a transaction, pipelined. Not a
-- COPY: PostgreSQL refuses COPY FROM into a table under row-level security.
INSERT INTO credit_vaults (
    id, agent_id, chain_id, collateral_token, collateral_amount,
    collateral_value_usd, debt_token, debt_amount, debt_value_usd, ltv,
    health_factor, max_ltv, liquidation_protection_enabled,
    liquidation_protection_threshold, liquidation_protection_cooldown, status,
    created_at, updated_at, version
) VALUES (
    :id, :agent_id, :chain_id, :collateral_token, :collateral_amount,
    :collateral_value_usd, :debt_token, :debt_amount, :debt_value_usd, :ltv,
    :health_factor, :max_ltv, :liquidation_protection_enabled,
    :liquidation_protection_threshold, :liquidation_protection_cooldown, :status,
    :created_at, :updated_at, :version
);

-- name: count()
-- How many vaults are stored.
SELECT count(*) AS total FROM credit_vaults;

-- name: find_last()^
-- The vault with the greatest id (the last one created), or no row.
SELECT * FROM credit_vaults
ORDER BY id DESC
LIMIT 1;
