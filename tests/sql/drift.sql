-- Statements of tests/test_drift.py.

-- name: checksums()
-- What migrations/post-apply.py recorded, by migration.
SELECT
    migration_id,
    sha256,
    rollback_sha256
FROM vaultstore_migration_checksums
ORDER BY migration_id;

-- name: forget_checksum(migration_id)!
-- Lose one migration's checksums, as if it had been applied without the hook.
DELETE FROM vaultstore_migration_checksums
WHERE migration_id = :migration_id;
