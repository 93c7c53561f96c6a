-- The change feed (store.watch): one row per committed write to an entity,
-- appended by statement triggers in the transaction of the write, so that a write that
-- rolls back leaves none and a committed one always has one, whoever made it
-- (vaultstore, COPY of bulk_insert and restore, update_metrics_many, psql).
-- A row says where it stands in the feed (position, counted by an identity, its
-- sequence cached one value at a time so that positions follow the order they
-- were taken in), the entity's registry name, the operation, its id, version
-- (for a delete, the version it had), the tenant ('*' for shared market data,
-- which every tenant's feed shows) and the row after the change as jsonb (numbers
-- keep every digit; NULL for a delete). Each write also notifies the channel
-- vaultstore_changes (one notification per transaction), which wakes listeners;
-- they read by position (queries/changes.sql). An update that changed nothing but
-- updated_at makes no row.
--
-- Old rows are pruned by `vaultstore prune-changes` (as the migrator: the
-- application role may only append and read); change_feed_pruned remembers the
-- last position pruned, so that a resume token older than it is refused rather
-- than silently missing changes.
--
-- Row-level security: a session reads its tenant's rows and the shared ones, and
-- appends its tenant's (and shared ones); a role that may delete from the table
-- (its owner, the migrator) reads and prunes every tenant's.
--
-- LOCKING: a short ACCESS EXCLUSIVE on each entity table while its trigger is
-- created; nothing is rewritten.
-- depends: 0016.audit-log

CREATE TABLE change_feed (
    change_position bigint GENERATED ALWAYS AS IDENTITY (CACHE 1),
    tenant_id text NOT NULL,
    written_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    entity_type text NOT NULL,
    change_kind text NOT NULL,
    entity_id text NOT NULL,
    entity_version integer,
    entity_after jsonb,
    CONSTRAINT change_feed_pkey PRIMARY KEY (tenant_id, change_position),
    CONSTRAINT change_feed_change_kind_check CHECK (
        change_kind IN ('insert', 'update', 'delete')
    ),
    CONSTRAINT change_feed_document_check CHECK (
        (change_kind = 'delete') = (entity_after IS NULL)
    )
);

-- store.watch: the rows after a position, in order.
CREATE INDEX change_feed_change_position_idx ON change_feed (change_position);

-- vaultstore prune-changes: the rows older than the retention. BRIN: rows are
-- appended in time order, and a block range summary costs a write next to
-- nothing, where a btree entry per change would (every write pays for it).
CREATE INDEX change_feed_written_at_idx ON change_feed USING brin (written_at);

ALTER TABLE change_feed ENABLE ROW LEVEL SECURITY;
ALTER TABLE change_feed FORCE ROW LEVEL SECURITY;
CREATE POLICY change_feed_read ON change_feed FOR SELECT
USING (tenant_id IN (current_setting('vaultstore.tenant', TRUE), '*'));
CREATE POLICY change_feed_append ON change_feed FOR INSERT
WITH CHECK (
    tenant_id IN (
        coalesce(nullif(current_setting('vaultstore.tenant', TRUE), ''), 'default'), '*'
    )
);
CREATE POLICY change_feed_prune ON change_feed
USING (has_table_privilege('change_feed', 'DELETE'));

-- One row at most: the greatest position pruned so far.
CREATE TABLE change_feed_pruned (
    singleton boolean NOT NULL DEFAULT TRUE,
    pruned_through bigint NOT NULL,
    pruned_at timestamptz NOT NULL DEFAULT statement_timestamp(),
    CONSTRAINT change_feed_pruned_pkey PRIMARY KEY (singleton),
    CONSTRAINT change_feed_pruned_singleton_check CHECK (singleton)
);

-- The rows of change_feed for the rows a statement wrote, and the listeners
-- woken: statement-level triggers reading the statement's transition tables
-- (inserted; old_rows and new_rows; deleted), so that a COPY or a batch UPDATE
-- of 100,000 rows appends them in one INSERT ... SELECT, not one function call
-- per row. TG_ARGV[0] is the entity's name in vaultstore's registry (vaults for
-- credit_vaults). Ids never change, so an update's before and after are joined
-- by id.
CREATE FUNCTION vaultstore_change_feed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO change_feed (
            tenant_id, entity_type, change_kind, entity_id, entity_version, entity_after
        )
        SELECT
            coalesce(written.row_after ->> 'tenant_id', '*'),
            TG_ARGV[0],
            'insert',
            written.row_after ->> 'id',
            cast(written.row_after ->> 'version' AS integer),
            written.row_after
        FROM (SELECT to_jsonb(i) AS row_after FROM inserted AS i) AS written;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO change_feed (
            tenant_id, entity_type, change_kind, entity_id, entity_version, entity_after
        )
        SELECT
            coalesce(written.row_after ->> 'tenant_id', '*'),
            TG_ARGV[0],
            'update',
            written.row_after ->> 'id',
            cast(written.row_after ->> 'version' AS integer),
            written.row_after
        FROM (
            SELECT
                to_jsonb(o) AS row_before,
                to_jsonb(n) AS row_after
            FROM old_rows AS o
            INNER JOIN new_rows AS n ON o.id = n.id
        ) AS written
        -- An update that changed nothing but updated_at makes no row.
        WHERE (written.row_before - 'updated_at') <> (written.row_after - 'updated_at');
    ELSE
        INSERT INTO change_feed (
            tenant_id, entity_type, change_kind, entity_id, entity_version, entity_after
        )
        SELECT
            coalesce(written.row_before ->> 'tenant_id', '*'),
            TG_ARGV[0],
            'delete',
            written.row_before ->> 'id',
            cast(written.row_before ->> 'version' AS integer),
            NULL
        FROM (SELECT to_jsonb(d) AS row_before FROM deleted AS d) AS written;
    END IF;
    IF FOUND THEN
        PERFORM pg_notify('vaultstore_changes', '');
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER agents_change_feed_insert AFTER INSERT ON agents
REFERENCING NEW TABLE AS inserted
FOR EACH STATEMENT EXECUTE FUNCTION vaultstore_change_feed('agents');

CREATE TRIGGER agents_change_feed_update AFTER UPDATE ON agents
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION vaultstore_change_feed('agents');

CREATE TRIGGER agents_change_feed_delete AFTER DELETE ON agents
REFERENCING OLD TABLE AS deleted
FOR EACH STATEMENT EXECUTE FUNCTION vaultstore_change_feed('agents');

CREATE TRIGGER credit_vaults_change_feed_insert AFTER INSERT ON credit_vaults
REFERENCING NEW TABLE AS inserted
FOR EACH STATEMENT EXECUTE FUNCTION vaultstore_change_feed('vaults');

CREATE TRIGGER credit_vaults_change_feed_update AFTER UPDATE ON credit_vaults
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION vaultstore_change_feed('vaults');

CREATE TRIGGER credit_vaults_change_feed_delete AFTER DELETE ON credit_vaults
REFERENCING OLD TABLE AS deleted
FOR EACH STATEMENT EXECUTE FUNCTION vaultstore_change_feed('vaults');

CREATE TRIGGER risk_alerts_change_feed_insert AFTER INSERT ON risk_alerts
REFERENCING NEW TABLE AS inserted
FOR EACH STATEMENT EXECUTE FUNCTION vaultstore_change_feed('alerts');

CREATE TRIGGER risk_alerts_change_feed_update AFTER UPDATE ON risk_alerts
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION vaultstore_change_feed('alerts');

CREATE TRIGGER risk_alerts_change_feed_delete AFTER DELETE ON risk_alerts
REFERENCING OLD TABLE AS deleted
FOR EACH STATEMENT EXECUTE FUNCTION vaultstore_change_feed('alerts');

CREATE TRIGGER liquidation_events_change_feed_insert AFTER INSERT ON liquidation_events
REFERENCING NEW TABLE AS inserted
FOR EACH STATEMENT EXECUTE FUNCTION vaultstore_change_feed('liquidations');

CREATE TRIGGER liquidation_events_change_feed_update AFTER UPDATE ON liquidation_events
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION vaultstore_change_feed('liquidations');

CREATE TRIGGER liquidation_events_change_feed_delete AFTER DELETE ON liquidation_events
REFERENCING OLD TABLE AS deleted
FOR EACH STATEMENT EXECUTE FUNCTION vaultstore_change_feed('liquidations');

CREATE TRIGGER protection_rules_change_feed_insert AFTER INSERT ON protection_rules
REFERENCING NEW TABLE AS inserted
FOR EACH STATEMENT EXECUTE FUNCTION vaultstore_change_feed('protection_rules');

CREATE TRIGGER protection_rules_change_feed_update AFTER UPDATE ON protection_rules
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION vaultstore_change_feed('protection_rules');

CREATE TRIGGER protection_rules_change_feed_delete AFTER DELETE ON protection_rules
REFERENCING OLD TABLE AS deleted
FOR EACH STATEMENT EXECUTE FUNCTION vaultstore_change_feed('protection_rules');

CREATE TRIGGER market_data_change_feed_insert AFTER INSERT ON market_data
REFERENCING NEW TABLE AS inserted
FOR EACH STATEMENT EXECUTE FUNCTION vaultstore_change_feed('market_data');

CREATE TRIGGER market_data_change_feed_update AFTER UPDATE ON market_data
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION vaultstore_change_feed('market_data');

CREATE TRIGGER market_data_change_feed_delete AFTER DELETE ON market_data
REFERENCING OLD TABLE AS deleted
FOR EACH STATEMENT EXECUTE FUNCTION vaultstore_change_feed('market_data');
