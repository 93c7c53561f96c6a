-- The change feed (migration 0017): store.watch reads it. Its rows are appended
-- by the trigger vaultstore_change_feed, in the transaction of each write, which
-- also notifies the channel vaultstore_changes. A watcher runs these on a
-- connection of its own (not a pooled one: it listens), in autocommit, as its
-- store's scope: row-level security shows it its tenant's rows and the shared
-- ones. Positions are taken in order but may commit out of order, so a reader
-- delivers them contiguously and waits out a gap (see "Change feed" in the
-- README): in_progress and finished tell when a gap is for good.

-- name: listen()!
-- Wake this connection when a write commits (one notification per transaction).
LISTEN vaultstore_changes;

-- name: read_after(after, limit)
-- The changes after position :after, in position order
-- (index change_feed_change_position_idx).
SELECT
    change_position,
    tenant_id,
    entity_type,
    change_kind,
    entity_id,
    entity_version,
    cast(entity_after AS text) AS entity_after
FROM change_feed
WHERE change_position > :after
ORDER BY change_position
LIMIT :limit;

-- name: last_position()$
-- Where a feed that resumes from nothing starts: the last position this
-- session sees (index change_feed_change_position_idx, read backwards).
SELECT coalesce(max(change_position), 0) FROM change_feed;

-- name: in_progress()$
-- The transactions of this database in progress now (their ids, 32 bits), read
-- after a gap was seen: every position missing below the last one read was
-- taken by one of them, or is for good (rolled back, another tenant's, never
-- used). Read from pg_stat_activity (which shows every session's backend_xid to
-- every role) and pg_prepared_xacts, not from pg_snapshot_xip: a snapshot leaves
-- out the transactions that took their id after the last one that ended, and
-- those of other databases would hold the feed back for nothing.
SELECT
    cast(
        array(
            SELECT cast(backend_xid AS text) FROM pg_stat_activity
            WHERE datname = current_database() AND backend_xid IS NOT NULL
            UNION
            SELECT cast(transaction AS text) FROM pg_prepared_xacts
            WHERE database = current_database()
        ) AS text[]
    );

-- name: finished(xids)$
-- Whether none of the transactions :xids (in_progress's) is in progress any
-- more: then a read after this one sees whatever they committed. A transaction
-- leaves these lists only once a new snapshot sees what it committed (not
-- pg_xact_status, which says committed a moment before that).
SELECT
    NOT cast(:xids AS text[])
    && cast(
        array(
            SELECT cast(backend_xid AS text) FROM pg_stat_activity
            WHERE datname = current_database() AND backend_xid IS NOT NULL
            UNION
            SELECT cast(transaction AS text) FROM pg_prepared_xacts
            WHERE database = current_database()
        ) AS text[]
    );

-- name: pruned_through()$
-- The last position vaultstore prune-changes deleted (0 if none): a resume
-- token at or before it may have missed changes.
SELECT coalesce(max(pruned_through), 0) FROM change_feed_pruned;

-- name: prune(cutoff)$
-- vaultstore prune-changes: delete the changes written before :cutoff (index
-- change_feed_written_at_idx) and remember the last position deleted; how many
-- were deleted. Needs DELETE on change_feed: the migrator's, not the
-- application role's.
WITH gone AS (
    DELETE FROM change_feed
    WHERE written_at < :cutoff
    RETURNING change_position
),

horizon AS (
    INSERT INTO change_feed_pruned (singleton, pruned_through)
    SELECT
        TRUE AS singleton,
        max(gone.change_position) AS pruned_through
    FROM gone
    HAVING count(*) > 0
    ON CONFLICT (singleton) DO UPDATE
        SET
            pruned_through = greatest(
                change_feed_pruned.pruned_through, excluded.pruned_through
            ),
            pruned_at = statement_timestamp()
)

SELECT count(*) FROM gone;
