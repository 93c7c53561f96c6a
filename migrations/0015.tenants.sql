-- Tenants that cannot see each other, enforced by the database: every
-- tenant-owned table gets a tenant_id (the rows already stored go to the tenant
-- named 'default'), row-level security policies that let a session see and write
-- only the rows of the tenant in its setting vaultstore.tenant (set by vaultstore
-- for each call: see "Tenants, roles and audit" in the README), uniqueness per
-- tenant where it was global, foreign keys that keep a tenant's rows together, and
-- indexes that lead with tenant_id. Market data stays shared (public prices).
--
-- A row stored without the setting fails (tenant_id's default reads it, and a
-- session without one has none); a session without it sees no tenant's rows.
-- FORCE makes the policies hold for the tables' owner too; superusers and
-- BYPASSRLS roles still bypass them: the application must connect as a role that
-- is neither (`vaultstore roles`).
--
-- LOCKING: ACCESS EXCLUSIVE on each tenant-owned table while tenant_id is added
-- (no rewrite: a constant default) and its indexes are rebuilt; apply it in a
-- quiet window. It runs in one transaction: a failure changes nothing.

ALTER TABLE agents ADD COLUMN tenant_id text NOT NULL DEFAULT 'default';
ALTER TABLE credit_vaults ADD COLUMN tenant_id text NOT NULL DEFAULT 'default';
ALTER TABLE risk_alerts ADD COLUMN tenant_id text NOT NULL DEFAULT 'default';
ALTER TABLE liquidation_events ADD COLUMN tenant_id text NOT NULL DEFAULT 'default';
ALTER TABLE protection_rules ADD COLUMN tenant_id text NOT NULL DEFAULT 'default';
ALTER TABLE documents ADD COLUMN tenant_id text NOT NULL DEFAULT 'default';
ALTER TABLE document_chunks ADD COLUMN tenant_id text NOT NULL DEFAULT 'default';

-- New rows: the tenant of the session's setting (an error when it has none).
ALTER TABLE agents
ALTER COLUMN tenant_id SET DEFAULT current_setting('vaultstore.tenant'),
ADD CONSTRAINT agents_tenant_id_check CHECK (
    tenant_id ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$'
);
ALTER TABLE credit_vaults
ALTER COLUMN tenant_id SET DEFAULT current_setting('vaultstore.tenant');
ALTER TABLE risk_alerts
ALTER COLUMN tenant_id SET DEFAULT current_setting('vaultstore.tenant');
ALTER TABLE liquidation_events
ALTER COLUMN tenant_id SET DEFAULT current_setting('vaultstore.tenant');
ALTER TABLE protection_rules
ALTER COLUMN tenant_id SET DEFAULT current_setting('vaultstore.tenant');
ALTER TABLE documents
ALTER COLUMN tenant_id SET DEFAULT current_setting('vaultstore.tenant'),
ADD CONSTRAINT documents_tenant_id_check CHECK (
    tenant_id ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$'
);
ALTER TABLE document_chunks
ALTER COLUMN tenant_id SET DEFAULT current_setting('vaultstore.tenant');

-- An agent's name is unique within its tenant; (tenant_id, id) is what the
-- foreign keys of the tenant's rows point at, so that a row never refers to
-- another tenant's (a foreign key is checked without the policies).
ALTER TABLE agents
DROP CONSTRAINT agents_name_key,
ADD CONSTRAINT agents_tenant_id_name_key UNIQUE (tenant_id, name),
ADD CONSTRAINT agents_tenant_id_id_key UNIQUE (tenant_id, id);
ALTER TABLE credit_vaults
ADD CONSTRAINT credit_vaults_tenant_id_id_key UNIQUE (tenant_id, id);
ALTER TABLE documents
ADD CONSTRAINT documents_tenant_id_id_key UNIQUE (tenant_id, id);

ALTER TABLE credit_vaults
DROP CONSTRAINT credit_vaults_agent_id_fkey,
ADD CONSTRAINT credit_vaults_agent_id_fkey FOREIGN KEY (tenant_id, agent_id)
REFERENCES agents (tenant_id, id) ON DELETE RESTRICT;
ALTER TABLE risk_alerts
DROP CONSTRAINT risk_alerts_vault_id_fkey,
ADD CONSTRAINT risk_alerts_vault_id_fkey FOREIGN KEY (tenant_id, vault_id)
REFERENCES credit_vaults (tenant_id, id) ON DELETE CASCADE;
ALTER TABLE liquidation_events
DROP CONSTRAINT liquidation_events_vault_id_fkey,
ADD CONSTRAINT liquidation_events_vault_id_fkey FOREIGN KEY (tenant_id, vault_id)
REFERENCES credit_vaults (tenant_id, id) ON DELETE RESTRICT;
ALTER TABLE protection_rules
DROP CONSTRAINT protection_rules_vault_id_fkey,
ADD CONSTRAINT protection_rules_vault_id_fkey FOREIGN KEY (tenant_id, vault_id)
REFERENCES credit_vaults (tenant_id, id) ON DELETE CASCADE;
ALTER TABLE document_chunks
DROP CONSTRAINT document_chunks_document_id_fkey,
ADD CONSTRAINT document_chunks_document_id_fkey FOREIGN KEY (tenant_id, document_id)
REFERENCES documents (tenant_id, id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED;

-- The listings' indexes lead with tenant_id: a tenant's range is one index range.
DROP INDEX agents_credibility_tier_id_idx;
CREATE INDEX agents_tenant_id_credibility_tier_id_idx
ON agents (tenant_id, credibility_tier, id);
DROP INDEX credit_vaults_agent_id_id_idx;
CREATE INDEX credit_vaults_tenant_id_agent_id_id_idx
ON credit_vaults (tenant_id, agent_id, id);
DROP INDEX credit_vaults_chain_id_id_idx;
CREATE INDEX credit_vaults_tenant_id_chain_id_id_idx
ON credit_vaults (tenant_id, chain_id, id);
DROP INDEX credit_vaults_ltv_id_idx;
CREATE INDEX credit_vaults_tenant_id_ltv_id_idx ON credit_vaults (tenant_id, ltv, id);
DROP INDEX risk_alerts_vault_id_id_idx;
CREATE INDEX risk_alerts_tenant_id_vault_id_id_idx
ON risk_alerts (tenant_id, vault_id, id);
DROP INDEX risk_alerts_open_vault_id_id_idx;
CREATE INDEX risk_alerts_tenant_id_open_vault_id_id_idx
ON risk_alerts (tenant_id, vault_id, id)
WHERE status != 'resolved';
DROP INDEX risk_alerts_open_severity_id_idx;
CREATE INDEX risk_alerts_tenant_id_open_severity_id_idx
ON risk_alerts (tenant_id, severity, id)
WHERE status != 'resolved';
DROP INDEX liquidation_events_vault_id_occurred_at_id_idx;
CREATE INDEX liquidation_events_tenant_id_vault_id_occurred_at_id_idx
ON liquidation_events (tenant_id, vault_id, occurred_at, id);
DROP INDEX liquidation_events_occurred_at_id_idx;
CREATE INDEX liquidation_events_tenant_id_occurred_at_id_idx
ON liquidation_events (tenant_id, occurred_at, id);
DROP INDEX protection_rules_enabled_vault_id_priority_idx;
CREATE INDEX protection_rules_tenant_id_enabled_vault_id_priority_idx
ON protection_rules (tenant_id, vault_id, priority DESC, id)
WHERE enabled;
DROP INDEX documents_owner_type_owner_id_id_idx;
CREATE INDEX documents_tenant_id_owner_type_owner_id_id_idx
ON documents (tenant_id, owner_type, owner_id, id);

-- The policies: a session sees and writes only its tenant's rows.
ALTER TABLE agents ENABLE ROW LEVEL SECURITY;
ALTER TABLE agents FORCE ROW LEVEL SECURITY;
CREATE POLICY agents_tenant ON agents
USING (tenant_id = current_setting('vaultstore.tenant', true))
WITH CHECK (tenant_id = current_setting('vaultstore.tenant', true));

ALTER TABLE credit_vaults ENABLE ROW LEVEL SECURITY;
ALTER TABLE credit_vaults FORCE ROW LEVEL SECURITY;
CREATE POLICY credit_vaults_tenant ON credit_vaults
USING (tenant_id = current_setting('vaultstore.tenant', true))
WITH CHECK (tenant_id = current_setting('vaultstore.tenant', true));

ALTER TABLE risk_alerts ENABLE ROW LEVEL SECURITY;
ALTER TABLE risk_alerts FORCE ROW LEVEL SECURITY;
CREATE POLICY risk_alerts_tenant ON risk_alerts
USING (tenant_id = current_setting('vaultstore.tenant', true))
WITH CHECK (tenant_id = current_setting('vaultstore.tenant', true));

ALTER TABLE liquidation_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE liquidation_events FORCE ROW LEVEL SECURITY;
CREATE POLICY liquidation_events_tenant ON liquidation_events
USING (tenant_id = current_setting('vaultstore.tenant', true))
WITH CHECK (tenant_id = current_setting('vaultstore.tenant', true));

ALTER TABLE protection_rules ENABLE ROW LEVEL SECURITY;
ALTER TABLE protection_rules FORCE ROW LEVEL SECURITY;
CREATE POLICY protection_rules_tenant ON protection_rules
USING (tenant_id = current_setting('vaultstore.tenant', true))
WITH CHECK (tenant_id = current_setting('vaultstore.tenant', true));

ALTER TABLE documents ENABLE ROW LEVEL SECURITY;
ALTER TABLE documents FORCE ROW LEVEL SECURITY;
CREATE POLICY documents_tenant ON documents
USING (tenant_id = current_setting('vaultstore.tenant', true))
WITH CHECK (tenant_id = current_setting('vaultstore.tenant', true));

ALTER TABLE document_chunks ENABLE ROW LEVEL SECURITY;
ALTER TABLE document_chunks FORCE ROW LEVEL SECURITY;
CREATE POLICY document_chunks_tenant ON document_chunks
USING (tenant_id = current_setting('vaultstore.tenant', true))
WITH CHECK (tenant_id = current_setting('vaultstore.tenant', true));
