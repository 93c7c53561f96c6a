-- Undo 0013.distribution-keys: the primary keys of migrations 0003-0005 and 0012
-- again, on id alone (on (id, recorded_at) for market data). Two rows sharing an
-- id (which the wider keys could not refuse) make it fail on the restored key,
-- changing nothing.
--
-- LOCKING: ACCESS EXCLUSIVE on each table while its key's index is rebuilt, as
-- for the migration; apply it in a quiet window.

ALTER TABLE market_data
DROP CONSTRAINT market_data_pkey,
ADD CONSTRAINT market_data_pkey PRIMARY KEY (id, recorded_at);

ALTER TABLE protection_rules
DROP CONSTRAINT protection_rules_pkey,
ADD CONSTRAINT protection_rules_pkey PRIMARY KEY (id);

ALTER TABLE liquidation_events
DROP CONSTRAINT liquidation_events_pkey,
ADD CONSTRAINT liquidation_events_pkey PRIMARY KEY (id);

ALTER TABLE risk_alerts
DROP CONSTRAINT risk_alerts_pkey,
ADD CONSTRAINT risk_alerts_pkey PRIMARY KEY (id);
