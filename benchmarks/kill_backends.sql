-- Terminate every vaultstore session on the current database (benchmarks/faults.py):
-- what a failover or an administrator does to a running application.
SELECT pg_terminate_backend(pid)
FROM pg_stat_activity
WHERE
    datname = current_database()
    AND application_name = 'vaultstore'
    AND pid <> pg_backend_pid();
