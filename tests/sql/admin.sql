-- Statements the test fixtures run; never used by vaultstore itself.

-- name: truncate_all#
-- Empty every vaultstore table between tests (faster than a new database).
TRUNCATE agents, credit_vaults, risk_alerts, liquidation_events, protection_rules, market_data,
documents, document_chunks;
