-- Undo 0015.tenants: no policies, no tenant_id, the keys and indexes as before.
-- Every tenant's rows stay, as one set: two agents of different tenants with the
-- same name make it fail on agents_name_key, changing nothing.
--
-- LOCKING: ACCESS EXCLUSIVE on each tenant-owned table, as for the migration.

DROP POLICY document_chunks_tenant ON document_chunks;
ALTER TABLE document_chunks NO FORCE ROW LEVEL SECURITY;
ALTER TABLE document_chunks DISABLE ROW LEVEL SECURITY;
DROP POLICY documents_tenant ON documents;
ALTER TABLE documents NO FORCE ROW LEVEL SECURITY;
ALTER TABLE documents DISABLE ROW LEVEL SECURITY;
DROP POLICY protection_rules_tenant ON protection_rules;
ALTER TABLE protection_rules NO FORCE ROW LEVEL SECURITY;
ALTER TABLE protection_rules DISABLE ROW LEVEL SECURITY;
DROP POLICY liquidation_events_tenant ON liquidation_events;
ALTER TABLE liquidation_events NO FORCE ROW LEVEL SECURITY;
ALTER TABLE liquidation_events DISABLE ROW LEVEL SECURITY;
DROP POLICY risk_alerts_tenant ON risk_alerts;
ALTER TABLE risk_alerts NO FORCE ROW LEVEL SECURITY;
ALTER TABLE risk_alerts DISABLE ROW LEVEL SECURITY;
DROP POLICY credit_vaults_tenant ON credit_vaults;
ALTER TABLE credit_vaults NO FORCE ROW LEVEL SECURITY;
ALTER TABLE credit_vaults DISABLE ROW LEVEL SECURITY;
DROP POLICY agents_tenant ON agents;
ALTER TABLE agents NO FORCE ROW LEVEL SECURITY;
ALTER TABLE agents DISABLE ROW LEVEL SECURITY;

DROP INDEX documents_tenant_id_owner_type_owner_id_id_idx;
CREATE INDEX documents_owner_type_owner_id_id_idx ON documents (owner_type, owner_id, id);
DROP INDEX protection_rules_tenant_id_enabled_vault_id_priority_idx;
CREATE INDEX protection_rules_enabled_vault_id_priority_idx
ON protection_rules (vault_id, priority DESC, id)
WHERE enabled;
DROP INDEX liquidation_events_tenant_id_occurred_at_id_idx;
CREATE INDEX liquidation_events_occurred_at_id_idx ON liquidation_events (occurred_at, id);
DROP INDEX liquidation_events_tenant_id_vault_id_occurred_at_id_idx;
CREATE INDEX liquidation_events_vault_id_occurred_at_id_idx
ON liquidation_events (vault_id, occurred_at, id);
DROP INDEX risk_alerts_tenant_id_open_severity_id_idx;
CREATE INDEX risk_alerts_open_severity_id_idx ON risk_alerts (severity, id)
WHERE status != 'resolved';
DROP INDEX risk_alerts_tenant_id_open_vault_id_id_idx;
CREATE INDEX risk_alerts_open_vault_id_id_idx ON risk_alerts (vault_id, id)
WHERE status != 'resolved';
DROP INDEX risk_alerts_tenant_id_vault_id_id_idx;
CREATE INDEX risk_alerts_vault_id_id_idx ON risk_alerts (vault_id, id);
DROP INDEX credit_vaults_tenant_id_ltv_id_idx;
CREATE INDEX credit_vaults_ltv_id_idx ON credit_vaults (ltv, id);
DROP INDEX credit_vaults_tenant_id_chain_id_id_idx;
CREATE INDEX credit_vaults_chain_id_id_idx ON credit_vaults (chain_id, id);
DROP INDEX credit_vaults_tenant_id_agent_id_id_idx;
CREATE INDEX credit_vaults_agent_id_id_idx ON credit_vaults (agent_id, id);
DROP INDEX agents_tenant_id_credibility_tier_id_idx;
CREATE INDEX agents_credibility_tier_id_idx ON agents (credibility_tier, id);

ALTER TABLE document_chunks
DROP CONSTRAINT document_chunks_document_id_fkey,
ADD CONSTRAINT document_chunks_document_id_fkey FOREIGN KEY (document_id)
REFERENCES documents (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE protection_rules
DROP CONSTRAINT protection_rules_vault_id_fkey,
ADD CONSTRAINT protection_rules_vault_id_fkey FOREIGN KEY (vault_id)
REFERENCES credit_vaults (id) ON DELETE CASCADE;
ALTER TABLE liquidation_events
DROP CONSTRAINT liquidation_events_vault_id_fkey,
ADD CONSTRAINT liquidation_events_vault_id_fkey FOREIGN KEY (vault_id)
REFERENCES credit_vaults (id) ON DELETE RESTRICT;
ALTER TABLE risk_alerts
DROP CONSTRAINT risk_alerts_vault_id_fkey,
ADD CONSTRAINT risk_alerts_vault_id_fkey FOREIGN KEY (vault_id)
REFERENCES credit_vaults (id) ON DELETE CASCADE;
ALTER TABLE credit_vaults
DROP CONSTRAINT credit_vaults_agent_id_fkey,
ADD CONSTRAINT credit_vaults_agent_id_fkey FOREIGN KEY (agent_id)
REFERENCES agents (id) ON DELETE RESTRICT;

ALTER TABLE documents DROP CONSTRAINT documents_tenant_id_id_key;
ALTER TABLE credit_vaults DROP CONSTRAINT credit_vaults_tenant_id_id_key;
ALTER TABLE agents
DROP CONSTRAINT agents_tenant_id_id_key,
DROP CONSTRAINT agents_tenant_id_name_key,
ADD CONSTRAINT agents_name_key UNIQUE (name);

ALTER TABLE document_chunks DROP COLUMN tenant_id;
ALTER TABLE documents DROP COLUMN tenant_id;
ALTER TABLE protection_rules DROP COLUMN tenant_id;
ALTER TABLE liquidation_events DROP COLUMN tenant_id;
ALTER TABLE risk_alerts DROP COLUMN tenant_id;
ALTER TABLE credit_vaults DROP COLUMN tenant_id;
ALTER TABLE agents DROP COLUMN tenant_id;
