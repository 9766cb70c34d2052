-- Lossless proof for append-only history: the multiset of staging rows, written id-free, must be
-- contained in public's (EXCEPT ALL leaves exactly the staging rows public lacks).
WITH s AS (SELECT {staging_content} AS c FROM {staging_table} k0),
     p AS (SELECT {public_content} AS c FROM {public_table} k0),
     missing AS (SELECT c FROM s EXCEPT ALL SELECT c FROM p)
SELECT (SELECT count(*) FROM s) AS staging_rows,
       (SELECT count(*) FROM s) - (SELECT count(*) FROM missing) AS identical,
       0::bigint AS conflicts,
       (SELECT count(*) FROM missing) AS lost,
       '[]'::jsonb AS conflict_sample,
       coalesce((SELECT jsonb_agg(c) FROM (SELECT c FROM missing LIMIT 20) x), '[]') AS lost_sample
