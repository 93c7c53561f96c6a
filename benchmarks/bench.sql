-- Statements of the benchmark only: bulk loading with COPY, the raw update that
-- store.vaults.update(id, ltv=...) is measured against, and the other way to update
-- many vaults' metrics (COPY into a temporary table, then UPDATE ... FROM it).

-- name: copy_agents#
-- COPY target for the generated agents.
COPY agents (id, name, credibility_score, created_at, updated_at) FROM STDIN;

-- name: copy_vaults#
-- COPY target for the generated vaults.
COPY credit_vaults (
    id, agent_id, chain_id,
    collateral_token, collateral_amount, collateral_value_usd,
    debt_token, debt_amount, debt_value_usd,
    ltv, health_factor, max_ltv,
    liquidation_protection_enabled, liquidation_protection_threshold,
    liquidation_protection_cooldown, status, created_at, updated_at
) FROM STDIN;

-- name: analyze#
-- Fresh planner statistics after the load.
ANALYZE;

-- name: truncate#
-- Start from empty tables.
TRUNCATE agents, credit_vaults, risk_alerts, liquidation_events, protection_rules, market_data;

-- name: update_ltv(ltv, id)<!
-- The raw driver's side of the update benchmark: one column, one statement.
UPDATE credit_vaults SET ltv = :ltv
WHERE id = :id
RETURNING *;

-- name: truncate_market_data#
-- Between the rounds of the bulk insert benchmark.
TRUNCATE market_data;

-- name: count_market_data()$
-- After each side of the bulk insert benchmark: both stored every price.
SELECT count(*) FROM market_data;

-- name: commit_settings()^
-- What an autocommitted UPDATE waits for at commit (printed with the results).
SELECT
    current_setting('synchronous_commit') AS synchronous_commit,
    current_setting('fsync') AS fsync;

-- name: agents_out#
-- The raw side of the copy benchmark: every agent, in the columns of
-- queries/agents.sql copy_in; agents_in takes them in on the other side.
COPY agents (id, name, credibility_score, created_at, updated_at, version) TO STDOUT;

-- name: agents_in#
-- The agents of agents_out, by COPY (as the benchmark's superuser, whom the
-- tenants' row-level security does not stop; vaultstore's copy_in inserts).
COPY agents (id, name, credibility_score, created_at, updated_at, version) FROM STDIN;

-- name: vaults_in#
-- The vaults of vaults_out, by COPY.
COPY credit_vaults (
    id, agent_id, chain_id, collateral_token, collateral_amount,
    collateral_value_usd, debt_token, debt_amount, debt_value_usd, ltv,
    health_factor, max_ltv, liquidation_protection_enabled,
    liquidation_protection_threshold, liquidation_protection_cooldown, status,
    created_at, updated_at, version
) FROM STDIN;

-- name: act_for_tenant(tenant)!
-- The tenant whose rows the session stores (their tenant_id), as vaultstore sets it.
SELECT set_config('vaultstore.tenant', :tenant, false);

-- name: without_audit()!
-- The raw side of a batch writes its rows and nothing else (migration 0016's row
-- triggers stand aside, as for a backfill): the limit vaultstore's batch, which
-- appends one audit row per batch, is measured against. The loads too.
SELECT set_config('vaultstore.audit', 'off', false);

-- name: vaults_out#
-- Every vault, in the columns of queries/vaults.sql copy_in.
COPY credit_vaults (
    id, agent_id, chain_id, collateral_token, collateral_amount,
    collateral_value_usd, debt_token, debt_amount, debt_value_usd, ltv,
    health_factor, max_ltv, liquidation_protection_enabled,
    liquidation_protection_threshold, liquidation_protection_cooldown, status,
    created_at, updated_at, version
) TO STDOUT;

-- name: drop_copy_target#
-- The copy benchmark's target database, on the same server.
DROP DATABASE IF EXISTS vaultstore_bench_copy WITH (FORCE);

-- name: create_copy_target#
-- The copy benchmark's target database, on the same server.
CREATE DATABASE vaultstore_bench_copy;

-- name: create_metrics_table#
-- The other way to update many vaults' metrics (compared in bench_batch_update):
-- COPY them into a temporary table, then one UPDATE ... FROM it. Dropped at commit.
CREATE TEMPORARY TABLE bench_metrics (
    id text PRIMARY KEY,
    ltv numeric NOT NULL,
    health_factor numeric NOT NULL
) ON COMMIT DROP;

-- name: copy_metrics#
-- COPY target of that way: one row per vault.
COPY bench_metrics (id, ltv, health_factor) FROM STDIN;

-- name: update_from_metrics()
-- The same change as vaults.update_metrics_many, from the temporary table: each
-- vault's version counts up; returns the ids it updated.
UPDATE credit_vaults AS vault
SET
    version = vault.version + 1,
    ltv = metrics.ltv,
    health_factor = metrics.health_factor
FROM bench_metrics AS metrics
WHERE vault.id = metrics.id
RETURNING vault.id;

-- name: change_feed_off#
-- bench_changes.py --cost: the inserts of prices and agents without the change
-- feed's statement triggers (migration 0017), the side the feed's cost is
-- measured against; change_feed_on puts them back.
ALTER TABLE market_data DISABLE TRIGGER market_data_change_feed_insert;
ALTER TABLE agents DISABLE TRIGGER agents_change_feed_insert;

-- name: change_feed_on#
ALTER TABLE market_data ENABLE TRIGGER market_data_change_feed_insert;
ALTER TABLE agents ENABLE TRIGGER agents_change_feed_insert;
