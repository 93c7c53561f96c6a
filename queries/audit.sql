-- The audit trail (migration 0016): store.audit reads it. Its rows are appended
-- by the trigger vaultstore_audit, in the transaction of each write; a batch's
-- one row by record_batch. Row-level security shows a session its tenant's rows
-- only; the reads name the tenant too, so that its index serves a session that
-- bypasses the policies (a superuser) and Citus routes them to one shard. A
-- record's position in a listing is (written_at, id): id counts up.

-- name: history(entity_type, entity_id, after_at, after_id, limit)
-- One entity's records, oldest first, one page after the record (:after_at,
-- :after_id) (index audit_log_tenant_id_entity_type_entity_id_written_at_id_idx).
SELECT
    id,
    written_at,
    actor,
    operation_name,
    write_kind,
    entity_type,
    entity_id,
    version_before,
    version_after,
    cast(changes AS text) AS changes,
    row_count
FROM audit_log
WHERE
    tenant_id = current_setting('vaultstore.tenant', true)
    AND entity_type = :entity_type
    AND entity_id = :entity_id
    AND (written_at, id)
    > (:after_at, coalesce(cast(nullif(:after_id, '') AS bigint), 0))
ORDER BY written_at, id
LIMIT :limit;

-- name: by_actor(actor, after_at, after_id, until, limit)
-- One actor's records in [since, :until), oldest first, one page after the record
-- (:after_at, :after_id) (index audit_log_tenant_id_actor_written_at_id_idx).
SELECT
    id,
    written_at,
    actor,
    operation_name,
    write_kind,
    entity_type,
    entity_id,
    version_before,
    version_after,
    cast(changes AS text) AS changes,
    row_count
FROM audit_log
WHERE
    tenant_id = current_setting('vaultstore.tenant', true)
    AND actor = :actor
    AND (written_at, id)
    > (:after_at, coalesce(cast(nullif(:after_id, '') AS bigint), 0))
    AND written_at < :until
ORDER BY written_at, id
LIMIT :limit;

-- name: begin_batch()$
-- Before a batch (bulk_insert, restore, update_metrics_many): the row triggers
-- stand aside for the rest of the transaction, or until record_batch.
SELECT set_config('vaultstore.audit', 'batch', true);

-- name: record_batch(operation, action, entity_type, row_count)!
-- After a batch: its one audit row, with how many rows it wrote (none for a
-- batch that wrote none), and the row triggers back on for the rest of the
-- transaction.
WITH resumed AS (
    SELECT set_config('vaultstore.audit', 'on', true) AS audit_setting
)

INSERT INTO audit_log (
    tenant_id, actor, operation_name, write_kind, entity_type, row_count
)
SELECT
    coalesce(nullif(current_setting('vaultstore.tenant', true), ''), 'default')
        AS tenant_id,
    nullif(current_setting('vaultstore.actor', true), '') AS actor,
    :operation AS operation_name,
    :action AS write_kind,
    :entity_type AS entity_type,
    :row_count AS row_count
FROM resumed
WHERE resumed.audit_setting = 'on' AND :row_count > 0;
