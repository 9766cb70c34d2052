-- id map staging_id -> public_id; `inserted` says the staging row becomes a new target row. Built anew
-- each time from staging and the target as it is now, so after a publish every row maps to what it
-- became and a second merge of the same rows finds nothing new.
-- Column types come from the two tables themselves (WITH NO DATA), so any key type works. Its indexes
-- come after the rows (map_index.sql): one sorted build instead of an index update per row.
-- Unlogged, like the pending rows (no WAL for rows rebuilt every merge): a server crash empties both, and
-- publish then refuses (the pending rows no longer match their audit) until the next merge rebuilds them.
-- (SET UNLOGGED converts a map an older pgmerge made; on an unlogged one it changes nothing.)
CREATE UNLOGGED TABLE IF NOT EXISTS {map} AS
SELECT s.{id} AS staging_id, p.{id} AS public_id, true AS inserted
FROM {staging_table} s, {public_table} p
WITH NO DATA;
TRUNCATE {map};
ALTER TABLE {map} SET UNLOGGED
