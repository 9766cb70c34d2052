-- The verdict of a proof over `judged` (k, staging_content, public_content, found, same, matched): identical,
-- a conflict the target won (found under its key, differing from a row that already existed), or lost.
SELECT count(*) AS staging_rows,
       count(*) FILTER (WHERE same) AS identical,
       count(*) FILTER (WHERE found AND NOT same AND matched) AS conflicts,
       count(*) FILTER (WHERE NOT found OR (NOT same AND NOT matched)) AS lost,
       coalesce(to_jsonb((array_agg(jsonb_build_object('key', k, 'staging', staging_content, 'public', public_content))
                 FILTER (WHERE found AND NOT same AND matched))[1:20]), '[]') AS conflict_sample,
       coalesce(to_jsonb((array_agg(jsonb_build_object('key', k, 'staging', staging_content, 'public', public_content))
                 FILTER (WHERE NOT found OR (NOT same AND NOT matched)))[1:20]), '[]') AS lost_sample
FROM judged
