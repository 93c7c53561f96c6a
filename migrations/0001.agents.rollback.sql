DROP TABLE agents;
DROP FUNCTION vaultstore_touch_updated_at();
