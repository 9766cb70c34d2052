-- Natural keys held by more than one public row.
SELECT {key_columns}, count(*) AS rows
FROM {public_table} t
GROUP BY {key_columns}
HAVING count(*) > 1
