-- The merge log: the target's row count when the pending rows were built, and how many there are.
INSERT INTO {merge_log} AS l (table_name, rows_before, rows_pending)
VALUES ({table_name}, (SELECT count(*) FROM {public_table}), (SELECT count(*) FROM {pending}))
ON CONFLICT (table_name) DO UPDATE SET rows_before = excluded.rows_before, rows_pending = excluded.rows_pending
