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
-- Behind a transaction pooler (transaction_pooling), where a session setting
-- would stay on a server connection that other clients share, it also carries
-- the store's operation timeout: at the start of each transaction, and before
-- each statement outside one, in the same query and implicit transaction.
SELECT set_config('statement_timeout', cast(:milliseconds AS text), true);

-- name: configure_session(timezone, statement_timeout)!
-- Each new pooled connection: vaultstore's session defaults, timestamps in UTC
-- and the operation timeout, except for those the connection string (its
-- options, PGOPTIONS or a service file: source 'client') sets itself.
SELECT set_config(ours.name, ours.setting, false)
FROM
    (
        VALUES ('TimeZone', :timezone), ('statement_timeout', :statement_timeout)
    ) AS ours (name, setting)
INNER JOIN pg_settings ON ours.name = pg_settings.name
WHERE pg_settings.source <> 'client';

-- name: replica_position()^
-- A read replica, checked before it serves reads (once a second, and while a
-- read waits for it to replay this store's latest write): how far it has
-- replayed the primary's WAL, in bytes, and whether it is a standby at all.
SELECT
    cast(pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0') AS bigint) AS replayed,
    pg_is_in_recovery() AS in_recovery;

-- name: primary_position()$
-- The primary's WAL position in bytes, after a store's writes (what its reads
-- on a replica must see) and to measure how far each replica lags behind.
SELECT cast(pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0') AS bigint);

-- name: set_session_time_zone(timezone)!
-- Each new pooled connection behind a transaction pooler (transaction_pooling):
-- timestamps in UTC. The server reports TimeZone to its client, so a pooler
-- such as PgBouncer keeps it per client, setting it again on whichever server
-- connection serves the next transaction; the operation timeout, which no
-- pooler keeps, is set in every transaction instead (set_operation_timeout).
SELECT set_config('TimeZone', :timezone, false);

-- name: set_session_scope(tenant, actor, audit)!
-- The tenant, actor and audit switch of the store whose call a pooled connection
-- serves next, when its last call was another scope's (vaultstore remembers each
-- connection's): what the row-level security policies of the tenant-owned tables
-- read (current_setting('vaultstore.tenant', true)), and the audit trigger
-- (vaultstore.actor; vaultstore.audit 'off': no audit rows). A connection that
-- never had one sees no tenant's rows. Behind a transaction pooler,
-- set_call_scope instead.
SELECT
    set_config('vaultstore.tenant', :tenant, false) AS tenant,
    set_config('vaultstore.actor', :actor, false) AS actor,
    set_config('vaultstore.audit', :audit, false) AS audit_setting;

-- name: set_call_scope(milliseconds, tenant, actor, audit)$
-- Behind a transaction pooler (transaction_pooling), where no session setting
-- holds: the operation timeout, tenant, actor and audit switch, local to the
-- transaction, sent
-- before each statement outside a transaction in the same query (one implicit
-- transaction, one round trip) and at the start of each transaction.
SELECT
    set_config('statement_timeout', cast(:milliseconds AS text), true)
    || set_config('vaultstore.tenant', :tenant, true)
    || set_config('vaultstore.actor', :actor, true)
    || set_config('vaultstore.audit', :audit, true);

-- name: server_state()^
-- What store.health() reports of the server: its version, whether it is a
-- standby (in recovery), and, on a standby, how long ago the last transaction it
-- replayed was committed on the primary (NULL on a primary).
SELECT
    current_setting('server_version') AS postgres_version,
    pg_is_in_recovery() AS in_recovery,
    CASE
        WHEN pg_is_in_recovery()
            THEN extract(EPOCH FROM now() - pg_last_xact_replay_timestamp())
    END AS replay_lag_seconds;

-- name: migration_checksums()
-- The applied migrations with the checksums migrations/post-apply.py recorded
-- when yoyo applied them last, for store.health() (vaultstore check reads the
-- same from vaultstore/admin/sql/drift.sql, on databases of any age).
SELECT
    m.migration_id,
    c.sha256,
    c.rollback_sha256,
    c.migration_id IS NOT null AS recorded
FROM _yoyo_migration AS m
LEFT JOIN vaultstore_migration_checksums AS c
    ON
        m.migration_id = c.migration_id
        AND c.applied_at = m.applied_at_utc AT TIME ZONE 'UTC'
ORDER BY m.applied_at_utc, m.migration_id;
