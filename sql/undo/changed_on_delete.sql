-- Rows naming a row undo is about to delete through a key whose trigger would delete or change them (ON
-- DELETE CASCADE, SET NULL, SET DEFAULT): rows written since the merge (the merge's own rows of that table
-- are deleted before its parents'), which undo must not touch.
SELECT jsonb_build_array({columns}) AS foreign_key
FROM {child} c
WHERE {complete} AND EXISTS (SELECT 1 FROM {deleted} WHERE {match})
