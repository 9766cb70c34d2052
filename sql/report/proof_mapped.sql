-- Lossless proof for a table with an id map. Each staging row is followed through its map entry to the
-- row it became in the merged view (target ∪ pending): found when the natural keys are equal (foreign-key
-- parts translated through the parents' maps; history is keyed by its whole content), identical when the
-- whole content is, a conflict the target won when it differs from a row that already existed. Anything
-- else (no map entry, no such row, another key, an inserted row that differs) is lost.
WITH joined AS (
    SELECT {staging_key} AS k, {staging_content} AS staging_content, {public_content} AS public_content,
           m.public_id IS NOT NULL AND p.{id} IS NOT NULL AND NOT ({unmapped}) AND {staging_key} = {public_key} AS found,
           coalesce(NOT m.inserted, false) AS matched
    FROM {staging_table} st
    {parent_joins}
    LEFT JOIN {map} m ON m.staging_id = st.{id}
    LEFT JOIN {merged_view} p ON p.{id} = m.public_id
), judged AS (
    SELECT *, found AND staging_content = public_content AS same FROM joined
)
SELECT count(*) AS staging_rows,
       count(*) FILTER (WHERE same) AS identical,
       count(*) FILTER (WHERE found AND NOT same AND matched) AS conflicts,
       count(*) FILTER (WHERE NOT found OR (NOT same AND NOT matched)) AS lost,
       coalesce(to_jsonb((array_agg(jsonb_build_object('key', k, 'staging', staging_content, 'public', public_content))
                 FILTER (WHERE found AND NOT same AND matched))[1:20]), '[]') AS conflict_sample,
       coalesce(to_jsonb((array_agg(jsonb_build_object('key', k, 'staging', staging_content, 'public', public_content))
                 FILTER (WHERE NOT found OR (NOT same AND NOT matched)))[1:20]), '[]') AS lost_sample
FROM judged
