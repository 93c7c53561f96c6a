-- Risk alerts raised on vaults. Open means not resolved: an acknowledged alert
-- is still open. Listings are keyset-paginated on id (creation order).

-- name: insert(id, vault_id, alert_type, severity, message, status, acknowledged_at, resolved_at, created_at, updated_at, version)!
-- Store a new alert. An unknown vault_id fails on risk_alerts_vault_id_fkey.
INSERT INTO risk_alerts (
    id, vault_id, alert_type, severity, message, status,
    acknowledged_at, resolved_at, created_at, updated_at, version
) VALUES (
    :id, :vault_id, :alert_type, :severity, :message, :status,
    :acknowledged_at, :resolved_at, :created_at, :updated_at, :version
);

-- name: find_by_id(id)^
-- One alert by id, or no row.
SELECT * FROM risk_alerts
WHERE id = :id;

-- name: lock_by_id(id, vault_id)^
-- One row, locked against other writers until the end of the transaction
-- (store.transaction()'s repositories' lock(id)).
-- lock(id) reads the row first (find_by_id) for its vault_id, which never
-- changes: by it the lock goes to one shard on Citus (distributed by vault_id;
-- Citus takes row locks in single-shard statements only), a probe of
-- risk_alerts_pkey (id, vault_id). No row: it was deleted since it was read.
SELECT * FROM risk_alerts
WHERE
    id = :id
    AND vault_id = :vault_id
FOR UPDATE;

-- name: list_after(after, limit)
-- All alerts in creation order, one page after the id :after.
SELECT * FROM risk_alerts
WHERE id > :after
ORDER BY id
LIMIT :limit;

-- name: find_by_vault(vault_id, after, limit)
-- Every alert of a vault, resolved or not, in creation order.
SELECT * FROM risk_alerts
WHERE vault_id = :vault_id AND id > :after
ORDER BY id
LIMIT :limit;

-- name: find_open_by_vault(vault_id, after, limit)
-- The unresolved alerts of a vault (partial index risk_alerts_open_vault_id_id_idx).
SELECT * FROM risk_alerts
WHERE vault_id = :vault_id AND status != 'resolved' AND id > :after
ORDER BY id
LIMIT :limit;

-- name: find_open_by_severity(severity, after, limit)
-- The unresolved alerts of one severity (partial index risk_alerts_open_severity_id_idx).
SELECT * FROM risk_alerts
WHERE severity = :severity AND status != 'resolved' AND id > :after
ORDER BY id
LIMIT :limit;

-- name: update(id, changed, severity, message, expected_version)<!
-- One statement: each column named in :changed (a text[]) takes its new value,
-- the others keep theirs. The CHECK constraints judge the row as a whole (the
-- rules across columns too); updated_at is set by trigger, version counts up. No
-- row: no such id, or it is not at :expected_version (when one is given).
UPDATE risk_alerts SET
    version = version + 1,
    severity = CASE
        WHEN 'severity' = any(:changed) THEN :severity
        ELSE severity
    END,
    message = CASE
        WHEN 'message' = any(:changed) THEN :message
        ELSE message
    END
WHERE
    id = :id
    AND (cast(:expected_version AS integer) IS NULL OR version = :expected_version)
RETURNING *;

-- name: acknowledge(id, expected_version)<!
-- Mark an open alert as seen. No row when the alert is already acknowledged,
-- resolved or unknown (the repository tells which).
UPDATE risk_alerts
SET version = version + 1, status = 'acknowledged', acknowledged_at = now()
WHERE
    id = :id AND status = 'open'
    AND (cast(:expected_version AS integer) IS NULL OR version = :expected_version)
RETURNING *;

-- name: resolve(id, expected_version)<!
-- Close an alert. No row when it is already resolved or unknown.
UPDATE risk_alerts
SET version = version + 1, status = 'resolved', resolved_at = now()
WHERE
    id = :id AND status != 'resolved'
    AND (cast(:expected_version AS integer) IS NULL OR version = :expected_version)
RETURNING *;

-- name: delete(id, expected_version)!
-- Delete one alert.
DELETE FROM risk_alerts
WHERE
    id = :id
    AND (cast(:expected_version AS integer) IS NULL OR version = :expected_version);

-- Whole datasets, as `vaultstore copy` moves them between databases.

-- name: copy_in(id, vault_id, alert_type, severity, message, status, acknowledged_at, resolved_at, created_at, updated_at, version)*!
-- Store whole rows of risk alerts as they are (restore(): ids, versions and
-- timestamps kept), a batch at a time inside a transaction, pipelined. Not a
-- COPY: PostgreSQL refuses COPY FROM into a table under row-level security.
INSERT INTO risk_alerts (
    id, vault_id, alert_type, severity, message, status, acknowledged_at,
    resolved_at, created_at, updated_at, version
) VALUES (
    :id, :vault_id, :alert_type, :severity, :message, :status, :acknowledged_at,
    :resolved_at, :created_at, :updated_at, :version
);

-- name: count()
-- How many alerts are stored.
SELECT count(*) AS total FROM risk_alerts;

-- name: find_last()^
-- The alert with the greatest id (the last one created), or no row.
SELECT * FROM risk_alerts
ORDER BY id DESC
LIMIT 1;
