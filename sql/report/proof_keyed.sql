-- Lossless proof for a table with a natural key: every staging row, written id-free (foreign keys and
-- array elements replaced by the referenced rows' natural keys), must be found in public under the same
-- key with the same content — or, where the key matched an existing public row, differ as a conflict
-- that public won. Anything else is lost. (Public rows are grouped by key, so a key public repeats,
-- or a NULL-holding key inserted twice, still counts each staging row once.)
WITH s AS (
    SELECT {staging_id} AS staging_id, {staging_key} AS k, {staging_content} AS c FROM {staging_table} k0
), p AS (
    -- content (the costly part: every reference written as a natural key) only for keys dump #2 holds
    SELECT k0.pgmerge_key AS k, array_agg({public_content}) AS cs
    FROM (SELECT m.*, {public_key} AS pgmerge_key FROM {public_table} m) k0
    WHERE k0.pgmerge_key IN (SELECT k FROM s)
    GROUP BY 1
), joined AS (
    SELECT s.k, s.c AS staging_content, p.cs[1] AS public_content, p.k IS NOT NULL AS found,
           coalesce(s.c = ANY (p.cs), false) AS same, {matched} AS matched
    FROM s LEFT JOIN p ON p.k = s.k {map_join}
)
SELECT count(*) AS staging_rows,
       count(*) FILTER (WHERE same) AS identical,
       count(*) FILTER (WHERE found AND NOT same AND matched) AS conflicts,
       count(*) FILTER (WHERE NOT found OR (NOT same AND NOT matched)) AS lost,
       coalesce(to_jsonb((array_agg(jsonb_build_object('key', k, 'staging', staging_content, 'public', public_content))
                 FILTER (WHERE found AND NOT same AND matched))[1:20]), '[]') AS conflict_sample,
       coalesce(to_jsonb((array_agg(jsonb_build_object('key', k, 'staging', staging_content, 'public', public_content))
                 FILTER (WHERE NOT found OR (NOT same AND NOT matched)))[1:20]), '[]') AS lost_sample
FROM joined
