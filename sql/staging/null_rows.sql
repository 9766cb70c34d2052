-- Rows of dump #2's table with NULL in a column the target requires.
SELECT count(*) FROM {only} {schema}.{table} WHERE {column} IS NULL
