-- Undo 0017.change-feed: no change feed triggers, no outbox (its rows are lost:
-- a watcher's resume token means nothing after it).

DROP TRIGGER market_data_change_feed ON market_data;
DROP TRIGGER protection_rules_change_feed ON protection_rules;
DROP TRIGGER liquidation_events_change_feed ON liquidation_events;
DROP TRIGGER risk_alerts_change_feed ON risk_alerts;
DROP TRIGGER credit_vaults_change_feed ON credit_vaults;
DROP TRIGGER agents_change_feed ON agents;
DROP FUNCTION vaultstore_change_feed();
DROP TABLE change_feed_pruned;
DROP TABLE change_feed;
