-- Undo 0017.change-feed: no change feed triggers, no outbox (its rows are lost:
-- a watcher's resume token means nothing after it).

DROP TRIGGER market_data_change_feed_delete ON market_data;
DROP TRIGGER market_data_change_feed_update ON market_data;
DROP TRIGGER market_data_change_feed_insert ON market_data;
DROP TRIGGER protection_rules_change_feed_delete ON protection_rules;
DROP TRIGGER protection_rules_change_feed_update ON protection_rules;
DROP TRIGGER protection_rules_change_feed_insert ON protection_rules;
DROP TRIGGER liquidation_events_change_feed_delete ON liquidation_events;
DROP TRIGGER liquidation_events_change_feed_update ON liquidation_events;
DROP TRIGGER liquidation_events_change_feed_insert ON liquidation_events;
DROP TRIGGER risk_alerts_change_feed_delete ON risk_alerts;
DROP TRIGGER risk_alerts_change_feed_update ON risk_alerts;
DROP TRIGGER risk_alerts_change_feed_insert ON risk_alerts;
DROP TRIGGER credit_vaults_change_feed_delete ON credit_vaults;
DROP TRIGGER credit_vaults_change_feed_update ON credit_vaults;
DROP TRIGGER credit_vaults_change_feed_insert ON credit_vaults;
DROP TRIGGER agents_change_feed_delete ON agents;
DROP TRIGGER agents_change_feed_update ON agents;
DROP TRIGGER agents_change_feed_insert ON agents;
DROP FUNCTION vaultstore_change_feed();
DROP TABLE change_feed_pruned;
DROP TABLE change_feed;
