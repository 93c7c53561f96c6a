-- Statements of tests/test_plans.py: bulk loading as pg_restore does it (rows with
-- COPY first, where columns left out take their defaults, then the indexes built
-- in one pass each), and fresh planner statistics.

-- name: deferred_indexes()
-- The indexes a bulk load builds after the rows rather than row by row: every one
-- on the tables of the public schema (yoyo's aside) but primary keys and the
-- unique constraints a foreign key relies on. drop_statement removes one and
-- create_statement builds it again as it was (pg_get_indexdef, or the constraint
-- through pg_get_constraintdef).
SELECT
    CASE
        WHEN k.oid IS NULL THEN 'DROP INDEX ' || x.indexrelid::regclass::text
        ELSE
            'ALTER TABLE ' || x.indrelid::regclass::text
            || ' DROP CONSTRAINT ' || quote_ident(k.conname)
    END AS drop_statement,
    CASE
        -- a partitioned table's index is shown ON ONLY it: built on it, on all
        WHEN k.oid IS NULL THEN replace(pg_get_indexdef(x.indexrelid), ' ON ONLY ', ' ON ')
        ELSE
            'ALTER TABLE ' || x.indrelid::regclass::text
            || ' ADD CONSTRAINT ' || quote_ident(k.conname)
            || ' ' || pg_get_constraintdef(k.oid)
    END AS create_statement
FROM pg_index AS x
INNER JOIN pg_class AS t ON x.indrelid = t.oid
INNER JOIN pg_namespace AS n ON t.relnamespace = n.oid
LEFT JOIN pg_constraint AS k
    ON x.indexrelid = k.conindid AND x.indrelid = k.conrelid AND k.contype = 'u'
WHERE
    n.nspname = 'public'
    AND t.relname NOT IN ('_yoyo_log', '_yoyo_migration', '_yoyo_version', 'yoyo_lock')
    -- a partition's indexes go and come with its partitioned table's
    AND NOT t.relispartition
    AND NOT x.indisprimary
    AND NOT EXISTS (
        SELECT FROM pg_constraint AS f
        WHERE f.contype = 'f' AND f.conindid = x.indexrelid
    );

-- name: deferred_foreign_keys()
-- The foreign keys of the tables of the public schema, checked once over the
-- loaded rows rather than row by row (drop_statement, create_statement as above).
SELECT
    'ALTER TABLE ' || k.conrelid::regclass::text
    || ' DROP CONSTRAINT ' || quote_ident(k.conname) AS drop_statement,
    'ALTER TABLE ' || k.conrelid::regclass::text
    || ' ADD CONSTRAINT ' || quote_ident(k.conname)
    || ' ' || pg_get_constraintdef(k.oid) AS create_statement
FROM pg_constraint AS k
INNER JOIN pg_namespace AS n ON k.connamespace = n.oid
WHERE n.nspname = 'public' AND k.contype = 'f';

-- name: more_memory_for_index_builds#
-- Let each index build sort in memory, for this session.
SELECT set_config('maintenance_work_mem', '256MB', FALSE);

-- name: copy_agents#
-- COPY target for the generated agents.
COPY agents (id, name, credibility_score) FROM STDIN;

-- name: copy_vaults#
-- COPY target for the generated vaults.
COPY credit_vaults (
    id, agent_id, chain_id,
    collateral_token, collateral_amount, collateral_value_usd,
    debt_token, debt_amount, debt_value_usd,
    ltv, health_factor, max_ltv,
    liquidation_protection_enabled, liquidation_protection_threshold
) FROM STDIN;

-- name: copy_alerts#
-- COPY target for the generated alerts.
COPY risk_alerts (
    id, vault_id, alert_type, severity, message, status, acknowledged_at, resolved_at
) FROM STDIN;

-- name: copy_liquidations#
-- COPY target for the generated liquidations.
COPY liquidation_events (
    id, vault_id, chain_id,
    collateral_seized_token, collateral_seized_amount, collateral_seized_value_usd,
    debt_repaid_token, debt_repaid_amount, debt_repaid_value_usd,
    ltv, health_factor, liquidator, tx_hash, occurred_at
) FROM STDIN;

-- name: copy_rules#
-- COPY target for the generated protection rules.
COPY protection_rules (id, vault_id, name, conditions, actions, enabled, priority) FROM STDIN;

-- name: copy_audit#
-- COPY target for the generated audit trail.
COPY audit_log (
    tenant_id, written_at, actor, operation_name, write_kind,
    entity_type, entity_id, version_before, version_after
) FROM STDIN;

-- name: copy_market_data#
-- COPY target for the generated prices.
COPY market_data (id, token, chain_id, price_usd, source, recorded_at) FROM STDIN;

-- name: analyze#
-- Fresh planner statistics after the load, as autovacuum would gather them.
ANALYZE;

-- name: row_count(table_name)$
-- The planner's row estimate for a table (after ANALYZE, the number of rows).
SELECT reltuples::bigint FROM pg_class
WHERE oid = to_regclass(:table_name);

-- name: empty_partitions()
-- Partitions that hold no row (market_data's months ahead): a plan may scan them
-- sequentially, which costs nothing.
SELECT c.relname AS partition_name
FROM pg_class AS c
WHERE c.relispartition AND c.relkind = 'r' AND c.reltuples <= 0;

-- name: act_for_tenant(tenant)!
-- What vaultstore sets for a store's calls: the tenant whose rows the session
-- sees and stores (the tenant_id the loaded rows get), as a backfill does: with
-- the audit trail off (a million audit rows would be the load's own).
SELECT
    set_config('vaultstore.tenant', :tenant, FALSE) AS tenant,
    set_config('vaultstore.audit', 'off', FALSE) AS audit_setting;
