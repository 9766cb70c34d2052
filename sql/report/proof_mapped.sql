-- Lossless proof for a table with an id map. Each staging row is followed through its map entry to the
-- row it became in the merged view (target ∪ pending): found when the natural keys are equal (foreign-key
-- parts translated through the parents' maps), identical when the whole content is, a conflict the target
-- won when it differs from a row that already existed. Anything else (no map entry, no such row, another
-- key, an inserted row that differs) is lost. History has no key: its content must be equal. Values are
-- compared column by column; only the sample rows (at most 20 per verdict) are built as JSON.
WITH judged AS (
    SELECT st.{id} AS staging_id,
           m.public_id IS NOT NULL AND p.{id} IS NOT NULL AND NOT ({unmapped}) AND {key_equal} AS found,
           {content_equal} AS equal,
           coalesce({matched}, false) AS matched
    FROM {staging_table} st
    {parent_joins}
    LEFT JOIN {map} m ON m.staging_id = st.{id}
    LEFT JOIN {merged_view} p ON p.{id} = m.public_id
    OFFSET 0  -- each row judged once: inlined, every FILTER below would compare the row's values again
), verdict AS (
    SELECT count(*) AS staging_rows,
           count(*) FILTER (WHERE found AND equal) AS identical,
           count(*) FILTER (WHERE found AND NOT equal AND matched) AS conflicts,
           count(*) FILTER (WHERE NOT found OR (NOT equal AND NOT matched)) AS lost,
           (array_agg(staging_id) FILTER (WHERE found AND NOT equal AND matched))[1:20] AS conflict_ids,
           (array_agg(staging_id) FILTER (WHERE NOT found OR (NOT equal AND NOT matched)))[1:20] AS lost_ids
    FROM judged
)
SELECT staging_rows, identical, conflicts, lost,
       CASE WHEN conflicts = 0 THEN '[]'::jsonb ELSE ({conflict_sample}) END AS conflict_sample,
       CASE WHEN lost = 0 THEN '[]'::jsonb ELSE ({lost_sample}) END AS lost_sample
FROM verdict v
