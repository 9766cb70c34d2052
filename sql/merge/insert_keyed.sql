-- Tables without a surrogate id (join tables): translate every foreign key through its parent's map and
-- insert the rows whose natural key public does not hold yet (public wins; idempotent).
WITH inserted AS (
    INSERT INTO {public_table} ({columns}) {overriding}
    SELECT {columns_of_s}
    FROM (
        SELECT DISTINCT {values}
        FROM {staging_table} st
        {parent_joins}
    ) s
    WHERE NOT EXISTS (SELECT 1 FROM {public_table} p WHERE {key_match})
    RETURNING 1
)
{record_inserted}
