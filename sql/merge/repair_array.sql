-- Rewrite an id array of the pending rows (dump #2's new rows) from their staging value, element by
-- element through the referenced table's map ({repaired}: all rows at once, order, length and NULL
-- elements kept). The target's own rows, and rows that matched by natural key, keep their arrays
-- (public wins). Recomputed from staging each time, so a second run changes nothing.
UPDATE {pending} p
SET {column} = r.repaired
FROM (
    SELECT m.public_id, {repaired} AS repaired
    FROM {staging_table} st
    JOIN {map} m ON m.staging_id = st.{id} AND m.inserted
    {array_join}
) r
WHERE p.{id} = r.public_id AND p.{column} IS DISTINCT FROM r.repaired
