-- Risk alerts raised on vaults. Open means not resolved: an acknowledged alert
-- is still open. Listings are keyset-paginated on id (creation order).

-- name: insert(id, vault_id, alert_type, severity, message, status, acknowledged_at, resolved_at, created_at, updated_at)!
-- Store a new alert. An unknown vault_id fails on risk_alerts_vault_id_fkey.
INSERT INTO risk_alerts (
    id, vault_id, alert_type, severity, message, status,
    acknowledged_at, resolved_at, created_at, updated_at
) VALUES (
    :id, :vault_id, :alert_type, :severity, :message, :status,
    :acknowledged_at, :resolved_at, :created_at, :updated_at
);

-- name: find_by_id(id)^
-- One alert by id, or no row.
SELECT * FROM risk_alerts
WHERE id = :id;

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

-- name: update(id, changed, severity, message)<!
-- One statement: each column named in :changed (a text[]) takes its new value,
-- the others keep theirs. The CHECK constraints judge the row as a whole (the
-- rules across columns too); updated_at is set by trigger. No row: no such id.
UPDATE risk_alerts SET
    severity = CASE
        WHEN 'severity' = any(:changed) THEN :severity
        ELSE severity
    END,
    message = CASE
        WHEN 'message' = any(:changed) THEN :message
        ELSE message
    END
WHERE id = :id
RETURNING *;

-- name: acknowledge(id)<!
-- Mark an open alert as seen. No row when the alert is already acknowledged,
-- resolved or unknown (the repository tells which).
UPDATE risk_alerts
SET status = 'acknowledged', acknowledged_at = now()
WHERE id = :id AND status = 'open'
RETURNING *;

-- name: resolve(id)<!
-- Close an alert. No row when it is already resolved or unknown.
UPDATE risk_alerts
SET status = 'resolved', resolved_at = now()
WHERE id = :id AND status != 'resolved'
RETURNING *;

-- name: delete(id)!
-- Delete one alert.
DELETE FROM risk_alerts
WHERE id = :id;
