-- Remember which dump #2 the maps were built from; returns the fingerprint stored before, if any.
WITH before AS (SELECT value FROM {state} WHERE key = 'staging_fingerprint')
INSERT INTO {state} (key, value) VALUES ('staging_fingerprint', {fingerprint})
ON CONFLICT (key) DO UPDATE SET value = excluded.value
RETURNING (SELECT value FROM before)
