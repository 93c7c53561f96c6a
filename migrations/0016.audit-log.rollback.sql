-- Undo 0016.audit-log: no audit triggers, no audit trail (its rows are lost).

DROP TRIGGER documents_audit ON documents;
DROP TRIGGER market_data_audit ON market_data;
DROP TRIGGER protection_rules_audit ON protection_rules;
DROP TRIGGER liquidation_events_audit ON liquidation_events;
DROP TRIGGER risk_alerts_audit ON risk_alerts;
DROP TRIGGER credit_vaults_audit ON credit_vaults;
DROP TRIGGER agents_audit ON agents;
DROP FUNCTION vaultstore_audit();
DROP TABLE audit_log;
