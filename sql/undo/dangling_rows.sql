-- Rows whose foreign key names a row undo deleted (no row of the referenced table any more): what the
-- key's trigger refuses row by row on delete, found for all rows at once, after the deletes (undo held
-- those triggers back). A NULL in the key references nothing.
SELECT jsonb_build_array({columns}) AS foreign_key
FROM {child} c
WHERE {complete} AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE {match})
