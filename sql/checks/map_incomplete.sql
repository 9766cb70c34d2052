-- A map is sound when every staging row is in it exactly once, it holds no staging ids that do not
-- exist, and no two staging rows share a public row unless their natural keys are equal (keys compared only
-- where a public row is shared at all: a hash aggregate on ids first, not a sort of every key).
SELECT 'staging row missing from map' AS problem, st.{id}::text AS id
FROM {staging_table} st
WHERE NOT EXISTS (SELECT 1 FROM {map} m WHERE m.staging_id = st.{id})
UNION ALL
SELECT 'map row without staging row', m.staging_id::text
FROM {map} m
WHERE NOT EXISTS (SELECT 1 FROM {staging_table} st WHERE st.{id} = m.staging_id)
UNION ALL
SELECT 'public row shared by staging rows with different natural keys', m.public_id::text
FROM {map} m
JOIN {staging_table} st ON st.{id} = m.staging_id
WHERE m.public_id IN (SELECT public_id FROM {map} GROUP BY public_id HAVING count(*) > 1)
GROUP BY m.public_id
HAVING count(DISTINCT {staging_key}) > 1
