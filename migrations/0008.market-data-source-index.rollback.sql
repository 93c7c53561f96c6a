-- Drop the index by source without blocking writes. yoyo reads the marker of the
-- forward file (0008.market-data-source-index.sql); it is repeated for the reader.
-- transactional: false

DROP INDEX CONCURRENTLY IF EXISTS market_data_source_recorded_at_idx;
