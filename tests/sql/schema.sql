-- Statements of tests/test_schema.py.

-- name: insert_two_agents_of_one_score#
-- Two agents with the same score, so that a unique index on the score cannot be
-- built (on agents: market_data is partitioned, and PostgreSQL builds no index
-- CONCURRENTLY on a partitioned table).
INSERT INTO agents (id, name, credibility_score, tenant_id)
VALUES
('A1', 'first', 700, 'default'),
('A2', 'second', 700, 'default');

-- name: build_unique_index_on_score_concurrently#
-- Fails on the duplicate scores and, being CONCURRENTLY, leaves the index behind,
-- marked invalid.
CREATE UNIQUE INDEX CONCURRENTLY agents_credibility_score_key
ON agents (credibility_score);
