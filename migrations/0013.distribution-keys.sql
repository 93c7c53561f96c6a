-- Ready for a distributed engine (Citus): every primary key of a distributed table
-- includes its distribution column, as Citus requires of every PRIMARY KEY and
-- UNIQUE constraint (the design is vaultstore/admin/distribution.py; docs/scaling.md
-- explains it). A vault's alerts, liquidations and protection rules are distributed
-- by vault_id, co-located with credit_vaults (distributed by id), so their primary
-- keys become (id, vault_id); market data is distributed by token (latest_price and
-- history filter on it), so its key becomes (id, recorded_at, token). id stays
-- first: find_by_id is still a probe of the primary key (on every shard, once
-- distributed). The other keys and every foreign key already meet the rules.
--
-- Uniqueness of id alone is no longer checked by the database on these tables:
-- vaultstore makes ids unique (ULIDs), and restoring a stored id with the same
-- vault (or token and moment) is still refused.
--
-- LOCKING: each ALTER TABLE holds an ACCESS EXCLUSIVE lock on its table (on
-- market_data, on every partition) while the new key's index is built, in the
-- order of a second per million rows; apply it in a quiet window. It runs in one
-- transaction: a failure changes nothing.
-- depends: 0012.market-data-partitions

ALTER TABLE risk_alerts
DROP CONSTRAINT risk_alerts_pkey,
ADD CONSTRAINT risk_alerts_pkey PRIMARY KEY (id, vault_id);

ALTER TABLE liquidation_events
DROP CONSTRAINT liquidation_events_pkey,
ADD CONSTRAINT liquidation_events_pkey PRIMARY KEY (id, vault_id);

ALTER TABLE protection_rules
DROP CONSTRAINT protection_rules_pkey,
ADD CONSTRAINT protection_rules_pkey PRIMARY KEY (id, vault_id);

ALTER TABLE market_data
DROP CONSTRAINT market_data_pkey,
ADD CONSTRAINT market_data_pkey PRIMARY KEY (id, recorded_at, token);
