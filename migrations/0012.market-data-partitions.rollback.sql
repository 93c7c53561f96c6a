-- Undo 0012.market-data-partitions: market_data becomes one plain table again, with
-- every row of every partition, the primary key on id alone and the indexes it had
-- before. Two rows with the same id in different months (which the partitioned
-- key cannot refuse) make it fail on market_data_unpartitioned_pkey, changing
-- nothing. Partitions detached by `vaultstore partitions` and not dropped are left
-- alone.
--
-- LOCKING: ACCESS EXCLUSIVE on market_data (and its partitions) while every row is
-- copied back, as for the migration; apply it in a quiet window.

CREATE TABLE market_data_unpartitioned (
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
    CONSTRAINT market_data_unpartitioned_pkey PRIMARY KEY (id),
    CONSTRAINT market_data_unpartitioned_recorded_key UNIQUE (
        token, chain_id, source, recorded_at
    ),
    CONSTRAINT market_data_token_check CHECK (length(token) BETWEEN 1 AND 64),
    CONSTRAINT market_data_chain_id_check CHECK (chain_id > 0),
    CONSTRAINT market_data_price_usd_check CHECK (price_usd > 0),
    CONSTRAINT market_data_volume_24h_usd_check CHECK (volume_24h_usd >= 0),
    CONSTRAINT market_data_market_cap_usd_check CHECK (market_cap_usd >= 0),
    CONSTRAINT market_data_source_check CHECK (length(source) BETWEEN 1 AND 100),
    CONSTRAINT market_data_version_check CHECK (version >= 1)
);

INSERT INTO market_data_unpartitioned (
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
FROM market_data;

DROP TABLE market_data;
DROP FUNCTION market_data_create_partition(date);

ALTER TABLE market_data_unpartitioned RENAME TO market_data;
ALTER TABLE market_data
RENAME CONSTRAINT market_data_unpartitioned_pkey TO market_data_pkey;
ALTER TABLE market_data
RENAME CONSTRAINT market_data_unpartitioned_recorded_key TO market_data_recorded_key;

CREATE INDEX market_data_token_chain_id_recorded_at_id_idx
ON market_data (token, chain_id, recorded_at, id);
CREATE INDEX market_data_recorded_at_id_idx ON market_data (recorded_at, id);
CREATE INDEX market_data_source_recorded_at_idx ON market_data (source, recorded_at);

CREATE TRIGGER market_data_touch_updated_at BEFORE UPDATE ON market_data
FOR EACH ROW EXECUTE FUNCTION vaultstore_touch_updated_at();
