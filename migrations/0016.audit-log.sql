-- The audit trail: one row per write to an entity or a document, appended in the
-- transaction of the write by triggers, so that a write that rolls back leaves
-- none and a committed one always has one, whoever made it (vaultstore, psql, a
-- data migration). A row says when (the statement's start), the tenant, the
-- actor (vaultstore.actor, set by vaultstore per call; NULL when none was given),
-- the database role, the operation (the vaultstore statement that wrote, read from
-- the comment that starts it: `vaults.update_metrics`; NULL for a write made
-- outside vaultstore), the entity and its id, its version before and after, and
-- the fields that changed with their old and new values (exact numerics: jsonb
-- keeps a numeric's every digit). See "Tenants, roles and audit" in the README.
--
-- Batches (bulk_insert, restore, update_metrics_many) are one row per batch with
-- its row count, written by vaultstore (queries/audit.sql record_batch): during a
-- batch vaultstore sets vaultstore.audit to 'batch' for its transaction, and the
-- row triggers stand aside. vaultstore.audit 'off' (a store opened with
-- audit=False, for backfills) writes no row at all.
--
-- Append-only: row-level security lets a session read and append its tenant's
-- rows, and no policy allows UPDATE or DELETE, for the owner too (FORCE); the
-- application role is granted only SELECT and INSERT (`vaultstore roles`).
--
-- LOCKING: a short ACCESS EXCLUSIVE on each audited table while its trigger is
-- created; nothing is rewritten.
-- depends: 0015.tenants

CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY,
    tenant_id text NOT NULL,
    written_at timestamptz (3) NOT NULL DEFAULT statement_timestamp(),
    actor text,
    database_role text NOT NULL DEFAULT session_user,
    operation_name text,
    write_kind text NOT NULL,
    entity_type text NOT NULL,
    entity_id text,
    version_before integer,
    version_after integer,
    changes jsonb NOT NULL DEFAULT '{}',
    row_count integer NOT NULL DEFAULT 1,
    CONSTRAINT audit_log_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT audit_log_write_kind_check CHECK (write_kind IN ('insert', 'update', 'delete')),
    CONSTRAINT audit_log_changes_check CHECK (jsonb_typeof(changes) = 'object'),
    CONSTRAINT audit_log_row_count_check CHECK (row_count >= 1)
);

-- store.audit.history: one entity's trail, oldest first.
CREATE INDEX audit_log_tenant_id_entity_type_entity_id_written_at_id_idx
ON audit_log (tenant_id, entity_type, entity_id, written_at, id);

-- store.audit.by_actor: one actor's writes in a time range, oldest first.
CREATE INDEX audit_log_tenant_id_actor_written_at_id_idx
ON audit_log (tenant_id, actor, written_at, id);

ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_log_read ON audit_log FOR SELECT
USING (tenant_id = current_setting('vaultstore.tenant', true));
-- A write of shared market data by a session without a tenant is the default
-- tenant's (the tenant-owned tables refuse such a session before it gets here).
CREATE POLICY audit_log_append ON audit_log FOR INSERT
WITH CHECK (
    tenant_id = coalesce(nullif(current_setting('vaultstore.tenant', true), ''), 'default')
);

-- One row of audit_log for the row written; TG_ARGV[0] is the entity's name in
-- vaultstore's registry (vaults for credit_vaults). The changes leave out what
-- the row says elsewhere (id, version) or what every write changes (updated_at),
-- and a field that is null on both sides; an update that changed no field and no
-- version (none of vaultstore's) writes nothing.
CREATE FUNCTION vaultstore_audit() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    before jsonb;
    after jsonb;
    changed jsonb;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        before := to_jsonb(OLD);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        after := to_jsonb(NEW);
    END IF;
    SELECT coalesce(
        jsonb_object_agg(key, jsonb_build_object('old', before -> key, 'new', after -> key)),
        '{}'
    )
    INTO changed
    FROM jsonb_object_keys(coalesce(after, before)) AS key
    WHERE key <> ALL ('{id,tenant_id,version,created_at,updated_at}'::text [])
        AND coalesce(before -> key, 'null') IS DISTINCT FROM coalesce(after -> key, 'null');
    IF changed = '{}' AND (before -> 'version') IS NOT DISTINCT FROM (after -> 'version') THEN
        RETURN NULL;
    END IF;
    INSERT INTO audit_log (
        tenant_id, actor, operation_name, write_kind, entity_type, entity_id,
        version_before, version_after, changes
    ) VALUES (
        coalesce(
            after ->> 'tenant_id',
            before ->> 'tenant_id',
            nullif(current_setting('vaultstore.tenant', true), ''),
            'default'
        ),
        nullif(current_setting('vaultstore.actor', true), ''),
        (regexp_match(current_query(), '.*/\* vaultstore \S+ (\S+) \*/'))[1],
        lower(TG_OP),
        TG_ARGV[0],
        coalesce(after, before) ->> 'id',
        cast(before ->> 'version' AS integer),
        cast(after ->> 'version' AS integer),
        changed
    );
    RETURN NULL;
END;
$$;

CREATE TRIGGER agents_audit AFTER INSERT OR UPDATE OR DELETE ON agents
FOR EACH ROW
WHEN (coalesce(current_setting('vaultstore.audit', true), '') NOT IN ('off', 'batch'))
EXECUTE FUNCTION vaultstore_audit('agents');

CREATE TRIGGER credit_vaults_audit AFTER INSERT OR UPDATE OR DELETE ON credit_vaults
FOR EACH ROW
WHEN (coalesce(current_setting('vaultstore.audit', true), '') NOT IN ('off', 'batch'))
EXECUTE FUNCTION vaultstore_audit('vaults');

CREATE TRIGGER risk_alerts_audit AFTER INSERT OR UPDATE OR DELETE ON risk_alerts
FOR EACH ROW
WHEN (coalesce(current_setting('vaultstore.audit', true), '') NOT IN ('off', 'batch'))
EXECUTE FUNCTION vaultstore_audit('alerts');

CREATE TRIGGER liquidation_events_audit
AFTER INSERT OR UPDATE OR DELETE ON liquidation_events
FOR EACH ROW
WHEN (coalesce(current_setting('vaultstore.audit', true), '') NOT IN ('off', 'batch'))
EXECUTE FUNCTION vaultstore_audit('liquidations');

CREATE TRIGGER protection_rules_audit
AFTER INSERT OR UPDATE OR DELETE ON protection_rules
FOR EACH ROW
WHEN (coalesce(current_setting('vaultstore.audit', true), '') NOT IN ('off', 'batch'))
EXECUTE FUNCTION vaultstore_audit('protection_rules');

CREATE TRIGGER market_data_audit AFTER INSERT OR UPDATE OR DELETE ON market_data
FOR EACH ROW
WHEN (coalesce(current_setting('vaultstore.audit', true), '') NOT IN ('off', 'batch'))
EXECUTE FUNCTION vaultstore_audit('market_data');

CREATE TRIGGER documents_audit AFTER INSERT OR DELETE ON documents
FOR EACH ROW
WHEN (coalesce(current_setting('vaultstore.audit', true), '') NOT IN ('off', 'batch'))
EXECUTE FUNCTION vaultstore_audit('documents');
