DROP TABLE liquidation_events;
