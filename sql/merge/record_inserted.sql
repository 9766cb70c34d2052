-- The merge log: the row count before the first insert, and the rows inserted so far.
INSERT INTO {merge_log} AS l (table_name, rows_before, rows_inserted)
VALUES ({table_name}, (SELECT count(*) FROM {public_table}), (SELECT count(*) FROM inserted))
ON CONFLICT (table_name) DO UPDATE SET rows_inserted = l.rows_inserted + excluded.rows_inserted
