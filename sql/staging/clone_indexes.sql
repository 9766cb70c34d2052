-- The indexes of one staging clone, with what rebuilds them: a COPY into an unindexed table and one index
-- build afterwards take half the time of a COPY that updates every index row by row. Constraint-backed
-- indexes (primary key, UNIQUE, EXCLUDE) come back as constraints, the rest as plain indexes.
SELECT i.relname AS index_name,
       con.conname AS constraint_name,
       CASE WHEN con.oid IS NULL THEN pg_get_indexdef(i.oid) ELSE pg_get_constraintdef(con.oid) END AS definition
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
LEFT JOIN pg_constraint con ON con.conindid = x.indexrelid AND con.conrelid = x.indrelid
WHERE x.indrelid = %(clone)s::regclass
ORDER BY i.relname
