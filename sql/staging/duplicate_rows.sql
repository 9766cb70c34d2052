-- Rows of dump #2's table whose key another row repeats (NULLs never collide, as in a unique constraint).
SELECT coalesce(sum(n), 0)::bigint
FROM (SELECT count(*) AS n FROM {only} {schema}.{table} WHERE {complete} GROUP BY {columns} HAVING count(*) > 1) d
