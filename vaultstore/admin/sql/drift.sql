-- Catalog queries behind migration_drift(): which migrations yoyo has applied, and
-- the checksums migrations/post-apply.py recorded for them.

-- name: history_exists()^
-- Whether yoyo's history table and the checksum table (migration 0009) exist.
SELECT
    to_regclass('_yoyo_migration') IS NOT NULL AS has_history,
    to_regclass('vaultstore_migration_checksums') IS NOT NULL AS has_checksums;

-- name: applied()
-- The applied migrations, oldest first, when no checksum table exists.
SELECT
    migration_id,
    NULL AS sha256,
    NULL AS rollback_sha256,
    FALSE AS recorded
FROM _yoyo_migration
ORDER BY applied_at_utc, migration_id;

-- name: applied_with_checksums()
-- The applied migrations, oldest first, with the checksums recorded when yoyo
-- applied them last; recorded is false when there are none for that application
-- (applied before migration 0009, or by a yoyo run without the post-apply hook).
SELECT
    m.migration_id,
    c.sha256,
    c.rollback_sha256,
    c.migration_id IS NOT NULL AS recorded
FROM _yoyo_migration AS m
LEFT JOIN vaultstore_migration_checksums AS c
    ON
        m.migration_id = c.migration_id
        AND c.applied_at = m.applied_at_utc AT TIME ZONE 'UTC'
ORDER BY m.applied_at_utc, m.migration_id;
