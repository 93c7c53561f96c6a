-- Statements of tests/test_pgbouncer.py: what a client finds in the server
-- session PgBouncer hands it, and how long a store's statement has waited for
-- a lock.

-- name: setting(name)$
-- A parameter's value in the session serving this statement.
SELECT current_setting(:name);

-- name: prepared_statements()$
-- How many statements are prepared in the session serving this statement.
SELECT count(*) FROM pg_prepared_statements;

-- name: longest_wait_behind(pid)$
-- Seconds the longest-waiting statement behind a lock of session :pid has run
-- (0 when none waits).
SELECT coalesce(max(extract(EPOCH FROM clock_timestamp() - query_start)), 0)
FROM pg_stat_activity
WHERE :pid = any(pg_blocking_pids(pid));
