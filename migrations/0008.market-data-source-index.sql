-- Prices by source over time, for auditing one feed (which prices it reported, and
-- when). Built CONCURRENTLY so that prices keep being written meanwhile; PostgreSQL
-- refuses CONCURRENTLY inside a transaction, hence the marker below. If the build
-- fails, it leaves an INVALID index behind: drop it before applying again.
-- transactional: false
-- depends: 0006.market-data

CREATE INDEX CONCURRENTLY IF NOT EXISTS market_data_source_recorded_at_idx
ON market_data (source, recorded_at);
