-- Statements of tests/test_copy.py: many vaults, and every row of every table as
-- text, to compare two databases field by field, every digit as stored.

-- name: many_vaults(agent_id, count)!
-- :count vaults of agent :agent_id, with ids 'vlt_many_0000001' ..., amounts of
-- many digits and scales, times a few milliseconds apart, versions 1 to 9; of
-- the agent's tenant (the default one, as vaultstore's stores here).
INSERT INTO credit_vaults (
    tenant_id, id, agent_id, chain_id, collateral_token, collateral_amount,
    collateral_value_usd, debt_token, debt_amount, debt_value_usd, ltv,
    health_factor, max_ltv, liquidation_protection_enabled,
    liquidation_protection_threshold, liquidation_protection_cooldown, status,
    created_at, updated_at, version
)
SELECT
    'default' AS tenant_id,
    'vlt_many_' || lpad(cast(n AS text), 7, '0') AS id,
    :agent_id AS agent_id,
    1 AS chain_id,
    'ETH' AS collateral_token,
    cast(
        n || '.' || lpad(cast(mod(n * 7919, 1000000) AS text), 6, '0') || '000000000001'
        AS numeric
    ) AS collateral_amount,
    cast(n * 2 || '.50' AS numeric) AS collateral_value_usd,
    'USDC' AS debt_token,
    cast(n || '.000000' AS numeric) AS debt_amount,
    cast(n AS numeric) AS debt_value_usd,
    cast(mod(n, 9000) / 100.0 AS numeric(6, 2)) AS ltv,
    cast('1.' || lpad(cast(mod(n, 10000) AS text), 4, '0') AS numeric) AS health_factor,
    cast(95 AS numeric) AS max_ltv,
    mod(n, 2) = 0 AS liquidation_protection_enabled,
    cast(90.5 AS numeric) AS liquidation_protection_threshold,
    mod(n, 7200) AS liquidation_protection_cooldown,
    'active' AS status,
    timestamptz '2025-01-01 00:00:00+00' + n * interval '3 milliseconds' AS created_at,
    timestamptz '2025-06-01 00:00:00+00' + n * interval '7 milliseconds' AS updated_at,
    1 + mod(n, 9) AS version
FROM generate_series(1, :count) AS n;

-- name: every_row()
-- Every row of every table as its text, by table and key (a chunk by its MD5).
SELECT
    'agents' AS table_name,
    x.id AS row_key,
    cast(x AS text) AS row_text
FROM agents AS x
UNION ALL
SELECT
    'credit_vaults' AS table_name,
    x.id AS row_key,
    cast(x AS text) AS row_text
FROM credit_vaults AS x
UNION ALL
SELECT
    'risk_alerts' AS table_name,
    x.id AS row_key,
    cast(x AS text) AS row_text
FROM risk_alerts AS x
UNION ALL
SELECT
    'liquidation_events' AS table_name,
    x.id AS row_key,
    cast(x AS text) AS row_text
FROM liquidation_events AS x
UNION ALL
SELECT
    'protection_rules' AS table_name,
    x.id AS row_key,
    cast(x AS text) AS row_text
FROM protection_rules AS x
UNION ALL
SELECT
    'market_data' AS table_name,
    x.id AS row_key,
    cast(x AS text) AS row_text
FROM market_data AS x
UNION ALL
SELECT
    'documents' AS table_name,
    x.id AS row_key,
    cast(x AS text) AS row_text
FROM documents AS x
UNION ALL
SELECT
    'document_chunks' AS table_name,
    x.document_id || '/' || x.n AS row_key,
    md5(x.data) AS row_text
FROM document_chunks AS x
ORDER BY table_name, row_key;

-- name: change_one_ltv()!
-- A change made behind vaultstore's back: the first vault's LTV, by 0.01.
UPDATE credit_vaults SET ltv = ltv + 0.01
WHERE id = (SELECT min(id) FROM credit_vaults);
