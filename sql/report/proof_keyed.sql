-- Lossless proof for a table with a natural key and no id (so no map): every staging row, foreign keys
-- translated through the parents' maps, must be found in the merged view (target ∪ pending) under the same
-- key with the same other columns — or differ as a conflict the target won. Keys are compared on their own
-- columns (k0, k1, …: a hash join on native values); a key holding a NULL cannot match with =, so those
-- few rows are matched as jsonb instead. (Target rows are grouped by key, so a key the target repeats
-- still counts each staging row once.)
WITH s AS (
    SELECT {staging_key_columns}, {staging_rest} AS c, {unmapped} AS unmapped
    FROM {staging_table} st
    {parent_joins}
    OFFSET 0
), p_complete AS (
    SELECT {public_key_columns}, array_agg({public_rest}) AS cs
    FROM {merged_view} p
    WHERE {public_complete}
    GROUP BY {key_positions}
), p_null AS (
    SELECT {public_key} AS k, array_agg({public_rest}) AS cs
    FROM {merged_view} p
    WHERE NOT ({public_complete})
    GROUP BY 1
), paired AS (
    SELECT {staging_key} AS k, s.c, s.unmapped, p.cs
    FROM s LEFT JOIN p_complete p ON {key_equal}
    WHERE {staging_complete}
    UNION ALL
    SELECT {staging_key}, s.c, s.unmapped, p.cs
    FROM s LEFT JOIN p_null p ON p.k = {staging_key}
    WHERE NOT ({staging_complete})
), judged AS (
    SELECT k, k || c AS staging_content, k || cs[1] AS public_content, cs IS NOT NULL AND NOT unmapped AS found,
           cs IS NOT NULL AND NOT unmapped AND c = ANY (cs) AS same, true AS matched
    FROM paired
    OFFSET 0  -- each row judged once: inlined, every FILTER of the counts would compare the row's values again
)
{counts}
