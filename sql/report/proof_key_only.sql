-- Lossless proof for a table whose columns are all its natural key (a join table; no id, so no map): every
-- staging row, foreign keys translated through the parents' maps, must be a row of the merged view (target ∪
-- pending); there is nothing else to differ, so no conflicts. Complete keys are looked up on their own
-- columns (k0, k1, …: a hash or merge anti-join on native values, no grouping of the target); a key holding
-- a NULL cannot match with =, so those few rows are looked up as jsonb among the target's incomplete keys.
WITH s AS MATERIALIZED (
    SELECT {staging_key_columns}, {unmapped} AS unmapped
    FROM {staging_table} st
    {parent_joins}
), lost AS MATERIALIZED (
    SELECT * FROM s WHERE unmapped
    UNION ALL
    SELECT * FROM s
    WHERE NOT unmapped AND {staging_complete}
      AND NOT EXISTS (SELECT 1 FROM {merged_view} p WHERE {public_key_equal})
    UNION ALL
    SELECT * FROM s
    WHERE NOT unmapped AND NOT ({staging_complete})
      AND NOT EXISTS (SELECT 1 FROM {merged_view} p WHERE NOT ({public_complete}) AND {public_key} = {staging_key})
)
SELECT (SELECT count(*) FROM s) AS staging_rows,
       (SELECT count(*) FROM s) - (SELECT count(*) FROM lost) AS identical,
       0::bigint AS conflicts,
       (SELECT count(*) FROM lost) AS lost,
       '[]'::jsonb AS conflict_sample,
       coalesce((SELECT jsonb_agg(jsonb_build_object('key', {staging_key}, 'staging', {staging_key}, 'public', NULL))
                 FROM (SELECT * FROM lost LIMIT 20) s), '[]') AS lost_sample
