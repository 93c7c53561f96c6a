-- Health checks for operators.

-- name: ping()$
-- A round trip to the server, for store.ping().
SELECT 1;

-- name: applied_migrations()
-- The migrations yoyo has applied here, for store.pending_migrations() and the
-- hint of an error on a database not (fully) migrated.
SELECT migration_id FROM _yoyo_migration
ORDER BY migration_id;
