-- Write skew between two SERIALIZABLE transactions, for tests/test_errors.py.

-- name: count_agents()$
-- Read what the other transaction is about to change.
SELECT count(*) FROM agents;

-- name: insert_agent(id)!
-- Write what the other transaction read.
INSERT INTO agents (id, name, credibility_score, tenant_id)
VALUES (:id, :id, 1, 'default');
