-- Tables with no key at all (history): foreign keys translated, and a staging row whose content the
-- target already holds is not taken again, counted as a multiset (the n-th copy matches the n-th copy).
INSERT INTO {pending} ({columns})
SELECT {columns_of_s}
FROM (
    SELECT {values}, row_number() OVER (PARTITION BY {staging_content}) AS pgmerge_copy, {staging_content} AS pgmerge_content
    FROM {staging_table} st
    {parent_joins}
) s
WHERE NOT EXISTS (
    SELECT 1
    FROM (SELECT {public_content} AS content, row_number() OVER (PARTITION BY {public_content}) AS copy
          FROM {public_table} p) t
    WHERE t.content = s.pgmerge_content AND t.copy = s.pgmerge_copy)
