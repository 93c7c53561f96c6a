-- Statements of tests/test_schema.py.

-- name: insert_two_prices_from_one_source#
-- Two prices from the same source, so that a unique index on source cannot be built.
INSERT INTO market_data (id, token, chain_id, price_usd, source, recorded_at)
VALUES
('P1', 'ETH', 1, 3000, 'feed', '2026-01-01T00:00:00Z'),
('P2', 'ETH', 1, 3001, 'feed', '2026-01-01T00:01:00Z');

-- name: build_unique_index_on_source_concurrently#
-- Fails on the duplicate sources and, being CONCURRENTLY, leaves the index behind,
-- marked invalid.
CREATE UNIQUE INDEX CONCURRENTLY market_data_source_key ON market_data (source);
