INSERT INTO {public_table} ({columns}) {overriding}
SELECT {columns} FROM {pending}
RETURNING 1
