-- Tables with no key at all (append-only): nothing identifies a row across the databases, so dump #2's
-- rows are appended once, foreign keys translated; the merge log remembers that they were.
WITH inserted AS (
    INSERT INTO {public_table} ({columns}) {overriding}
    SELECT {values}
    FROM {staging_table} st
    {parent_joins}
    WHERE NOT EXISTS (SELECT 1 FROM {merge_log} l WHERE l.table_name = {table_name})
    RETURNING 1
)
{record_inserted}
