-- A foreign key that closes a cycle was inserted NULL; now that its parents are merged, set it on the
-- rows that came from dump #2, through the parent's map. Recomputed from staging: idempotent.
UPDATE {public_table} p
SET {column} = f.public_id
FROM {staging_table} st
JOIN {map} m ON m.staging_id = st.{id} AND m.inserted
JOIN {parent_map} f ON f.staging_id = st.{column}
WHERE p.{id} = m.public_id AND p.{column} IS DISTINCT FROM f.public_id
