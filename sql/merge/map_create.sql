-- id map staging_id -> public_id; `inserted` says the staging row becomes a new target row. Built anew
-- each time from staging and the target as it is now, so after a publish every row maps to what it
-- became and a second merge of the same rows finds nothing new.
-- Column types come from the two tables themselves (WITH NO DATA), so any key type works.
CREATE TABLE IF NOT EXISTS {map} AS
SELECT s.{id} AS staging_id, p.{id} AS public_id, true AS inserted
FROM {staging_table} s, {public_table} p
WITH NO DATA;
CREATE UNIQUE INDEX IF NOT EXISTS {map_staging_index} ON {map} (staging_id);
CREATE INDEX IF NOT EXISTS {map_public_index} ON {map} (public_id);
TRUNCATE {map}
