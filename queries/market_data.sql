-- Market data: token prices in USD per chain over time. Time ranges are
-- half-open, [since, until), keyset-paginated on (recorded_at, id): the first
-- page passes :after_at = since and :after_id = ''.

-- name: insert(id, token, chain_id, price_usd, volume_24h_usd, market_cap_usd, source, recorded_at, created_at, updated_at, version)!
-- Store one price. A second price for the same token, chain, source and moment
-- fails on market_data_recorded_key.
INSERT INTO market_data (
    id, token, chain_id, price_usd, volume_24h_usd, market_cap_usd,
    source, recorded_at, created_at, updated_at, version
) VALUES (
    :id, :token, :chain_id, :price_usd, :volume_24h_usd, :market_cap_usd,
    :source, :recorded_at, :created_at, :updated_at, :version
);

-- name: insert_many#
-- Store many prices at COPY speed (market_data.bulk_insert, a batch at a time,
-- inside a transaction): vaultstore sends the rows, in the order of these columns.
COPY market_data (
    id, token, chain_id, price_usd, volume_24h_usd, market_cap_usd,
    source, recorded_at, created_at, updated_at
) FROM STDIN;

-- name: find_by_id(id)^
-- One price record by id, or no row: a probe of market_data_pkey (id, recorded_at)
-- on every monthly partition (ids do not tell the month of recorded_at).
SELECT * FROM market_data
WHERE id = :id;

-- name: lock_by_id(id, token, chain_id, recorded_at)^
-- One row, locked against other writers until the end of the transaction
-- (store.transaction()'s repositories' lock(id)).
-- lock(id) reads the row first (find_by_id) for its token, chain and time, which
-- never change: by them the lock goes to one shard on Citus (distributed by
-- token; Citus takes row locks in single-shard statements only) and to the one
-- monthly partition of :recorded_at, a probe of its market_data_pkey
-- (id, recorded_at, token). chain_id completes MongoDB's shard key (the twin's).
-- No row: it was deleted since it was read.
SELECT * FROM market_data
WHERE
    id = :id
    AND token = :token
    AND chain_id = :chain_id
    AND recorded_at = :recorded_at
FOR UPDATE;

-- name: list_after(after, limit)
-- All price records in creation order, one page after the id :after.
SELECT * FROM market_data
WHERE id > :after
ORDER BY id
LIMIT :limit;

-- name: latest_price(token, chain_id)^
-- The most recent price of a token on a chain: one step down the index
-- market_data_token_chain_id_recorded_at_id_idx, read backwards, newest
-- partition first; the older partitions are not read once a row is found (an
-- ordered scan of the monthly partitions, which a default partition would prevent).
SELECT * FROM market_data
WHERE token = :token AND chain_id = :chain_id
ORDER BY recorded_at DESC, id DESC
LIMIT 1;

-- name: history(token, chain_id, after_at, after_id, until, limit)
-- A token's prices on a chain over a time range, oldest first; the plain
-- recorded_at >= :after_at, implied by the row comparison, is what prunes
-- market_data's monthly partitions to those of the range (pruning does not see
-- through a row comparison).
SELECT * FROM market_data
WHERE
    token = :token
    AND chain_id = :chain_id
    AND recorded_at >= :after_at
    AND (recorded_at, id) > (:after_at, :after_id)
    AND recorded_at < :until
ORDER BY recorded_at, id
LIMIT :limit;

-- name: update(id, changed, price_usd, volume_24h_usd, market_cap_usd, expected_version)<!
-- One statement: each column named in :changed (a text[]) takes its new value,
-- the others keep theirs. The CHECK constraints judge the row as a whole (the
-- rules across columns too); updated_at is set by trigger, version counts up. No
-- row: no such id, or it is not at :expected_version (when one is given).
UPDATE market_data SET
    version = version + 1,
    price_usd = CASE
        WHEN 'price_usd' = any(:changed) THEN :price_usd
        ELSE price_usd
    END,
    volume_24h_usd = CASE
        WHEN 'volume_24h_usd' = any(:changed) THEN :volume_24h_usd
        ELSE volume_24h_usd
    END,
    market_cap_usd = CASE
        WHEN 'market_cap_usd' = any(:changed) THEN :market_cap_usd
        ELSE market_cap_usd
    END
WHERE
    id = :id
    AND (cast(:expected_version AS integer) IS NULL OR version = :expected_version)
RETURNING *;

-- name: delete(id, expected_version)!
-- Delete one price record.
DELETE FROM market_data
WHERE
    id = :id
    AND (cast(:expected_version AS integer) IS NULL OR version = :expected_version);

-- Whole datasets, as `vaultstore copy` moves them between databases.

-- name: copy_in#
-- Store whole price records as they are (restore(): ids, versions and timestamps kept), a
-- batch at a time inside a transaction, at COPY speed: vaultstore sends the rows in
-- the order of these columns.
COPY market_data (
    id, token, chain_id, price_usd, volume_24h_usd, market_cap_usd, source,
    recorded_at, created_at, updated_at, version
) FROM STDIN;

-- name: count()
-- How many price records are stored.
SELECT count(*) AS total FROM market_data;

-- name: find_last()^
-- The price record with the greatest id (the last one created), or no row.
SELECT * FROM market_data
ORDER BY id DESC
LIMIT 1;
