DROP TABLE risk_alerts;
