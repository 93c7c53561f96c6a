-- Statements of tests/test_errors.py: a role that may hold two connections at
-- most, so that the server refuses a third with "too many connections" (53300).

-- name: limited_role_exists()$
-- Whether a run that failed left the role behind.
SELECT count(*) > 0 FROM pg_roles
WHERE rolname = 'vaultstore_limited';

-- name: create_limited_role()!
-- The role: not a superuser, whom connection limits do not bind.
CREATE ROLE vaultstore_limited LOGIN CONNECTION LIMIT 2;

-- name: grant_limited_role()!
-- What the store does with it in the test: read and write every table.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public
TO vaultstore_limited;

-- name: disown_limited_role()!
-- Its privileges, gone, so that the role can be dropped.
DROP OWNED BY vaultstore_limited;

-- name: drop_limited_role()!
-- The role, gone.
DROP ROLE vaultstore_limited;

-- name: limited_role_sessions()
-- The store's sessions as that role.
SELECT pid FROM pg_stat_activity
WHERE usename = 'vaultstore_limited' AND application_name = 'vaultstore'
ORDER BY pid;

-- name: terminate(pid)$
-- One session, ended by the server, as an administrator or a failover would.
SELECT pg_terminate_backend(:pid);

-- name: session_count(pid)$
-- Whether a session is still there (a terminated one takes a moment to go).
SELECT count(*) FROM pg_stat_activity
WHERE pid = :pid;
