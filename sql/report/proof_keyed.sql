-- Lossless proof for a table with a natural key and no id (so no map): every staging row, foreign keys
-- translated through the parents' maps, must be found in the merged view (target ∪ pending) under the same
-- key with the same content — or differ as a conflict the target won. (Target rows are grouped by key, so a
-- key the target repeats still counts each staging row once.)
WITH s AS (
    SELECT {staging_key} AS k, {staging_content} AS c, {unmapped} AS unmapped
    FROM {staging_table} st
    {parent_joins}
), p AS (
    SELECT {public_key} AS k, array_agg({public_content}) AS cs
    FROM {merged_view} p
    WHERE {public_key} IN (SELECT k FROM s)
    GROUP BY 1
), joined AS (
    SELECT s.k, s.c AS staging_content, p.cs[1] AS public_content, p.k IS NOT NULL AND NOT s.unmapped AS found,
           coalesce(s.c = ANY (p.cs), false) AS same
    FROM s LEFT JOIN p ON p.k = s.k
)
SELECT count(*) AS staging_rows,
       count(*) FILTER (WHERE found AND same) AS identical,
       count(*) FILTER (WHERE found AND NOT same) AS conflicts,
       count(*) FILTER (WHERE NOT found) AS lost,
       coalesce(to_jsonb((array_agg(jsonb_build_object('key', k, 'staging', staging_content, 'public', public_content))
                 FILTER (WHERE found AND NOT same))[1:20]), '[]') AS conflict_sample,
       coalesce(to_jsonb((array_agg(jsonb_build_object('key', k, 'staging', staging_content, 'public', public_content))
                 FILTER (WHERE NOT found))[1:20]), '[]') AS lost_sample
FROM joined
