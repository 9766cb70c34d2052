-- Remember which dump #2 this run's work comes from: the ledger records it with each publish.
INSERT INTO {state} (key, value) VALUES ('staging_fingerprint', {fingerprint})
ON CONFLICT (key) DO UPDATE SET value = excluded.value
