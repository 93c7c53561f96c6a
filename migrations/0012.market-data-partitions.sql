-- Market data outgrows one table: it becomes range-partitioned by recorded_at, one
-- partition per calendar month (UTC), so that old months are dropped whole
-- (`vaultstore partitions --retain`) and time-range reads (history, latest_price)
-- read only their months. Every existing row is kept.
--
-- Keys: PostgreSQL requires the partition key in every unique constraint, so the
-- primary key is (id, recorded_at); id leads it, so find_by_id is an index scan of
-- the primary key on every partition (one probe per partition: ids are ULIDs of
-- their creation time, not of recorded_at, so they cannot prune). Uniqueness of id
-- alone is no longer checked by the database: vaultstore makes ids unique, and
-- restoring a stored id with the same recorded_at is still refused. The key keeps
-- id in it for a distributed engine (Citus) distributing market data by id.
--
-- No default partition: a row for a month that has no partition is refused
-- (SQLSTATE 23514, a ValidationError on recorded_at that says to run `vaultstore
-- partitions`), never lost. A default partition would keep it, but would stop
-- latest_price from reading the newest month only (an ordered scan of the
-- partitions needs no default), forbid DETACH CONCURRENTLY, and make every new
-- partition scan it. Partitions are made here for every month from the oldest row
-- to three months ahead, and later by `vaultstore partitions --ahead N` (cron).
--
-- market_data_create_partition(month) makes one month's partition: CREATE TABLE
-- LIKE, then ATTACH PARTITION, which takes a SHARE UPDATE EXCLUSIVE lock on
-- market_data (reads and writes go on) where CREATE TABLE ... PARTITION OF would
-- take ACCESS EXCLUSIVE.
--
-- LOCKING: this migration holds an ACCESS EXCLUSIVE lock on market_data from its
-- first statement to its commit, while it copies every row into the partitions:
-- reads and writes of prices wait for the whole copy, which grows with the table
-- (in the order of 10 s per million rows on a small server). Apply it in a quiet
-- window; it runs in one transaction, so a failure leaves the old table as it was.
-- depends: 0006.market-data 0008.market-data-source-index 0010.versions

ALTER TABLE market_data RENAME TO market_data_unpartitioned;
ALTER TABLE market_data_unpartitioned
RENAME CONSTRAINT market_data_pkey TO market_data_unpartitioned_pkey;
ALTER TABLE market_data_unpartitioned
RENAME CONSTRAINT market_data_recorded_key TO market_data_unpartitioned_recorded_key;
ALTER INDEX market_data_token_chain_id_recorded_at_id_idx
RENAME TO market_data_unpartitioned_token_chain_id_recorded_at_id_idx;
ALTER INDEX market_data_recorded_at_id_idx
RENAME TO market_data_unpartitioned_recorded_at_id_idx;
ALTER INDEX market_data_source_recorded_at_idx
RENAME TO market_data_unpartitioned_source_recorded_at_idx;

CREATE TABLE market_data (
    id text NOT NULL,
    token text NOT NULL,
    chain_id integer NOT NULL,
    price_usd numeric NOT NULL,
    volume_24h_usd numeric,
    market_cap_usd numeric,
    source text NOT NULL DEFAULT 'unknown',
    recorded_at timestamptz (3) NOT NULL,
    created_at timestamptz (3) NOT NULL DEFAULT now(),
    updated_at timestamptz (3) NOT NULL DEFAULT now(),
    version integer NOT NULL DEFAULT 1,
    -- the partition key must be in it; id first, for find_by_id
    CONSTRAINT market_data_pkey PRIMARY KEY (id, recorded_at),
    -- one price per token, chain, source and moment
    CONSTRAINT market_data_recorded_key UNIQUE (token, chain_id, source, recorded_at),
    CONSTRAINT market_data_token_check CHECK (length(token) BETWEEN 1 AND 64),
    CONSTRAINT market_data_chain_id_check CHECK (chain_id > 0),
    CONSTRAINT market_data_price_usd_check CHECK (price_usd > 0),
    CONSTRAINT market_data_volume_24h_usd_check CHECK (volume_24h_usd >= 0),
    CONSTRAINT market_data_market_cap_usd_check CHECK (market_cap_usd >= 0),
    CONSTRAINT market_data_source_check CHECK (length(source) BETWEEN 1 AND 100),
    CONSTRAINT market_data_version_check CHECK (version >= 1)
) PARTITION BY RANGE (recorded_at);

-- latest_price and history: newest first or over a range, per token and chain
CREATE INDEX market_data_token_chain_id_recorded_at_id_idx
ON market_data (token, chain_id, recorded_at, id);
-- every price recorded over a time range
CREATE INDEX market_data_recorded_at_id_idx ON market_data (recorded_at, id);
-- prices by source over time, for auditing one feed
CREATE INDEX market_data_source_recorded_at_idx ON market_data (source, recorded_at);

CREATE TRIGGER market_data_touch_updated_at BEFORE UPDATE ON market_data
FOR EACH ROW EXECUTE FUNCTION vaultstore_touch_updated_at();

-- The partition of the month (UTC) holding the day `month`, named
-- market_data_YYYY_MM, made unless it exists: returns its name, or null when it
-- was there already. A table of that name that is not a partition of market_data
-- (one detached and not dropped) is an error, not taken for the partition.
CREATE FUNCTION market_data_create_partition(month date) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    first_day constant date := date_trunc('month', month)::date;
    partition_name constant text := 'market_data_' || to_char(first_day, 'YYYY_MM');
    existing regclass := to_regclass(quote_ident(partition_name));
BEGIN
    IF existing IS NOT NULL THEN
        IF EXISTS (
            SELECT FROM pg_inherits
            WHERE inhrelid = existing AND inhparent = 'market_data'::regclass
        ) THEN
            RETURN NULL;
        END IF;
        RAISE EXCEPTION 'table % exists but is not a partition of market_data', partition_name
            USING ERRCODE = 'duplicate_table',
                HINT = 'drop it (a partition detached and not dropped) or attach it';
    END IF;
    EXECUTE format(
        'CREATE TABLE %I (LIKE market_data INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
        partition_name
    );
    EXECUTE format(
        'ALTER TABLE market_data ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
        partition_name,
        first_day::timestamp AT TIME ZONE 'UTC',
        (first_day + interval '1 month')::timestamp AT TIME ZONE 'UTC'
    );
    RETURN partition_name;
END;
$$;

-- A partition for every month from the oldest row's (or this month) to three
-- months ahead, or to the newest row's if that is later.
DO $$
BEGIN
    PERFORM market_data_create_partition(month::date)
    FROM generate_series(
        date_trunc(
            'month',
            least((SELECT min(recorded_at) FROM market_data_unpartitioned), now())
            AT TIME ZONE 'UTC'
        ),
        date_trunc(
            'month',
            greatest(
                (SELECT max(recorded_at) FROM market_data_unpartitioned),
                now() + interval '3 months'
            ) AT TIME ZONE 'UTC'
        ),
        interval '1 month'
    ) AS month;
END;
$$;

INSERT INTO market_data (
    id, token, chain_id, price_usd, volume_24h_usd, market_cap_usd,
    source, recorded_at, created_at, updated_at, version
)
SELECT
    id,
    token,
    chain_id,
    price_usd,
    volume_24h_usd,
    market_cap_usd,
    source,
    recorded_at,
    created_at,
    updated_at,
    version
FROM market_data_unpartitioned;

DROP TABLE market_data_unpartitioned;
