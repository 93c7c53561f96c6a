-- Health checks for operators.

-- name: ping()$
-- A round trip to the server, for store.ping().
SELECT 1;

-- name: applied_migrations()
-- The migrations yoyo has applied here, for store.pending_migrations() and the
-- hint of an error on a database not (fully) migrated.
SELECT migration_id FROM _yoyo_migration
ORDER BY migration_id;

-- name: set_operation_timeout(milliseconds)$
-- store.transaction(timeout=...): how long each statement of this transaction
-- may run, waiting for a lock included, instead of the store's operation
-- timeout. Local to the transaction: the pooled connection keeps its own.
SELECT set_config('statement_timeout', cast(:milliseconds AS text), true);
