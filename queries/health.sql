-- Health checks for operators.

-- name: ping()$
-- A round trip to the server, for store.ping().
SELECT 1;
