-- Rewrite an id array of the pending rows (dump #2's new rows) from their staging value, element by
-- element through the referenced table's map: order, length and NULL elements kept. The target's own
-- rows, and rows that matched by natural key, keep their arrays (public wins). Recomputed from staging
-- each time, so a second run changes nothing.
UPDATE {pending} p
SET {column} = r.repaired
FROM (
    SELECT m.public_id,
           CASE WHEN st.{column} IS NULL THEN NULL
                ELSE ARRAY(SELECT rm.public_id
                           FROM unnest(st.{column}) WITH ORDINALITY AS u(element, ord)
                           LEFT JOIN {ref_map} rm ON rm.staging_id = u.element
                           ORDER BY u.ord)
           END AS repaired
    FROM {staging_table} st
    JOIN {map} m ON m.staging_id = st.{id} AND m.inserted
) r
WHERE p.{id} = r.public_id AND p.{column} IS DISTINCT FROM r.repaired
