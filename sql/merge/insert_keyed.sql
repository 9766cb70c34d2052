-- Tables without a surrogate id (join tables): translate every foreign key through its parent's map and
-- keep the rows whose natural key the target does not hold yet (public wins).
INSERT INTO {pending} ({columns})
SELECT {columns_of_s}
FROM (
    SELECT DISTINCT {values}
    FROM {staging_table} st
    {parent_joins}
) s
WHERE NOT EXISTS (SELECT 1 FROM {public_table} p WHERE {key_match})
