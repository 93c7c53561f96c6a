DROP TABLE protection_rules;
