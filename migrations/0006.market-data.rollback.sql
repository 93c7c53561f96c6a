DROP TABLE market_data;
