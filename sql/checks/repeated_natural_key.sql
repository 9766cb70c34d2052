-- Natural keys repeated within dump #2 (its rows then all map to one public row) or within public before
-- the merge: the data contradicts the spec's natural key, so it is worth a look, not a stop. A side whose
-- own unique index holds the key unique has none to show and is not read.
SELECT 'dump #2' AS side, jsonb_build_array({staging_key_columns}) AS natural_key, count(*) AS rows
FROM {staging_table} st
WHERE {staging_key_complete} AND NOT {staging_held_unique}
GROUP BY {staging_key_columns}
HAVING count(*) > 1
UNION ALL
SELECT 'public', jsonb_build_array({public_key_columns}), count(*)
FROM {public_table} t
WHERE {public_key_complete} AND NOT {public_held_unique}
GROUP BY {public_key_columns}
HAVING count(*) > 1
