-- Lossless proof for history without an id (so no map): the multiset of staging rows, foreign keys
-- translated through the parents' maps, must be contained in the merged view's (EXCEPT ALL leaves exactly
-- the staging rows the target would lack).
WITH s AS (SELECT {staging_content} AS c, {unmapped} AS unmapped FROM {staging_table} st {parent_joins}),
     p AS (SELECT {public_content} AS c FROM {merged_view} p),
     missing AS (SELECT c FROM s WHERE NOT unmapped EXCEPT ALL SELECT c FROM p),
     lost AS (SELECT c FROM missing UNION ALL SELECT c FROM s WHERE unmapped)
SELECT (SELECT count(*) FROM s) AS staging_rows,
       (SELECT count(*) FROM s) - (SELECT count(*) FROM lost) AS identical,
       0::bigint AS conflicts,
       (SELECT count(*) FROM lost) AS lost,
       '[]'::jsonb AS conflict_sample,
       coalesce((SELECT jsonb_agg(c) FROM (SELECT c FROM lost LIMIT 20) x), '[]') AS lost_sample
