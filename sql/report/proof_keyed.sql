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
), judged AS (
    SELECT s.k, s.c AS staging_content, p.cs[1] AS public_content, p.k IS NOT NULL AND NOT s.unmapped AS found,
           p.k IS NOT NULL AND NOT s.unmapped AND s.c = ANY (p.cs) AS same, true AS matched
    FROM s LEFT JOIN p ON p.k = s.k
)
{counts}
