-- Statements of tests/test_tracing.py: a row lock held by a second session, and
-- what pg_stat_activity shows of the sessions waiting for it.

-- name: lock_vault(id)$
-- Lock one vault until the end of the transaction, as a slow writer would.
SELECT id FROM credit_vaults
WHERE id = :id
FOR UPDATE;

-- name: blocked_by(pid)
-- The statements of the sessions waiting for a lock that session :pid holds.
SELECT query FROM pg_stat_activity
WHERE :pid = any(pg_blocking_pids(pid));
