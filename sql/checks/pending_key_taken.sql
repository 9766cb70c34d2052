-- Pending rows whose natural key the target now holds (added after the id maps were built).
SELECT jsonb_build_array({key}) AS natural_key
FROM {pending} p
WHERE EXISTS (SELECT 1 FROM {public_table} t WHERE {key_match})
