-- Published rows whose foreign key names no row of the referenced table: what the constraint's own
-- trigger refuses row by row, found for all rows at once (MATCH SIMPLE: a row with a NULL in the key
-- references nothing; MATCH FULL: all of the key's columns NULL or none). Judged before the inserts, the
-- referenced table's pending rows count too (they are inserted with the rest).
SELECT jsonb_build_array({columns}) AS foreign_key
FROM {pending} c
WHERE ({complete} AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE {match}) AND {also_pending})
   OR {partly_null}
