-- Statements behind `vaultstore partitions`: market_data's monthly partitions
-- (migration 0012), made ahead of time and dropped past the retention. The DDL
-- that names a partition (DETACH, DROP) is composed in vaultstore/admin/partitions.py
-- with psycopg.sql identifiers; making one is market_data_create_partition().

-- name: try_lock(key)^
-- One run at a time (cron jobs on several hosts): a session-level advisory lock,
-- not waited for; released by unlock() or when the connection closes.
SELECT pg_try_advisory_lock(:key) AS is_locked;

-- name: unlock(key)^
-- Release try_lock's lock.
SELECT pg_advisory_unlock(:key) AS unlocked;

-- name: server_version()^
-- The server's version as a number (150020): DETACH CONCURRENTLY, and
-- pg_inherits.inhdetachpending, need 140000.
SELECT current_setting('server_version_num')::integer AS version;

-- name: partitions()
-- market_data's partitions, oldest first, with their bounds and whether a DETACH
-- CONCURRENTLY was interrupted (detach_pending), which FINALIZE ends.
SELECT
    c.relname AS partition_name,
    i.inhdetachpending AS detach_pending,
    b.bounds[1]::timestamptz AS lower_bound,
    b.bounds[2]::timestamptz AS upper_bound
FROM pg_inherits AS i
INNER JOIN pg_class AS c ON i.inhrelid = c.oid
CROSS JOIN
    LATERAL regexp_match(
        pg_get_expr(c.relpartbound, c.oid), 'FROM \(''([^'']*)''\) TO \(''([^'']*)''\)'
    ) AS b (bounds)
WHERE i.inhparent = 'market_data'::regclass
ORDER BY lower_bound, c.relname;

-- name: detached()
-- Tables named as market_data's partitions (market_data_YYYY_MM) that are none:
-- detached by a run that stopped before dropping them.
SELECT c.relname AS partition_name
FROM pg_class AS c
WHERE
    c.relkind = 'r'
    AND NOT c.relispartition
    AND c.relname ~ '^market_data_[0-9]{4}_[0-9]{2}$'
    AND c.relnamespace = (
        SELECT m.relnamespace FROM pg_class AS m
        WHERE m.oid = 'market_data'::regclass
    )
ORDER BY c.relname;

-- name: create_partition(month)^
-- The partition of the month holding :month, made unless it exists (its name, or
-- null when it was there): CREATE TABLE LIKE market_data, then ATTACH PARTITION,
-- which locks market_data in SHARE UPDATE EXCLUSIVE mode (reads and writes go on).
SELECT market_data_create_partition(:month) AS created;
