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
INSERT INTO {merge_log} AS l (table_name, rows_before, rows_inserted)
VALUES ({table_name}, (SELECT count(*) FROM {public_table}), (SELECT count(*) FROM inserted))
ON CONFLICT (table_name) DO UPDATE SET rows_inserted = l.rows_inserted + excluded.rows_inserted
