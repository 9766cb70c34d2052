-- A map is complete when every staging row is in it exactly once and it holds no staging ids that do not
-- exist. The map is built from the staging rows, and where its unique index holds their ids unique
-- (pgmerge builds it), equal row counts say that every staging row is in it once. Without that index, rows
-- missing on either side are found by one full join (`present` tells a row from the join's NULLs). Where
-- each entry leads is the lossless proof's to judge: it follows every staging row through its entry to a
-- row with the same natural key, so two staging rows with different keys cannot share one.
SELECT format('%s staging rows, %s map rows', st.n, m.n) AS problem, NULL AS id
FROM (SELECT count(*) AS n FROM {staging_table}) st, (SELECT count(*) AS n FROM {map}) m
WHERE {held} AND st.n <> m.n
UNION ALL
SELECT CASE WHEN m.present IS NULL THEN 'staging row missing from map' ELSE 'map row without staging row' END,
       CASE WHEN m.present IS NULL THEN st.id::text ELSE m.staging_id::text END
FROM (SELECT {id} AS id, true AS present FROM {staging_table} WHERE NOT {held}) st
FULL JOIN (SELECT staging_id, true AS present FROM {map} WHERE NOT {held}) m ON m.staging_id = st.id
WHERE m.present IS NULL OR st.present IS NULL
