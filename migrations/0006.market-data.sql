-- Market data: a token's USD price on one chain over time, from one source.
-- depends: 0001.agents

CREATE TABLE market_data (
    id text PRIMARY KEY,
    token text NOT NULL,
    chain_id integer NOT NULL,
    price_usd numeric NOT NULL,
    volume_24h_usd numeric,
    market_cap_usd numeric,
    source text NOT NULL DEFAULT 'unknown',
    recorded_at timestamptz (3) NOT NULL,
    created_at timestamptz (3) NOT NULL DEFAULT now(),
    updated_at timestamptz (3) NOT NULL DEFAULT now(),
    -- one price per token, chain, source and moment
    CONSTRAINT market_data_recorded_key UNIQUE (token, chain_id, source, recorded_at),
    CONSTRAINT market_data_token_check CHECK (length(token) BETWEEN 1 AND 64),
    CONSTRAINT market_data_chain_id_check CHECK (chain_id > 0),
    CONSTRAINT market_data_price_usd_check CHECK (price_usd > 0),
    CONSTRAINT market_data_volume_24h_usd_check CHECK (volume_24h_usd >= 0),
    CONSTRAINT market_data_market_cap_usd_check CHECK (market_cap_usd >= 0),
    CONSTRAINT market_data_source_check CHECK (length(source) BETWEEN 1 AND 100)
);

-- latest_price and history: newest first or over a range, per token and chain
CREATE INDEX market_data_token_chain_id_recorded_at_id_idx
ON market_data (token, chain_id, recorded_at, id);
-- find_between: every price recorded over a time range
CREATE INDEX market_data_recorded_at_id_idx ON market_data (recorded_at, id);

CREATE TRIGGER market_data_touch_updated_at BEFORE UPDATE ON market_data
FOR EACH ROW EXECUTE FUNCTION vaultstore_touch_updated_at();
