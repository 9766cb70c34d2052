-- A map is sound when every staging row is in it exactly once, it holds no staging ids that do not
-- exist, and no two staging rows share a public row unless their natural keys are equal (keys compared only
-- where a public row is shared at all: a hash aggregate on ids first, not a sort of every key). Rows missing
-- on either side are found by one full join (`present` tells a row from the join's NULLs).
SELECT CASE WHEN m.present IS NULL THEN 'staging row missing from map' ELSE 'map row without staging row' END
           AS problem,
       CASE WHEN m.present IS NULL THEN st.id::text ELSE m.staging_id::text END AS id
FROM (SELECT {id} AS id, true AS present FROM {staging_table}) st
FULL JOIN (SELECT staging_id, true AS present FROM {map}) m ON m.staging_id = st.id
WHERE m.present IS NULL OR st.present IS NULL
UNION ALL
SELECT 'public row shared by staging rows with different natural keys', m.public_id::text
FROM {map} m
JOIN {staging_table} st ON st.{id} = m.staging_id
WHERE m.public_id IN (SELECT public_id FROM {map} GROUP BY public_id HAVING count(*) > 1)
GROUP BY m.public_id
HAVING count(DISTINCT {staging_key}) > 1
