DROP TABLE credit_vaults;
