-- Pending rows whose natural key the target now holds (added after the id maps were built). Where the
-- target's own unique index holds the keys, the insert itself meets such a row (and publish names it).
SELECT jsonb_build_array({key}) AS natural_key
FROM {pending} p
WHERE EXISTS (SELECT 1 FROM {public_table} t WHERE {key_match}) AND NOT {held_unique}
