-- A map is sound when every staging row is in it exactly once, it holds no staging ids that do not
-- exist, and no two staging rows share a public row unless their natural keys are equal (keys compared only
-- where a public row is shared at all: a hash aggregate on ids first, not a sort of every key).
-- The map is built from the staging rows, and where its unique index holds their ids unique (pgmerge builds
-- it), equal row counts say that every staging row is in it once; the lossless proof then follows each
-- staging row through its entry (so no check reads both tables twice). Without that index, rows missing on
-- either side are found by one full join (`present` tells a row from the join's NULLs).
SELECT format('%s staging rows, %s map rows', st.n, m.n) AS problem, NULL AS id
FROM (SELECT count(*) AS n FROM {staging_table}) st, (SELECT count(*) AS n FROM {map}) m
WHERE {held} AND st.n <> m.n
UNION ALL
SELECT CASE WHEN m.present IS NULL THEN 'staging row missing from map' ELSE 'map row without staging row' END,
       CASE WHEN m.present IS NULL THEN st.id::text ELSE m.staging_id::text END
FROM (SELECT {id} AS id, true AS present FROM {staging_table} WHERE NOT {held}) st
FULL JOIN (SELECT staging_id, true AS present FROM {map} WHERE NOT {held}) m ON m.staging_id = st.id
WHERE m.present IS NULL OR st.present IS NULL
UNION ALL
SELECT 'public row shared by staging rows with different natural keys', m.public_id::text
FROM {map} m
JOIN {staging_table} st ON st.{id} = m.staging_id
WHERE m.public_id IN (SELECT public_id FROM {map} GROUP BY public_id HAVING count(*) > 1)
GROUP BY m.public_id
HAVING count(DISTINCT {staging_key}) > 1
