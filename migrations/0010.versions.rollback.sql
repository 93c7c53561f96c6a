-- Undo 0010.versions: the rows lose their version.

ALTER TABLE agents DROP COLUMN version;
ALTER TABLE credit_vaults DROP COLUMN version;
ALTER TABLE risk_alerts DROP COLUMN version;
ALTER TABLE liquidation_events DROP COLUMN version;
ALTER TABLE protection_rules DROP COLUMN version;
ALTER TABLE market_data DROP COLUMN version;
